// Releases reservations that outlived their ttl, every interval, on every replica: due
// reservations are taken with SKIP LOCKED, so replicas share the work instead of contending,
// and a reservation being committed or released right now is left for the next round (where
// it is no longer due). A failed round is logged and retried at the next tick.
import type { Logger } from "../../platform/logger.js";
import type { Reservations } from "./reservations.js";

export interface ExpiryJob {
  /** One full round now: batches until nothing due is left. Returns reservations expired. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startExpiry(opts: { reservations: Reservations; intervalMs: number; batch: number; log: Logger }): ExpiryJob {
  const { reservations, batch, log } = opts;
  let running: Promise<number> | undefined;
  const runOnce = (): Promise<number> =>
    (running ??= (async () => {
      let total = 0;
      for (;;) {
        const n = await reservations.expireDue(batch);
        total += n;
        if (n < batch) break;
      }
      if (total > 0) log.info("expired reservations released", { count: total });
      return total;
    })().finally(() => (running = undefined)));
  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => log.warn("reservation expiry failed", { err }));
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
