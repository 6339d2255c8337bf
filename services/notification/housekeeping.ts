// Retention, applied every interval on each replica: old finished log entries, handled event
// ids (the inbox) and published NotificationSent events (the outbox) are deleted in batches.
// The log outlives the inbox on purpose: a redelivery older than the inbox window is handled
// again, but its mail is still found in the log by its dedupe key and not sent twice.
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import type { Db } from "../../platform/db/db.js";
import { context } from "../../platform/telemetry.js";
import { pruneInbox, pruneOutbox } from "../../platform/events/index.js";
import type { Logger } from "../../platform/logger.js";
import { drainBatches, startPeriodic, type PeriodicJob } from "../../platform/periodic.js";
import type { NotificationStore } from "./store.js";

export interface HousekeepingOptions {
  readonly db: Db;
  readonly store: NotificationStore;
  readonly clock: () => Date;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly logRetentionMs: number;
  readonly inboxRetentionMs: number;
  readonly outboxRetentionMs: number;
}

const BATCH = 5_000;

export function startHousekeeping(opts: HousekeepingOptions): PeriodicJob<void> {
  const { db, store, log } = opts;
  return startPeriodic({
    name: "notification housekeeping",
    intervalMs: opts.intervalMs,
    log,
    // Routine, not a request: no root spans for its SQL.
    run: () =>
      context.with(suppressTracing(ROOT_CONTEXT), async () => {
        const before = new Date(opts.clock().getTime() - opts.logRetentionMs);
        const logEntries = await drainBatches(() => store.pruneLog(before, BATCH), BATCH);
        const inbox = await drainBatches(() => pruneInbox(db, opts.inboxRetentionMs, BATCH), BATCH);
        const outbox = await drainBatches(() => pruneOutbox(db, opts.outboxRetentionMs, BATCH), BATCH);
        if (logEntries + inbox + outbox > 0) log.info("retention applied", { logEntries, inbox, outbox });
      }),
  });
}
