// Moves shipments along on every replica: every interval it takes the shipments that are due
// (new ones to label, labelled ones whose carrier may have news) and advances each in its own
// transaction. Rows are taken with SKIP LOCKED, so replicas share the work instead of waiting
// on each other, and a shipment an admin is changing right now is left for the next round. A
// failure is logged and the shipment retried at a later round.
import type { Logger } from "../../platform/logger.js";
import type { Shipments } from "./shipments.js";

export interface TrackingJob {
  /** One round now; resolves how many shipments it advanced. Rounds never overlap. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

export function startTrackingJob(opts: { shipments: Shipments; intervalMs: number; batch: number; log: Logger }): TrackingJob {
  const { shipments, batch, log } = opts;
  let running: Promise<number> | undefined;
  const runOnce = (): Promise<number> =>
    (running ??= (async () => {
      let advanced = 0;
      for (const id of await shipments.dueIds(batch)) {
        try {
          if (await shipments.advance(id)) advanced++;
        } catch (err) {
          log.warn("could not advance shipment; will retry", { shipmentId: id, err });
        }
      }
      return advanced;
    })().finally(() => (running = undefined)));
  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => log.warn("tracking round failed", { err }));
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
