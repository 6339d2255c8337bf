// The resume loop: at start-up and every ORDER_RECOVERY_INTERVAL, take over the sagas whose
// lease expired (their replica crashed, was killed or lost the database) and drive them on from
// their persisted step. Leases are taken with FOR UPDATE SKIP LOCKED, so replicas scanning at
// the same moment split the work and never drive one saga twice; a checkout found past its
// deadline (and not yet past capture) compensates instead of resuming (saga.ts decides).
import type { Logger } from "../../platform/logger.js";
import { startPeriodic, type PeriodicJob } from "../../platform/periodic.js";
import type { SagaRunner } from "./saga.js";
import type { OrderStore } from "./store.js";

export interface RecoveryOptions {
  readonly store: OrderStore;
  readonly runner: SagaRunner;
  readonly owner: string;
  readonly leaseMs: number;
  readonly intervalMs: number;
  readonly batch: number;
  readonly log: Logger;
}

/** Runs a pass at once (a restarted replica picks up its crashed sagas), then every interval. */
export function startRecovery(opts: RecoveryOptions): PeriodicJob<number> {
  const { store, runner, owner, leaseMs, log } = opts;
  return startPeriodic({
    name: "saga recovery",
    intervalMs: opts.intervalMs,
    log,
    runAtStart: true,
    // One batch per pass, not awaited: a saga stuck on a peer that is down must not hold up the
    // others. Each driver renews its own lease, so what was taken stays taken.
    run: async () => {
      const ids = await store.claimExpired(owner, leaseMs, opts.batch);
      if (ids.length > 0) log.info("recovering sagas", { count: ids.length });
      for (const id of ids) void runner.drive(id);
      return ids.length;
    },
  });
}
