// Releases reservations that outlived their ttl, every interval, on every replica: due
// reservations are taken with SKIP LOCKED, so replicas share the work instead of contending,
// and a reservation being committed or released right now is left for the next round (where
// it is no longer due).
import type { Logger } from "../../platform/logger.js";
import { drainBatches, startPeriodic, type PeriodicJob } from "../../platform/periodic.js";
import type { Reservations } from "./reservations.js";

/** `runOnce` resolves how many reservations it expired. */
export function startExpiry(opts: { reservations: Reservations; intervalMs: number; batch: number; log: Logger }): PeriodicJob<number> {
  const { reservations, batch, log } = opts;
  return startPeriodic({
    name: "reservation expiry",
    intervalMs: opts.intervalMs,
    log,
    run: async () => {
      const total = await drainBatches(() => reservations.expireDue(batch), batch);
      if (total > 0) log.info("expired reservations released", { count: total });
      return total;
    },
  });
}
