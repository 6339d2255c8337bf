// Deletes expired carts every interval, on every replica: batches are taken with SKIP LOCKED,
// so replicas share the work instead of contending, and a cart being changed right now is left
// for the next round. A failed round is logged and retried at the next tick.
import type { Logger } from "../../platform/logger.js";
import type { CartStore } from "./store.js";

export interface CleanupJob {
  /** One full round now: batches until nothing expired is left. Returns carts deleted. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startCleanup(opts: { store: CartStore; clock: () => Date; intervalMs: number; batch: number; log: Logger }): CleanupJob {
  const { store, clock, batch, log } = opts;
  let running: Promise<number> | undefined;
  const runOnce = (): Promise<number> =>
    (running ??= (async () => {
      let total = 0;
      for (;;) {
        const n = await store.deleteExpired(clock(), batch);
        total += n;
        if (n < batch) break;
      }
      if (total > 0) log.info("expired carts deleted", { count: total });
      return total;
    })().finally(() => (running = undefined)));
  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => log.warn("cart cleanup failed", { err }));
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
