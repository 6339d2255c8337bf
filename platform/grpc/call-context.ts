// What a handler knows about the call it is serving, and how outgoing calls find it.
//
// The server runs every handler with its CallContext made current, so a client call made
// anywhere below the handler (a store, a domain function, a saga step) inherits the inbound
// deadline, cancellation and credentials without a context argument threaded through every
// function.
//
// The CallContext rides in OpenTelemetry's context, next to the server span, whenever an
// OpenTelemetry context manager is installed (initTelemetry does that): that manager is an
// AsyncLocalStorage already, and on Node 20 each AsyncLocalStorage in use adds work to every
// async resource the process creates (each promise, each nextTick), so a second one is not
// worth having on the hot path. Without a context manager (a service or test that never calls
// initTelemetry), an AsyncLocalStorage of our own takes over, so deadlines propagate either way.
import { AsyncLocalStorage } from "node:async_hooks";
import { ROOT_CONTEXT, createContextKey, type Context } from "@opentelemetry/api";
import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "../logger.js";
import { permissionDenied, unauthenticated } from "../errors.js";
import { context } from "../telemetry.js";

/** Who is calling, as established by the server's `authenticate` hook. */
export interface Caller {
  /** Stable id of the principal: a user id, or a service name for service credentials. */
  readonly subject: string;
  readonly roles: readonly string[];
  /** The display name the token carries, if any: for display (a review's author), never for access decisions. */
  readonly name?: string;
}

/**
 * Turns request metadata into a caller. Resolve undefined for an anonymous call (the handler
 * decides whether that is allowed); throw ShopError UNAUTHENTICATED for bad credentials. A hook
 * that can tell at once (no credentials at all) may answer without a promise, which saves the
 * server a promise and a turn of the microtask queue on every anonymous call.
 */
export type Authenticate = (metadata: Metadata) => Caller | undefined | Promise<Caller | undefined>;

export interface CallContext {
  /** Fully qualified service name, e.g. `shop.catalog.v1.CatalogService`. */
  readonly service: string;
  /** Method name as in the proto, e.g. `GetProduct`. */
  readonly method: string;
  /** Absolute deadline in epoch milliseconds; Infinity when the caller set none. */
  readonly deadline: number;
  /** Fires when the caller cancels or the deadline passes: stop work, release resources. */
  readonly signal: AbortSignal;
  readonly metadata: Metadata;
  readonly caller: Caller | undefined;
  /** The server's logger with the RPC name bound; lines carry the call's trace id. */
  readonly log: Logger;
}

const CALL_KEY = createContextKey("shop.grpc.call");
const fallbackStore = new AsyncLocalStorage<CallContext>();
const PROBE = ROOT_CONTEXT.setValue(createContextKey("shop.grpc.probe"), true);
let otelPropagates = false;

/** Whether OpenTelemetry's context follows async work (a context manager is installed). */
function otelCarriesContext(): boolean {
  // Once installed, a manager stays; until then ask each time (initTelemetry may come later).
  return (otelPropagates ||= context.with(PROBE, () => context.active() === PROBE));
}

/** The inbound call being served on this async path, if any. */
export function currentCall(): CallContext | undefined {
  return (context.active().getValue(CALL_KEY) as CallContext | undefined) ?? fallbackStore.getStore();
}

/** Runs `fn` in the OpenTelemetry context `otel` with `ctx` as the current call (the server does this for every handler). */
export function runInCall<A extends unknown[], R>(otel: Context, ctx: CallContext, fn: (...args: A) => R, ...args: A): R {
  if (otelCarriesContext()) return context.with(otel.setValue(CALL_KEY, ctx), fn, undefined, ...args);
  return context.with(otel, () => fallbackStore.run(ctx, fn, ...args));
}

/** Milliseconds left before the current call's deadline (Infinity outside a call or without one). */
export function remainingMs(ctx: CallContext | undefined = currentCall()): number {
  return ctx ? ctx.deadline - Date.now() : Infinity;
}

/** The authenticated caller, or UNAUTHENTICATED. */
export function requireCaller(ctx: CallContext): Caller {
  if (!ctx.caller) throw unauthenticated();
  return ctx.caller;
}

/** The authenticated caller holding `role`: UNAUTHENTICATED without a caller, PERMISSION_DENIED without the role. */
export function requireRole(ctx: CallContext, role: string): Caller {
  const caller = requireCaller(ctx);
  if (!caller.roles.includes(role)) throw permissionDenied(`requires role ${role}`);
  return caller;
}
