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

export function startHousekeeping(opts: HousekeepingOptions): { runOnce(): Promise<void>; stop(): Promise<void> } {
  const { db, store, log } = opts;
  const drain = async (step: () => Promise<number>): Promise<number> => {
    let total = 0;
    for (let n = await step(); ; n = await step()) {
      total += n;
      if (n < BATCH) return total;
    }
  };
  let running: Promise<void> | undefined;
  // Routine, not a request: no root spans for its SQL.
  const runOnce = () =>
    (running ??= context.with(suppressTracing(ROOT_CONTEXT), async () => {
      const before = new Date(opts.clock().getTime() - opts.logRetentionMs);
      const log_ = await drain(() => store.pruneLog(before, BATCH));
      const inbox = await drain(() => pruneInbox(db, opts.inboxRetentionMs, BATCH));
      const outbox = await drain(() => pruneOutbox(db, opts.outboxRetentionMs, BATCH));
      if (log_ + inbox + outbox > 0) log.info("retention applied", { logEntries: log_, inbox, outbox });
    }).finally(() => (running = undefined)));
  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => log.warn("housekeeping failed; retrying at the next interval", { err }));
  }, opts.intervalMs);
  timer.unref();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
