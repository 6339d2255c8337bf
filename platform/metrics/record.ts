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
  rpcClientDuration,
  rpcClientRequests,
  rpcClientRetries,
  rpcServerDuration,
  rpcServerInFlight,
  rpcServerRequests,
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
 * Marks a served call as started; the returned function ends it with its status code. Call the
 * end exactly once, also for calls refused before the handler ran (UNAUTHENTICATED...).
 */
export function startServerCall(labels: RpcLabels): (code: Code | string) => void {
  const started = process.hrtime.bigint();
  rpcServerInFlight.inc({ service: labels.service, method: labels.method });
  let ended = false;
  return (code) => {
    if (ended) return;
    ended = true;
    rpcServerInFlight.dec({ service: labels.service, method: labels.method });
    recordServerCall(labels, code, secondsSince(started));
  };
}

export function recordServerCall(labels: RpcLabels, code: Code | string, seconds: number): void {
  const l = { service: labels.service, method: labels.method, code: codeName(code) };
  rpcServerRequests.inc(l);
  rpcServerDuration.observe(l, seconds);
}

export interface ClientRpcLabels extends RpcLabels {
  /** The peer's name as the client knows it: `inventory`. */
  readonly peer: string;
}

/** One outgoing call, after its retries, with the code the caller saw. */
export function recordClientCall(labels: ClientRpcLabels, code: Code | string, seconds: number): void {
  const l = { service: labels.service, peer: labels.peer, method: labels.method, code: codeName(code) };
  rpcClientRequests.inc(l);
  rpcClientDuration.observe(l, seconds);
}

export function recordClientRetry(labels: ClientRpcLabels): void {
  rpcClientRetries.inc({ service: labels.service, peer: labels.peer, method: labels.method });
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

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}
