// The few calls the rest of the code makes to count what happens. Each takes plain values, so the
// gRPC pipeline, the event consumer and the order saga need no prom-client types.
import { Code } from "../errors.js";
import {
  checkoutSteps,
  eventsConsumed,
  eventsConsumerLag,
  httpServerDuration,
  httpServerRequests,
  ordersFailed,
  ordersPlaced,
  outboxPublished,
  revenueMinor,
  rpcClientCalls,
  rpcClientRetries,
  rpcServerCalls,
  serverInFlight,
} from "./registry.js";

/** `5` or `"NOT_FOUND"` -> `"NOT_FOUND"`: dashboards select on names, not numbers. */
export function codeName(code: Code | string): string {
  if (typeof code === "string") return code;
  return Code[code] ?? String(code);
}

/** `method` is the RPC's name as in the proto (`ReserveStock`); `service` the serving (or calling) service. */
export interface RpcLabels {
  readonly service: string;
  readonly method: string;
}

/**
 * The metrics of one served method, built once (the gRPC server does it when a method is
 * registered) so a call costs a few updates of plain numbers in the series cached for its final
 * code: no label objects are built and no label set is looked up per call.
 */
export interface ServerCallMetrics {
  /** A call started; returns its start time (`performance.now()`) for `end`. */
  start(): number;
  /** The call ended with `code`, `startedAt` being what `start` returned. Once per call. */
  end(code: Code, startedAt: number): void;
}

const serverMetrics = new Map<string, ServerCallMetrics>();

export function serverCallMetrics(labels: RpcLabels): ServerCallMetrics {
  const key = `${labels.service}\u0000${labels.method}`;
  let m = serverMetrics.get(key);
  if (m) return m;
  const { service, method } = labels;
  const inFlight = { labels: { service, method }, value: 0 };
  serverInFlight.set(key, inFlight);
  const byCode = seriesByCode((code) => rpcServerCalls.series({ service, method, code }));
  m = {
    start() {
      inFlight.value++;
      return performance.now();
    },
    end(code, startedAt) {
      inFlight.value--;
      rpcServerCalls.observe(byCode(code), (performance.now() - startedAt) / 1000);
    },
  };
  serverMetrics.set(key, m);
  return m;
}

export interface ClientRpcLabels extends RpcLabels {
  /** The peer's name as the client knows it: `inventory`. */
  readonly peer: string;
}

/** The metrics of one method of one peer's client, built once when the client is created. */
export interface ClientCallMetrics {
  /** One outgoing call, after its retries, with the code the caller saw. */
  call(code: Code, seconds: number): void;
  retry(): void;
}

const clientMetrics = new Map<string, ClientCallMetrics>();

export function clientCallMetrics(labels: ClientRpcLabels): ClientCallMetrics {
  const key = `${labels.service}\u0000${labels.peer}\u0000${labels.method}`;
  let m = clientMetrics.get(key);
  if (m) return m;
  const { service, peer, method } = labels;
  const retries = rpcClientRetries.labels(service, peer, method);
  const byCode = seriesByCode((code) => rpcClientCalls.series({ service, peer, method, code }));
  m = {
    call: (code, seconds) => rpcClientCalls.observe(byCode(code), seconds),
    retry: () => retries.inc(),
  };
  clientMetrics.set(key, m);
  return m;
}

/** Series per status code, found on a code's first use (most methods only ever see a few codes). */
function seriesByCode<T>(make: (code: string) => T): (code: Code) => T {
  const cache: (T | undefined)[] = [];
  return (code) => (cache[code] ??= make(codeName(code)));
}

/** One HTTP request answered by the gateway; `procedure` is the RPC path or a fixed route (`/healthz`). */
export function recordHttpRequest(labels: { service: string; procedure: string }, status: number, seconds: number): void {
  const l = { service: labels.service, procedure: labels.procedure, status: String(status) };
  httpServerRequests.inc(l);
  httpServerDuration.observe(l, seconds);
}

export function recordOutboxPublished(service: string, count: number): void {
  if (count > 0) outboxPublished.inc({ service }, count);
}

/** The `outcome` label's values of consumed events. */
export const consumeOutcomes = ["handled", "duplicate", "failed", "dead_lettered"] as const;

export type ConsumeOutcome = (typeof consumeOutcomes)[number];

export interface ConsumedEvent {
  readonly service: string;
  readonly queue: string;
  /** Full protobuf type name, e.g. `shop.order.v1.OrderPlaced`. */
  readonly type: string;
  /** When the producer committed the event; the consumer lag is measured from it. */
  readonly occurredAt?: Date | undefined;
}

export function recordEventConsumed(event: ConsumedEvent, outcome: ConsumeOutcome, now: Date = new Date()): void {
  eventsConsumed.inc({ service: event.service, queue: event.queue, type: event.type, outcome });
  if (outcome === "handled" && event.occurredAt) {
    eventsConsumerLag.observe({ service: event.service, queue: event.queue }, Math.max(0, (now.getTime() - event.occurredAt.getTime()) / 1000));
  }
}

/** An order confirmed: counts it and adds its captured total (minor units) to the revenue. */
export function recordOrderPlaced(total: { currency: string; amountMinor: bigint }): void {
  ordersPlaced.inc({ currency: total.currency });
  // A counter is a float64: exact for totals below 2^53 minor units, far above any shop's revenue.
  if (total.amountMinor > 0n) revenueMinor.inc({ currency: total.currency }, Number(total.amountMinor));
}

/** A checkout that ended without an order; `reason` is a short fixed word, never user input. */
export function recordOrderFailed(reason: string): void {
  ordersFailed.inc({ reason });
}

/** The `step` label's values: the checkout funnel in saga order, then the undoing of a failed one. */
export const checkoutStepNames = ["priced", "reserved", "authorized", "redeemed", "captured", "committed", "confirmed", "compensated"] as const;

export type CheckoutStep = (typeof checkoutStepNames)[number];

export function recordCheckoutStep(step: CheckoutStep, outcome: "ok" | "failed"): void {
  checkoutSteps.inc({ step, outcome });
}
