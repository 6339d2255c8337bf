// Liveness and readiness of the gateway.
//
// /healthz answers while the process can serve HTTP at all (a liveness probe restarts it only
// when it hangs). /readyz asks every backend's standard gRPC health service (the same one
// Kubernetes probes) whether the service we forward to is SERVING, and fails while any is not,
// or while the gateway is shutting down, so a load balancer stops sending traffic first.
import { ChannelCredentials, makeClientConstructor, type Client } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";

type CheckFn = (
  req: { service: string },
  options: { deadline: number },
  cb: (err: Error | null, res?: { status: string | number }) => void,
) => void;

const HealthClient = makeClientConstructor(healthService, "Health");

export interface HealthProbe {
  /** `SERVING`, `NOT_SERVING`, `SERVICE_UNKNOWN`, or `UNREACHABLE` when the call failed. */
  check(timeoutMs: number): Promise<string>;
  close(): void;
}

/** A long-lived health client for one backend (a channel per probe would reconnect every time). */
export function createHealthProbe(address: string, serviceName: string): HealthProbe {
  const client = new HealthClient(address, ChannelCredentials.createInsecure(), {
    "grpc.max_reconnect_backoff_ms": 2000,
  }) as unknown as Client & { check: CheckFn };
  return {
    check: (timeoutMs) =>
      new Promise((resolve) => {
        client.check({ service: serviceName }, { deadline: Date.now() + timeoutMs }, (err, res) => {
          resolve(err || !res ? "UNREACHABLE" : String(res.status));
        });
      }),
    close: () => client.close(),
  };
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly backends: Readonly<Record<string, string>>;
}

export interface Readiness {
  check(): Promise<ReadinessReport>;
  /** Not ready from now on: the gateway is draining. */
  stop(): void;
}

export function createReadiness(probes: readonly { name: string; health: HealthProbe }[], timeoutMs = 1000): Readiness {
  let stopped = false;
  let inflight: Promise<ReadinessReport> | undefined;
  const run = async (): Promise<ReadinessReport> => {
    const statuses = await Promise.all(probes.map((p) => p.health.check(timeoutMs)));
    const report: Record<string, string> = {};
    probes.forEach((p, i) => (report[p.name] = statuses[i]!));
    return { ready: !stopped && statuses.every((s) => s === "SERVING"), backends: report };
  };
  return {
    // Probes arriving together share one round of checks: /readyz is reachable from outside.
    check: () =>
      (inflight ??= run().finally(() => {
        inflight = undefined;
      })),
    stop: () => {
      stopped = true;
    },
  };
}
