// The one forwarding function: every exposed method of every backend is served by the
// implementation built here from its descriptor, never by a hand-written handler.
//
// The request message Connect decoded is handed to the platform client as is (a protobuf-es
// message is a valid init shape), with the caller's `authorization` (every service verifies it
// again), the client address as `x-client-ip` (the users service limits sign-in failures per
// address) and the client's Connect/gRPC timeout. Backend failures arrive as ShopError and
// leave as ConnectError with the same code and the same field violations; for the codes that
// mean "something broke" the message is replaced, because grpc-js texts name hosts and ports.
import type { DescMethod } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import { isShopError, type FieldViolation } from "../platform/errors.js";
import type { CallOptions } from "../platform/grpc/index.js";
import type { Logger } from "../platform/logger.js";
import type { Backend } from "./backends.js";

/** What the HTTP layer learned about the request that the backend call needs. */
export interface Forwarded {
  readonly clientIp: string;
  readonly authorization: string | undefined;
}

export const forwardedKey = createContextKey<Forwarded>({ clientIp: "", authorization: undefined }, { description: "shop.gateway.forwarded" });

type UnaryForward = (request: unknown, ctx: HandlerContext) => Promise<unknown>;
type StreamForward = (request: unknown, ctx: HandlerContext) => AsyncIterable<unknown>;

/** The Connect implementation of `method` that forwards to `backend`. */
export function forwardingImpl(method: DescMethod, backend: Backend, log: Logger): UnaryForward | StreamForward {
  const call = backend.client[method.localName];
  if (!call) throw new Error(`${backend.name} client has no ${method.localName}`);
  const rpc = `${method.parent.typeName}/${method.name}`;
  const fail = (err: unknown): ConnectError => toConnectError(err, backend.name, (message, code) => {
    log.warn("backend call failed", { rpc, backend: backend.name, code: Code[code], message });
  });
  if (method.methodKind === "server_streaming") {
    return async function* forwardStream(request, ctx) {
      try {
        yield* call(request, callOptions(ctx)) as AsyncIterable<unknown>;
      } catch (err) {
        throw fail(err);
      }
    };
  }
  return async function forwardUnary(request, ctx) {
    try {
      return await (call(request, callOptions(ctx)) as Promise<unknown>);
    } catch (err) {
      throw fail(err);
    }
  };
}

function callOptions(ctx: HandlerContext): CallOptions {
  const fwd = ctx.values.get(forwardedKey);
  const metadata: Record<string, string> = { "x-client-ip": fwd.clientIp };
  if (fwd.authorization !== undefined) metadata["authorization"] = fwd.authorization;
  const timeoutMs = ctx.timeoutMs();
  return timeoutMs === undefined ? { signal: ctx.signal, metadata } : { signal: ctx.signal, metadata, timeoutMs };
}

// Codes whose backend message is an implementation detail (connection errors, stack-free but
// host-naming grpc-js texts, "internal error"); callers get a fixed text, the log gets the real one.
const concealed: ReadonlyMap<Code, (backend: string) => string> = new Map([
  [Code.Unavailable, (b: string) => `${b} is unavailable, try again later`],
  [Code.DeadlineExceeded, (b: string) => `${b} did not answer in time`],
  [Code.Internal, () => "internal error"],
  [Code.Unknown, () => "internal error"],
  [Code.DataLoss, () => "internal error"],
  [Code.Unimplemented, () => "not implemented"],
]);

/** A backend failure as the client sees it. `onConcealed` hears the real message of a concealed one. */
export function toConnectError(err: unknown, backend: string, onConcealed?: (message: string, code: Code) => void): ConnectError {
  if (err instanceof ConnectError) return err;
  if (!isShopError(err)) {
    onConcealed?.(err instanceof Error ? err.message : String(err), Code.Internal);
    return new ConnectError("internal error", Code.Internal);
  }
  const code = err.code as number as Code; // gRPC and Connect share the numbering
  const conceal = concealed.get(code);
  if (conceal) onConcealed?.(err.message, code);
  const out = new ConnectError(conceal ? conceal(backend) : err.message, code);
  if (err.violations.length > 0) out.details.push(badRequestDetail(err.violations));
  return out;
}

const BAD_REQUEST = "google.rpc.BadRequest";

/**
 * A raw google.rpc.BadRequest detail: binary for Connect/gRPC clients that decode details, and
 * the JSON form under `debug` so a plain JSON client can read the violations too.
 */
export function badRequestDetail(violations: readonly FieldViolation[]) {
  return {
    type: BAD_REQUEST,
    value: encodeBadRequest(violations),
    debug: { fieldViolations: violations.map((v) => ({ field: v.field, description: v.description })) },
  };
}

// google.rpc.BadRequest { repeated FieldViolation field_violations = 1; }
// FieldViolation { string field = 1; string description = 2; }
// platform/errors.ts encodes the same message inside a google.rpc.Status; this is it alone.
export function encodeBadRequest(violations: readonly FieldViolation[]): Uint8Array {
  const w = new BinaryWriter();
  for (const v of violations) {
    const fv = new BinaryWriter().tag(1, WireType.LengthDelimited).string(v.field).tag(2, WireType.LengthDelimited).string(v.description);
    w.tag(1, WireType.LengthDelimited).bytes(fv.finish());
  }
  return w.finish();
}
