// The notification service's own settings, next to the platform's base ones.
import { join } from "node:path";
import { duration, int, oneOf, optional, parseDuration, str, url, type Setting } from "../../platform/config.js";
import { repoRoot } from "../../platform/paths.js";
import { parseMailbox } from "./mime.js";

/** A sender such as `Shop <no-reply@shop.example>` or a bare address. */
function mailbox(opts: { doc: string; default: string }): Setting<string> {
  return {
    doc: opts.doc,
    fallback: () => opts.default,
    parse(raw) {
      if (!parseMailbox(raw)) throw new Error("expected an address such as Shop <no-reply@shop.example>");
      return raw.trim();
    },
  };
}

const DAY_MS = 24 * 3_600_000;

/** Like the platform's duration, plus days (`30d`): the log is kept for months. */
function longDuration(opts: { doc: string; default: number }): Setting<number> {
  return {
    doc: opts.doc,
    fallback: () => opts.default,
    parse(raw) {
      const days = /^(\d+(?:\.\d+)?)d$/.exec(raw.trim());
      const ms = days ? Math.round(Number(days[1]) * DAY_MS) : parseDuration(raw);
      if (ms <= 0) throw new Error("expected a positive duration");
      return ms;
    },
  };
}

export const notificationConfig = {
  SMTP_URL: optional(url({ doc: "mail server, smtp://user:pass@host:587 (smtps:// for implicit TLS); unset: mails are written as .eml files to NOTIFICATION_OUTBOX_DIR", protocols: ["smtp", "smtps"], secret: true })),
  SMTP_STARTTLS: oneOf(["auto", "always", "never"] as const, { doc: "smtp:// only: upgrade with STARTTLS when offered (auto), require it (always) or never", default: "auto" }),
  SMTP_TLS_CA: optional(str({ doc: "PEM file of the CA that signed the mail server's certificate (default: the system's CAs)" })),
  SMTP_TIMEOUT: duration({ doc: "longest wait for the mail server on one step (connect, each reply)", default: 30_000 }),
  SMTP_HELO_NAME: str({ doc: "name this client gives in EHLO", default: "shop-notification" }),
  MAIL_FROM: mailbox({ doc: "From of every mail, e.g. Shop <no-reply@shop.example>", default: "Shop <no-reply@shop.localhost>" }),
  MAIL_SHOP_NAME: str({ doc: "the shop's name in mail subjects and greetings", default: "Shop" }),
  NOTIFICATION_OUTBOX_DIR: str({ doc: "folder for .eml files when SMTP_URL is unset", default: join(repoRoot(), ".data", "mail-outbox") }),
  MAIL_MAX_ATTEMPTS: int({ doc: "delivery attempts of one mail before it is marked failed", default: 12, min: 1, max: 100 }),
  MAIL_RETRY_BASE: duration({ doc: "pause after the first failed attempt; doubles with each further one", default: 5_000 }),
  MAIL_RETRY_MAX: duration({ doc: "longest pause between two attempts", default: 30 * 60_000 }),
  MAIL_POLL_INTERVAL: duration({ doc: "how often the sender looks for mails due for a retry (new mails wake it at once)", default: 1_000 }),
  MAIL_BATCH: int({ doc: "mails claimed and sent over one mail server session", default: 20, min: 1, max: 500 }),
  LIVE_HEARTBEAT_INTERVAL: duration({ doc: "heartbeat on idle WatchOrderUpdates streams (the contract says 30s)", default: 30_000 }),
  LIVE_MAX_STREAMS_PER_USER: int({ doc: "WatchOrderUpdates streams one user may hold open on one replica", default: 5, min: 1, max: 1000 }),
  NOTIFICATION_LOG_RETENTION: longDuration({ doc: "delivered, failed and skipped log entries older than this are deleted, e.g. 365d", default: 365 * DAY_MS }),
  NOTIFICATION_INBOX_RETENTION: longDuration({ doc: "how long handled event ids are remembered against redelivery; shorter than the log retention", default: 30 * DAY_MS }),
  NOTIFICATION_OUTBOX_RETENTION: longDuration({ doc: "how long published NotificationSent events stay in the outbox", default: DAY_MS }),
  NOTIFICATION_HOUSEKEEPING_INTERVAL: duration({ doc: "how often the retention limits above are applied", default: 10 * 60_000 }),
};
