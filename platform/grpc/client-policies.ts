// Resilience policies for outgoing calls, built on cockatiel:
//
// Retry: only when the peer answered UNAVAILABLE (nothing was done, or the peer said so), and
// only for methods declared NO_SIDE_EFFECTS or IDEMPOTENT in the proto; a CreateX retried after
// an ambiguous failure could create two. RESOURCE_EXHAUSTED is deliberately not retried: in
// this shop it means a rate limit or quota (retrying adds to the overload that caused it) or a
// message over the size limit (which never succeeds). Backoff is exponential with decorrelated
// jitter, attempts are bounded, and a retry is only started if its wait plus `minAttemptMs`
// still ends before the call's deadline.
//
// Circuit breaker, one per peer: after `threshold` consecutive peer faults it opens and calls
// fail at once instead of piling onto a sick peer; after `halfOpenAfterMs` one trial call is let
// through and its outcome closes or re-opens it. Only faults of the peer count: a NOT_FOUND or
// INVALID_ARGUMENT is a healthy peer answering.
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  IsolatedCircuitError,
  RetryPolicy,
  circuitBreaker,
  handleWhen,
  retry,
  type CircuitBreakerPolicy,
  type IBackoff,
} from "cockatiel";
import type { ServiceError } from "@grpc/grpc-js";
import { Code, ShopError, fromServiceError, unavailable } from "../errors.js";

export interface RetryOptions {
  /** Total attempts including the first; default 3. */
  readonly maxAttempts?: number;
  /** First backoff delay; default 50 ms. */
  readonly initialDelayMs?: number;
  /** Longest backoff delay; default 1 s. */
  readonly maxDelayMs?: number;
}

export interface BreakerOptions {
  /** Consecutive peer faults that open the circuit; default 5. */
  readonly threshold?: number;
  /** How long the circuit stays open before a trial call; default 5 s. */
  readonly halfOpenAfterMs?: number;
}

export type BreakerState = "closed" | "open" | "half-open" | "isolated";

const retryableCodes = new Set([Code.UNAVAILABLE]);
const peerFaultCodes = new Set([Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.UNKNOWN]);
/** A retry is not worth starting with less time than this left before the deadline. */
const minAttemptMs = 10;

export function isPeerFault(err: unknown): boolean {
  return err instanceof ShopError && peerFaultCodes.has(err.code);
}

export function createBreaker(opts: BreakerOptions = {}): CircuitBreakerPolicy {
  return circuitBreaker(handleWhen(isPeerFault), {
    breaker: new ConsecutiveBreaker(opts.threshold ?? 5),
    halfOpenAfter: opts.halfOpenAfterMs ?? 5000,
  });
}

export function breakerState(breaker: CircuitBreakerPolicy): BreakerState {
  switch (breaker.state) {
    case CircuitState.Closed:
      return "closed";
    case CircuitState.Open:
      return "open";
    case CircuitState.HalfOpen:
      return "half-open";
    case CircuitState.Isolated:
      return "isolated";
  }
}

export function isCircuitOpen(err: unknown): boolean {
  return err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError;
}

/**
 * A retry policy for one call with absolute `deadline` (epoch ms). Built per call because the
 * deadline differs per call; it is a handful of small objects and only idempotent methods pay it.
 *
 * cockatiel asks the error filter whether to retry before it asks the backoff how long to wait,
 * so the filter draws the next delay itself and declines when that wait plus a minimal attempt
 * would end past the deadline: the caller then gets the peer's real error at once instead of a
 * doomed attempt at the last moment.
 */
export function createRetryPolicy(opts: RetryOptions, deadline: number): RetryPolicy {
  const delays = new ExponentialBackoff({ initialDelay: opts.initialDelayMs ?? 50, maxDelay: opts.maxDelayMs ?? 1000 });
  let drawn: IBackoff<unknown> | undefined;
  let nextDelay = 0;
  const worthRetrying = (err: Error): boolean => {
    if (!(err instanceof ShopError && retryableCodes.has(err.code))) return false;
    drawn = drawn ? drawn.next(undefined) : delays.next();
    nextDelay = drawn.duration;
    return Date.now() + nextDelay + minAttemptMs < deadline;
  };
  const planned: IBackoff<unknown> = {
    get duration() {
      return nextDelay;
    },
    next: () => planned,
  };
  return retry(handleWhen(worthRetrying), { maxAttempts: Math.max(0, (opts.maxAttempts ?? 3) - 1), backoff: planned });
}

/** Any failure of a call as the caller should see it: a ShopError, unless it is a local bug. */
export function toClientError(e: unknown, peerName: string): unknown {
  if (e instanceof ShopError) return e;
  if (isCircuitOpen(e)) return unavailable(`${peerName} unavailable (circuit open)`);
  if (isServiceError(e)) return fromServiceError(e);
  return e; // e.g. a malformed request object: our bug, not the peer's doing
}

function isServiceError(e: unknown): e is ServiceError {
  return e instanceof Error && typeof (e as Partial<ServiceError>).code === "number" && "metadata" in e;
}
