// Real readiness for the standard gRPC health service (grpc.health.v1.Health), which is what
// Kubernetes' gRPC probes and Istio call.
//
// A server is SERVING only while every named check passes (the database answers, the broker is
// connected...). Checks run at start and then every few seconds, never overlapping, each with a
// timeout so a hung dependency reads as "not ready" instead of hanging the probe. The overall
// status ("") and every registered service name move together: a service that cannot reach
// its database is not ready for any of its RPCs.
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { Server } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";

export interface ReadinessCheck {
  /** Shown in logs when the check fails, e.g. "postgres" or "rabbitmq". */
  readonly name: string;
  readonly check: () => Promise<boolean>;
}

export interface ReadinessOptions {
  readonly checks: readonly ReadinessCheck[];
  readonly intervalMs: number;
  /** A check slower than this counts as failed. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

export interface Readiness {
  addToServer(server: Server): void;
  /** Reports `name` with the overall status from now on. */
  addService(name: string): void;
  /** Runs every check now and publishes the result; resolves true when all passed. */
  refresh(): Promise<boolean>;
  /** First check now, then every intervalMs. */
  start(): void;
  /** NOT_SERVING for good: the server is shutting down. */
  stop(): void;
}

export function createReadiness(opts: ReadinessOptions): Readiness {
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  const services = new Set<string>([""]);
  let status: ServingStatus = "NOT_SERVING";
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<boolean> | undefined;
  let lastFailing = "";

  const publish = (next: ServingStatus) => {
    status = next;
    for (const name of services) health.setStatus(name, next);
  };

  const runChecks = async (): Promise<boolean> => {
    const results = await Promise.all(opts.checks.map((c) => runCheck(c, opts.timeoutMs)));
    const failing = opts.checks.filter((_, i) => !results[i]).map((c) => c.name);
    if (stopped) return false; // shutdown began while checks ran; stay NOT_SERVING
    const failingKey = failing.join(",");
    if (failingKey !== lastFailing || (failing.length === 0 && status !== "SERVING")) {
      if (failing.length > 0) opts.log.warn("not ready", { failing });
      else opts.log.info("ready");
      lastFailing = failingKey;
    }
    publish(failing.length === 0 ? "SERVING" : "NOT_SERVING");
    return failing.length === 0;
  };

  // Rounds never overlap: a slow check must not pile up rounds. The timer skips a tick while a
  // round runs; an explicit refresh waits for it and then runs a fresh one, because the caller
  // wants a result that reflects the world as of now.
  const round = (): Promise<boolean> => {
    running ??= runChecks().finally(() => (running = undefined));
    return running;
  };
  const refresh = async (): Promise<boolean> => {
    if (stopped) return false;
    if (running) await running;
    return round();
  };

  return {
    addToServer: (server) => health.addToServer(server),
    addService(name) {
      services.add(name);
      health.setStatus(name, status);
    },
    refresh,
    start() {
      void round();
      timer = setInterval(() => {
        if (!running && !stopped) void round();
      }, opts.intervalMs);
      timer.unref();
    },
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      publish("NOT_SERVING");
    },
  };
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([c.check().catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
