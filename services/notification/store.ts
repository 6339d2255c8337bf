// All SQL of the notification service. Methods take the Queryable to run on, so an event
// handler's writes share the transaction that records the event in the inbox.
import type { Db, Queryable } from "../../platform/db/db.js";
import type { PageKey } from "./page-token.js";
import type { Preferences } from "./preferences.js";

export type Channel = "email" | "live";
export type DeliveryStatus = "queued" | "sent" | "failed" | "skipped";

export interface Recipient {
  readonly userId: string;
  readonly email: string;
  readonly displayName: string;
}

export interface NewNotification {
  readonly id: string;
  readonly userId: string;
  readonly channel: Channel;
  readonly template: string;
  readonly dedupeKey: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly orderId: string | undefined;
  readonly status: "queued" | "skipped";
  /** `traceparent`/`tracestate` of the handling that queued it. */
  readonly traceHeaders: Readonly<Record<string, string>>;
  readonly createdAt: Date;
}

export interface NotificationRecord {
  readonly id: string;
  readonly userId: string;
  readonly channel: Channel;
  readonly template: string;
  readonly subject: string;
  readonly status: DeliveryStatus;
  readonly orderId: string | undefined;
  readonly attempts: number;
  readonly failureReason: string;
  readonly createdAt: Date;
  readonly sentAt: Date | undefined;
}

/** A mail the sender claimed: its content, and the address known for its user right now. */
export interface DueMail {
  readonly id: string;
  readonly userId: string;
  readonly template: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly orderId: string | undefined;
  /** Including the attempt this claim starts. */
  readonly attempts: number;
  readonly email: string | undefined;
  readonly traceHeaders: Readonly<Record<string, string>>;
  readonly createdAt: Date;
}

type NotificationRow = {
  id: string;
  user_id: string;
  channel: Channel;
  template: string;
  subject: string;
  status: DeliveryStatus;
  order_id: string | null;
  attempts: number;
  failure_reason: string;
  created_at: Date;
  sent_at: Date | null;
};

const NOTIFICATION_COLUMNS = "id, user_id, channel, template, subject, status, order_id, attempts, failure_reason, created_at, sent_at";

const toNotification = (r: NotificationRow): NotificationRecord => ({
  id: r.id,
  userId: r.user_id,
  channel: r.channel,
  template: r.template,
  subject: r.subject,
  status: r.status,
  orderId: r.order_id ?? undefined,
  attempts: r.attempts,
  failureReason: r.failure_reason,
  createdAt: r.created_at,
  sentAt: r.sent_at ?? undefined,
});

/** Where the sender and the live streams are woken; per schema, as the embedded mode shares one PostgreSQL. */
const channelSql = "'notification_' || current_schema()";

export type NotificationStore = ReturnType<typeof createNotificationStore>;

export function createNotificationStore(db: Db) {
  return {
    db,
    tx: <T>(fn: (q: Queryable) => Promise<T>) => db.tx(fn),

    /** Creates or updates the user's address; a `displayName` of undefined keeps the known one. */
    async upsertRecipient(q: Queryable, r: { userId: string; email: string; displayName: string | undefined }, now: Date): Promise<void> {
      await q.query(
        `INSERT INTO recipients (user_id, email, display_name, updated_at) VALUES ($1, $2, coalesce($3, ''), $4)
         ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email,
           display_name = coalesce($3, recipients.display_name), updated_at = EXCLUDED.updated_at`,
        [r.userId, r.email, r.displayName ?? null, now],
      );
    },

    async recipient(q: Queryable, userId: string): Promise<Recipient | undefined> {
      const { rows } = await q.query<{ email: string; display_name: string }>("SELECT email, display_name FROM recipients WHERE user_id = $1", [userId]);
      const r = rows[0];
      return r && { userId, email: r.email, displayName: r.display_name };
    },

    async preferences(q: Queryable, userId: string): Promise<Preferences | undefined> {
      const { rows } = await q.query<{ order_updates_email: boolean; marketing_email: boolean; live_order_updates: boolean }>(
        "SELECT order_updates_email, marketing_email, live_order_updates FROM preferences WHERE user_id = $1",
        [userId],
      );
      const r = rows[0];
      return r && { orderUpdatesEmail: r.order_updates_email, marketingEmail: r.marketing_email, liveOrderUpdates: r.live_order_updates };
    },

    async savePreferences(q: Queryable, userId: string, p: Preferences, now: Date): Promise<void> {
      await q.query(
        `INSERT INTO preferences (user_id, order_updates_email, marketing_email, live_order_updates, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET order_updates_email = $2, marketing_email = $3, live_order_updates = $4, updated_at = $5`,
        [userId, p.orderUpdatesEmail, p.marketingEmail, p.liveOrderUpdates, now],
      );
    },

    /** False when this user already has this template for this dedupe key: nothing is written. */
    async insertNotification(q: Queryable, n: NewNotification): Promise<boolean> {
      const { rowCount } = await q.query(
        `INSERT INTO notifications (user_id, id, channel, template, dedupe_key, subject, body_text, body_html, order_id, status, next_attempt_at, created_at, trace_headers)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $10 = 'queued' THEN $11::timestamptz END, $11, $12)
         ON CONFLICT (user_id, template, dedupe_key) DO NOTHING`,
        [n.userId, n.id, n.channel, n.template, n.dedupeKey, n.subject, n.text, n.html, n.orderId ?? null, n.status, n.createdAt, JSON.stringify(n.traceHeaders)],
      );
      return rowCount === 1;
    },

    /** Newest first; one row more than `limit` tells the caller there is another page. */
    async listNotifications(q: Queryable, userId: string, after: PageKey | undefined, limit: number): Promise<NotificationRecord[]> {
      const { rows } = await q.query<NotificationRow>(
        `SELECT ${NOTIFICATION_COLUMNS} FROM notifications
         WHERE user_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
         ORDER BY created_at DESC, id DESC
         LIMIT $4`,
        [userId, after?.time ?? null, after?.id ?? null, limit + 1],
      );
      return rows.map(toNotification);
    },

    /**
     * Takes up to `limit` queued mails due at `now` and counts the attempt. The claim is a lease:
     * `next_attempt_at` moves to `leaseUntil`, so no other replica takes them meanwhile, and if
     * this process dies mid-send they become due again by themselves. SKIP LOCKED lets replicas
     * claim side by side.
     */
    async claimDue(now: Date, leaseUntil: Date, limit: number): Promise<DueMail[]> {
      const { rows } = await db.query<{
        id: string; user_id: string; template: string; subject: string; body_text: string; body_html: string;
        order_id: string | null; attempts: number; email: string | null; trace_headers: Record<string, string>; created_at: Date;
      }>(
        `WITH due AS (
           SELECT user_id, id FROM notifications
           WHERE status = 'queued' AND next_attempt_at <= $1
           ORDER BY next_attempt_at
           LIMIT $3
           FOR UPDATE SKIP LOCKED)
         UPDATE notifications n SET attempts = n.attempts + 1, next_attempt_at = $2
         FROM due LEFT JOIN recipients r ON r.user_id = due.user_id
         WHERE n.user_id = due.user_id AND n.id = due.id
         RETURNING n.id, n.user_id, n.template, n.subject, n.body_text, n.body_html, n.order_id, n.attempts, r.email, n.trace_headers, n.created_at`,
        [now, leaseUntil, limit],
      );
      return rows.map((r) => ({
        id: r.id,
        userId: r.user_id,
        template: r.template,
        subject: r.subject,
        text: r.body_text,
        html: r.body_html,
        orderId: r.order_id ?? undefined,
        attempts: r.attempts,
        email: r.email ?? undefined,
        traceHeaders: r.trace_headers,
        createdAt: r.created_at,
      }));
    },

    /**
     * Records the outcome of the claimed attempt number `attempts`; false if the row moved on
     * meanwhile (its lease ran out and another attempt took it), and nothing is changed.
     */
    async recordAttempt(
      q: Queryable,
      m: { userId: string; id: string; attempts: number },
      outcome: { status: "sent"; at: Date; to: string } | { status: "failed"; reason: string; to: string | undefined } | { status: "queued"; retryAt: Date; reason: string; to: string | undefined },
    ): Promise<boolean> {
      const { rowCount } = await q.query(
        `UPDATE notifications SET status = $4, sent_at = $5, next_attempt_at = $6, failure_reason = $7, to_address = coalesce($8, to_address)
         WHERE user_id = $1 AND id = $2 AND attempts = $3 AND status = 'queued'`,
        [
          m.userId,
          m.id,
          m.attempts,
          outcome.status,
          outcome.status === "sent" ? outcome.at : null,
          outcome.status === "queued" ? outcome.retryAt : null,
          outcome.status === "sent" ? "" : outcome.reason,
          outcome.to ?? null,
        ],
      );
      return rowCount === 1;
    },

    /** Deletes up to `limit` finished log entries created before `before`; how many. Queued mails are never touched. */
    async pruneLog(before: Date, limit: number): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM notifications WHERE (user_id, id) IN (
           SELECT user_id, id FROM notifications WHERE status <> 'queued' AND created_at < $1 LIMIT $2)`,
        [before, limit],
      );
      return rowCount;
    },

    /** A NOTIFY delivered at commit (dropped on rollback) to every replica's listener. */
    async signal(q: Queryable, payload: string): Promise<void> {
      await q.query(`SELECT pg_notify(${channelSql}, $1)`, [payload]);
    },

    async channel(): Promise<string> {
      const { rows } = await db.query<{ channel: string }>(`SELECT ${channelSql} AS channel`);
      const channel = rows[0]?.channel;
      if (!channel) throw new Error("cannot resolve the notification channel: no current schema");
      return channel;
    },
  };
}
