// The notification service as the platform runs it: configuration, the mail transport (SMTP
// when SMTP_URL is set, else .eml files in NOTIFICATION_OUTBOX_DIR), the event consumers, the
// sender loop, and the one LISTEN connection that wakes the sender and feeds the live streams.
// Callers' tokens are verified by the platform against the users service's JWKS (USERS_ADDR).
import { readFileSync } from "node:fs";
import { ConfigError } from "../../platform/config.js";
import { sourcePath } from "../../platform/paths.js";
import type { ServiceConfig, ServiceModule } from "../../platform/service.js";
import { notificationConfig } from "./config.js";
import { subscribeToEvents } from "./event-consumers.js";
import { startHousekeeping } from "./housekeeping.js";
import { createLiveUpdates } from "./live-updates.js";
import { parseMailbox } from "./mime.js";
import { createNotifications, decodeLiveSignal, MAIL_SIGNAL } from "./notifications.js";
import { startMailSender } from "./sender.js";
import { createNotificationService, NotificationService } from "./service.js";
import { createNotificationStore } from "./store.js";
import { createFolderTransport } from "./transports/folder.js";
import { createSmtpTransport } from "./transports/smtp.js";
import type { MailTransport } from "./transports/transport.js";

export interface NotificationModuleOptions {
  /** The service's notion of now: log times and retry schedule. Tests move it. */
  readonly clock?: () => Date;
  /** Replace the transport chosen from SMTP_URL / NOTIFICATION_OUTBOX_DIR. */
  readonly transport?: MailTransport;
}

type Config = ServiceConfig<typeof notificationConfig>;

function transportFor(config: Config): MailTransport {
  if (!config.SMTP_URL) return createFolderTransport({ dir: config.NOTIFICATION_OUTBOX_DIR });
  let ca: string | undefined;
  if (config.SMTP_TLS_CA) {
    try {
      ca = readFileSync(config.SMTP_TLS_CA, "utf8");
    } catch (err) {
      throw new ConfigError([`SMTP_TLS_CA cannot be read: ${(err as Error).message}`]);
    }
  }
  return createSmtpTransport({ url: config.SMTP_URL, heloName: config.SMTP_HELO_NAME, timeoutMs: config.SMTP_TIMEOUT, starttls: config.SMTP_STARTTLS, ca });
}

export function createNotificationModule(opts: NotificationModuleOptions = {}): ServiceModule<typeof notificationConfig> {
  const clock = opts.clock ?? (() => new Date());
  return {
    name: "notification",
    defaultPort: 50059,
    config: notificationConfig,
    migrations: sourcePath("services", "notification", "migrations"),
    async setup({ config, db, bus, log, server, onStop, onDrain }) {
      const problems = [
        ...(config.MAIL_POLL_INTERVAL <= 0 ? ["MAIL_POLL_INTERVAL must be positive"] : []),
        ...(config.LIVE_HEARTBEAT_INTERVAL <= 0 ? ["LIVE_HEARTBEAT_INTERVAL must be positive"] : []),
        ...(config.NOTIFICATION_HOUSEKEEPING_INTERVAL <= 0 ? ["NOTIFICATION_HOUSEKEEPING_INTERVAL must be positive"] : []),
        ...(config.MAIL_RETRY_MAX < config.MAIL_RETRY_BASE ? ["MAIL_RETRY_MAX must not be shorter than MAIL_RETRY_BASE"] : []),
        // A redelivery past the inbox window is then still caught by the log's dedupe key.
        ...(config.NOTIFICATION_INBOX_RETENTION > config.NOTIFICATION_LOG_RETENTION ? ["NOTIFICATION_INBOX_RETENTION must not be longer than NOTIFICATION_LOG_RETENTION"] : []),
      ];
      if (problems.length > 0) throw new ConfigError(problems);
      const from = parseMailbox(config.MAIL_FROM)!; // checked when the config was parsed
      const transport = opts.transport ?? transportFor(config);
      const store = createNotificationStore(db);
      const notifications = createNotifications({ store, clock });
      const live = createLiveUpdates({ heartbeatMs: config.LIVE_HEARTBEAT_INTERVAL, maxStreamsPerUser: config.LIVE_MAX_STREAMS_PER_USER });
      server.add(NotificationService, createNotificationService({ notifications, live }));

      const sender = startMailSender({
        store,
        transport,
        from,
        clock,
        log,
        retry: { maxAttempts: config.MAIL_MAX_ATTEMPTS, baseMs: config.MAIL_RETRY_BASE, maxMs: config.MAIL_RETRY_MAX },
        batch: config.MAIL_BATCH,
        pollIntervalMs: config.MAIL_POLL_INTERVAL,
        // Long enough for a whole batch to time out step by step; a crashed sender's mails wait this long.
        leaseMs: Math.max(60_000, config.SMTP_TIMEOUT * (config.MAIL_BATCH + 2)),
      });
      onStop(() => sender.stop());

      // Queued mails wake the sender; live updates reach this replica's streams. Both are
      // NOTIFYs sent at commit; after a reconnect the listener gets "" and the sender catches up.
      const unlisten = await db.listen(await store.channel(), (payload) => {
        if (payload === MAIL_SIGNAL || payload === "") return sender.kick();
        const update = decodeLiveSignal(payload);
        if (update) live.publish(update);
      });
      onStop(unlisten);
      // Streams end before the pool closes (the server has already drained or cut them by then).
      onDrain(() => live.close());

      const housekeeping = startHousekeeping({
        db,
        store,
        clock,
        log,
        intervalMs: config.NOTIFICATION_HOUSEKEEPING_INTERVAL,
        logRetentionMs: config.NOTIFICATION_LOG_RETENTION,
        inboxRetentionMs: config.NOTIFICATION_INBOX_RETENTION,
        outboxRetentionMs: config.NOTIFICATION_OUTBOX_RETENTION,
      });
      onStop(() => housekeeping.stop());

      await subscribeToEvents({ bus, db, exchange: config.AMQP_EXCHANGE, notifications, shopName: config.MAIL_SHOP_NAME });
      if (transport.name === "folder") log.warn("SMTP_URL is unset: mails are written as .eml files", { dir: config.NOTIFICATION_OUTBOX_DIR });
    },
  };
}

export const notificationModule = createNotificationModule();
