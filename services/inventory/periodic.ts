// A job that runs every `intervalMs` on each replica, never overlapping itself, and stops with
// the service. Failures are logged and retried at the next tick.
import type { Logger } from "../../platform/logger.js";

export interface PeriodicJob {
  stop(): Promise<void>;
}

export function startPeriodic(name: string, intervalMs: number, run: () => Promise<void>, log: Logger): PeriodicJob {
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= run()
      .catch((err: unknown) => log.warn("periodic job failed", { job: name, err }))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
