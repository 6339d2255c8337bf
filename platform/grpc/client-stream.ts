// Server-streaming calls as async iterables (live order updates and the like).
//
// Streams are neither retried (part of the stream may already have been consumed) nor counted
// by the circuit breaker (a stream that stays open for an hour says nothing about the peer's
// health per call), but they do fail fast while the peer's circuit is open.
import type { ClientReadableStream } from "@grpc/grpc-js";
import type { CircuitBreakerPolicy } from "cockatiel";
import { Code, ShopError, unavailable } from "../errors.js";
import { breakerState, toClientError } from "./client-policies.js";

export interface StreamCall {
  readonly peerName: string;
  readonly breaker: CircuitBreakerPolicy;
  /** Starts the grpc-js call. */
  open(): ClientReadableStream<unknown>;
  /** Hooks cancellation (caller's signal, inbound call) to `cancel`; returns the undo. */
  link(cancel: () => void): () => void;
  /** Ends the client span and counts the call in the metrics. */
  end(code: Code, err?: unknown): void;
}

export async function* openStream(s: StreamCall): AsyncGenerator<unknown, void, undefined> {
  if (breakerState(s.breaker) === "open") {
    const err = unavailable(`${s.peerName} unavailable (circuit open)`);
    s.end(err.code, err);
    throw err;
  }
  const call = s.open();
  const unlink = s.link(() => call.cancel());
  let code = Code.OK;
  let error: unknown;
  try {
    for await (const item of call) yield item;
  } catch (e) {
    error = toClientError(e, s.peerName);
    code = error instanceof ShopError ? error.code : Code.UNKNOWN;
    throw error;
  } finally {
    unlink();
    call.cancel(); // a no-op once the stream ended; stops it when the consumer leaves early
    s.end(code, error);
  }
}
