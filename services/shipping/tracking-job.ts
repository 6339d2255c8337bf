// Moves shipments along on every replica: every interval it takes the shipments that are due
// (new ones to label, labelled ones whose carrier may have news) and advances each in its own
// transaction. Rows are taken with SKIP LOCKED, so replicas share the work instead of waiting
// on each other, and a shipment an admin is changing right now is left for the next round. A
// failure is logged and the shipment retried at a later round.
import type { Logger } from "../../platform/logger.js";
import { startPeriodic, type PeriodicJob } from "../../platform/periodic.js";
import type { Shipments } from "./shipments.js";

/** `runOnce` resolves how many shipments it advanced. */
export function startTrackingJob(opts: { shipments: Shipments; intervalMs: number; batch: number; log: Logger }): PeriodicJob<number> {
  const { shipments, batch, log } = opts;
  return startPeriodic({
    name: "shipment tracking",
    intervalMs: opts.intervalMs,
    log,
    run: async () => {
      let advanced = 0;
      for (const id of await shipments.dueIds(batch)) {
        try {
          if (await shipments.advance(id)) advanced++;
        } catch (err) {
          log.warn("could not advance shipment; will retry", { shipmentId: id, err });
        }
      }
      return advanced;
    },
  });
}
