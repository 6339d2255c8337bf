// Background rounds that every replica runs on a timer: expiring carts and reservations,
// advancing shipments, settling payments, pruning tables, resuming sagas. Rounds never overlap
// (a tick while one runs joins it), a failed round is logged with the job's name and tried again
// at the next tick (a database blip must not stop a job for good), and stop() waits for the
// round in progress, so a service shuts down with no job half done. Replicas share the work
// through the SQL they run (FOR UPDATE SKIP LOCKED), not through this timer.
import type { Logger } from "./logger.js";

export interface PeriodicJob<T> {
  /** One round now, or the one already running; rejects if the round fails. */
  runOnce(): Promise<T>;
  /** No more ticks; resolves when the running round (if any) has ended. */
  stop(): Promise<void>;
}

export interface PeriodicOptions<T> {
  /** For logs: "cart cleanup". */
  readonly name: string;
  readonly intervalMs: number;
  readonly run: () => Promise<T>;
  readonly log: Logger;
  /** Also run a round right away rather than one interval from now. */
  readonly runAtStart?: boolean;
}

export function startPeriodic<T>(opts: PeriodicOptions<T>): PeriodicJob<T> {
  let running: Promise<T> | undefined;
  const runOnce = (): Promise<T> => (running ??= opts.run().finally(() => (running = undefined)));
  const tick = () => {
    runOnce().catch((err: unknown) => opts.log.warn("periodic job failed; retrying at the next interval", { job: opts.name, err }));
  };
  const timer = setInterval(tick, opts.intervalMs);
  timer.unref();
  if (opts.runAtStart) tick();
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

/**
 * Runs `step` (which handles at most `batch` rows and returns how many it did) until a step
 * comes back short, so one round clears a backlog without holding one long transaction.
 */
export async function drainBatches(step: () => Promise<number>, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await step();
    total += n;
    if (n < batch) return total;
  }
}
