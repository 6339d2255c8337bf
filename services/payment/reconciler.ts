// Operations left pending by a provider timeout are normally settled by the caller's retry
// with the same key. If no retry comes (the caller gave up or crashed for good), this job
// settles them after a while, so no hold or refund is left undecided at the provider.
import type { Logger } from "../../platform/logger.js";
import { startPeriodic, type PeriodicJob } from "../../platform/periodic.js";
import type { Payments } from "./payments.js";
import type { PaymentStore } from "./store.js";

export interface ReconcilerOptions {
  readonly store: PaymentStore;
  readonly payments: Payments;
  readonly clock: () => Date;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly afterMs: number;
  readonly batch: number;
}

/** `runOnce` resolves how many payments it settled. */
export function startReconciler(opts: ReconcilerOptions): PeriodicJob<number> {
  const { store, payments, clock, log } = opts;
  return startPeriodic({
    name: "payment reconciler",
    intervalMs: opts.intervalMs,
    log,
    run: async () => {
      const ids = await store.unresolved(new Date(clock().getTime() - opts.afterMs), opts.batch);
      let settled = 0;
      for (const id of ids) {
        try {
          await payments.settle(id);
          settled++;
        } catch (err) {
          log.warn("could not settle a pending payment operation; will retry", { payment_id: id, err });
        }
      }
      if (settled > 0) log.info("settled pending payment operations", { settled });
      return settled;
    },
  });
}
