// The notification service's own settings, next to the platform's base ones.
import { join } from "node:path";
import { duration, int, oneOf, optional, str, url, type Setting } from "../../platform/config.js";
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

export const notificationConfig = {
  SMTP_URL: optional(url({ doc: "mail server, smtp://user:pass@host:587 (smtps:// for implicit TLS); unset: mails are written as .eml files to NOTIFICATION_OUTBOX_DIR", protocols: ["smtp", "smtps"], secret: true })),
  SMTP_STARTTLS: oneOf(["auto", "always", "never"] as const, { doc: "smtp:// only: upgrade with STARTTLS when offered (auto), require it (always) or never", default: "auto" }),
  SMTP_TLS_CA: optional(str({ doc: "PEM file of the CA that signed the mail server's certificate (default: the system's CAs)" })),
  SMTP_TIMEOUT: duration({ doc: "longest wait for the mail server on one step (connect, each reply)", default: 30_000 }),
  SMTP_HELO_NAME: str({ doc: "name this client gives in EHLO", default: "shop-notification" }),
  MAIL_FROM: mailbox({ doc: "From of every mail, e.g. Shop <no-reply@shop.example>", default: "Shop <no-reply@shop.localhost>" }),
  MAIL_SHOP_NAME: str({ doc: "the shop's name in mail subjects and greetings", default: "Shop" }),
  NOTIFICATION_OUTBOX_DIR: str({ doc: "folder for .eml files when SMTP_URL is unset", default: join(repoRoot(), ".data", "mail-outbox") }),
  MAIL_MAX_ATTEMPTS: int({ doc: "delivery attempts of one mail before it is marked failed", default: 10, min: 1, max: 100 }),
  MAIL_RETRY_BASE: duration({ doc: "pause after the first failed attempt; doubles with each further one", default: 5_000 }),
  MAIL_RETRY_MAX: duration({ doc: "longest pause between two attempts", default: 30 * 60_000 }),
  MAIL_POLL_INTERVAL: duration({ doc: "how often the sender looks for mails due for a retry (new mails wake it at once)", default: 1_000 }),
  MAIL_BATCH: int({ doc: "mails claimed and sent over one mail server session", default: 20, min: 1, max: 500 }),
  LIVE_HEARTBEAT_INTERVAL: duration({ doc: "heartbeat on idle WatchOrderUpdates streams (the contract says 30s)", default: 30_000 }),
  LIVE_MAX_STREAMS_PER_USER: int({ doc: "WatchOrderUpdates streams one user may hold open on one replica", default: 5, min: 1, max: 1000 }),
};
