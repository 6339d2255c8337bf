// The notification service's domain flows: turning a handled event into a delivery-log row
// (queued for the sender, or skipped by the customer's preferences), live updates for the
// stream, and the customer's own view of preferences and log.
import { randomUUID } from "node:crypto";
import type { Queryable } from "../../platform/db/db.js";
import { injectContext } from "../../platform/telemetry.js";
import type { OrderUpdate } from "./live-updates.js";
import type { MailContent } from "./mime.js";
import { decodePageToken, encodePageToken, pageSize } from "./page-token.js";
import { allowsLive, allowsMail, DEFAULT_PREFERENCES, type MailKind, type Preferences } from "./preferences.js";
import type { NotificationRecord, NotificationStore } from "./store.js";

export interface MailRequest {
  readonly userId: string;
  /** Template name, shown in the log: "order_confirmation", "welcome", ... */
  readonly template: string;
  readonly kind: MailKind;
  /** The same fact mailed twice (a republish under a new event id) has the same key. */
  readonly dedupeKey: string;
  readonly orderId?: string | undefined;
  readonly content: MailContent;
}

export type MailOutcome = "queued" | "skipped" | "duplicate";

/** The NOTIFY payload that wakes the sender; live updates travel as JSON objects. */
export const MAIL_SIGNAL = "mail";

export interface NotificationsDeps {
  readonly store: NotificationStore;
  readonly clock: () => Date;
}

export type Notifications = ReturnType<typeof createNotifications>;

/** A live update as it travels in a NOTIFY payload (well under PostgreSQL's 8000 bytes). */
export function encodeLiveSignal(u: OrderUpdate): string {
  return JSON.stringify({ u: u.userId, o: u.orderId, f: u.oldStatus, t: u.newStatus, r: u.reason.slice(0, 1000), at: u.changeTime.toISOString() });
}

export function decodeLiveSignal(payload: string): OrderUpdate | undefined {
  try {
    const v = JSON.parse(payload) as Record<string, unknown>;
    if (typeof v["u"] !== "string" || typeof v["o"] !== "string" || typeof v["f"] !== "number" || typeof v["t"] !== "number") return undefined;
    const at = new Date(typeof v["at"] === "string" ? v["at"] : NaN);
    return { userId: v["u"], orderId: v["o"], oldStatus: v["f"], newStatus: v["t"], reason: typeof v["r"] === "string" ? v["r"] : "", changeTime: Number.isNaN(at.getTime()) ? new Date() : at };
  } catch {
    return undefined;
  }
}

export function createNotifications({ store, clock }: NotificationsDeps) {
  const preferencesOf = async (q: Queryable, userId: string): Promise<Preferences> => (await store.preferences(q, userId)) ?? DEFAULT_PREFERENCES;

  return {
    /** From the users service's events: the only source of addresses (see README). */
    rememberRecipient(q: Queryable, userId: string, email: string, displayName: string | undefined): Promise<void> {
      return store.upsertRecipient(q, { userId, email, displayName }, clock());
    },

    /** The name a mail greets the user by: their display name if known, else `fallback`. */
    async nameOf(q: Queryable, userId: string, fallback = ""): Promise<string> {
      const r = await store.recipient(q, userId);
      return r?.displayName || fallback;
    },

    /**
     * Logs the mail in the caller's transaction: queued (and the sender woken at commit) if the
     * user's preferences allow it, skipped otherwise, nothing if it was logged before.
     */
    async queueMail(q: Queryable, m: MailRequest): Promise<MailOutcome> {
      const status = allowsMail(await preferencesOf(q, m.userId), m.kind) ? "queued" : "skipped";
      const traceHeaders: Record<string, string> = {};
      injectContext(traceHeaders);
      const inserted = await store.insertNotification(q, {
        id: randomUUID(),
        userId: m.userId,
        channel: "email",
        template: m.template,
        dedupeKey: m.dedupeKey,
        subject: m.content.subject,
        text: m.content.text,
        html: m.content.html,
        orderId: m.orderId,
        status,
        traceHeaders,
        createdAt: clock(),
      });
      if (!inserted) return "duplicate";
      if (status === "queued") await store.signal(q, MAIL_SIGNAL);
      return status;
    },

    /** Sends the update to the user's open streams on every replica, at commit, unless they turned live updates off. */
    async publishLive(q: Queryable, u: OrderUpdate): Promise<boolean> {
      if (!allowsLive(await preferencesOf(q, u.userId))) return false;
      await store.signal(q, encodeLiveSignal(u));
      return true;
    },

    preferences: (userId: string): Promise<Preferences> => preferencesOf(store.db, userId),

    async updatePreferences(userId: string, p: Preferences): Promise<Preferences> {
      await store.savePreferences(store.db, userId, p, clock());
      return p;
    },

    async list(userId: string, req: { pageSize: number; pageToken: string }): Promise<{ notifications: NotificationRecord[]; nextPageToken: string }> {
      const limit = pageSize(req.pageSize);
      const rows = await store.listNotifications(store.db, userId, decodePageToken(req.pageToken), limit);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { notifications: page, nextPageToken: rows.length > limit && last ? encodePageToken({ time: last.createdAt, id: last.id }) : "" };
    },
  };
}
