// Deletes expired carts every interval, on every replica: batches are taken with SKIP LOCKED,
// so replicas share the work instead of contending, and a cart being changed right now is left
// for the next round.
import type { Logger } from "../../platform/logger.js";
import { drainBatches, startPeriodic, type PeriodicJob } from "../../platform/periodic.js";
import type { CartStore } from "./store.js";

/** `runOnce` resolves how many carts it deleted. */
export function startCleanup(opts: { store: CartStore; clock: () => Date; intervalMs: number; batch: number; log: Logger }): PeriodicJob<number> {
  const { store, clock, batch, log } = opts;
  return startPeriodic({
    name: "cart cleanup",
    intervalMs: opts.intervalMs,
    log,
    run: async () => {
      const total = await drainBatches(() => store.deleteExpired(clock(), batch), batch);
      if (total > 0) log.info("expired carts deleted", { count: total });
      return total;
    },
  });
}
