// The one way a service calls another: a promise-based client typed from the generated
// descriptor, with the platform's call policy applied to every call.
//
//   const inventory = createClient(InventoryService, { service: "order", name: "inventory", address: config.INVENTORY_ADDR });
//   const { reservation } = await inventory.reserveStock({ orderId, lines });
//
// Per call: the deadline is the earliest of the explicit timeout, the peer's default timeout
// and what is left of the inbound call being served; a client span carries the trace to the
// peer; the inbound caller's `authorization` is forwarded (every service re-checks identity);
// cancellation of the inbound call cancels the outgoing one; retries and the circuit breaker
// follow client-policies.ts; every failure comes back as a ShopError; and the call, its retries
// and the peer's breaker state are counted in the RPC metrics (platform/metrics).
import { create, type DescMessage, type DescMethod, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel as Idempotency } from "@bufbuild/protobuf/wkt";
import { Client, Metadata, type ChannelOptions } from "@grpc/grpc-js";
import { SpanKind, SpanStatusCode, trace, type Context, type Span, type SpanOptions, type TextMapSetter } from "@opentelemetry/api";
import { Code, ShopError, deadlineExceeded, fromServiceError } from "../errors.js";
import { clientCallMetrics, type ClientCallMetrics } from "../metrics/record.js";
import { watchBreaker } from "../metrics/watch.js";
import { context, getTracer, injectTraceContext } from "../telemetry.js";
import { currentCall, type CallContext } from "./call-context.js";
import {
  breakerState,
  createBreaker,
  createRetryPolicy,
  toClientError,
  type BreakerOptions,
  type BreakerState,
  type RetryOptions,
} from "./client-policies.js";
import { channelCredentials, type ClientTlsOptions } from "./credentials.js";
import { grpcMethodDefinition, type GrpcMethodDefinition } from "./service-definition.js";
import { openStream, type StreamCall } from "./client-stream.js";

export interface ClientOptions {
  /** The calling service's name, e.g. "order": the `service` label of the client's metrics. */
  readonly service: string;
  /** The peer's name in errors, logs, spans and metrics, e.g. "inventory". */
  readonly name: string;
  /** `host:port` (or any grpc-js target, e.g. `dns:///inventory:50051`). */
  readonly address: string;
  /** Longest a unary call may take; default 5 s. Streams have no default deadline. */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
  readonly breaker?: BreakerOptions;
  /** Largest response accepted; default 4 MiB. */
  readonly maxReceiveMessageBytes?: number;
  readonly tls?: ClientTlsOptions;
}

export interface CallOptions {
  /**
   * Shortens the deadline for this call. The deadline is the earliest of this, the peer's
   * `timeoutMs` and the inbound call's deadline: a caller can only ask for less time, never more
   * than the peer is configured for (raise the peer's timeout for slow methods).
   */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Extra request metadata; an `authorization` here replaces the forwarded one. */
  readonly metadata?: Readonly<Record<string, string>>;
}

type Methods<S extends DescService> = S["method"];
type Called = { methodKind: "unary" | "server_streaming" };

export type ServiceClient<S extends DescService> = {
  [K in keyof Methods<S> as Methods<S>[K] extends Called ? K : never]: Methods<S>[K] extends {
    methodKind: "unary";
    input: infer I extends DescMessage;
    output: infer O extends DescMessage;
  }
    ? (request: MessageInitShape<I>, opts?: CallOptions) => Promise<MessageShape<O>>
    : Methods<S>[K] extends { methodKind: "server_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? (request: MessageInitShape<I>, opts?: CallOptions) => AsyncIterable<MessageShape<O>>
      : never;
} & ClientControl;

export interface ClientControl {
  /** For metrics and health pages: "open" means calls to this peer currently fail fast. */
  breakerState(): BreakerState;
  /** Closes the channel (calls in flight fail with CANCELLED or UNAVAILABLE) and stops reporting the breaker. */
  close(): void;
}

export interface Peer {
  /** The calling service. */
  readonly service: string;
  readonly name: string;
  readonly client: Client;
  readonly timeoutMs: number;
  readonly retry: RetryOptions;
  readonly breaker: ReturnType<typeof createBreaker>;
}

const tracer = getTracer("shop.grpc");
const STATUS_ATTR = "rpc.grpc.status_code";

export function createClient<S extends DescService>(service: S, opts: ClientOptions): ServiceClient<S> {
  const channelOptions: ChannelOptions = {
    "grpc.max_receive_message_length": opts.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
    // grpc-js backs off reconnects up to 2 minutes by default, so a restarted peer could stay
    // unreachable long after it is back; 5 s keeps recovery quick at negligible cost.
    "grpc.max_reconnect_backoff_ms": 5000,
  };
  // One channel (and so one connection) per peer, shared by all its methods.
  const client = new Client(opts.address, channelCredentials(opts.tls), channelOptions);
  const breaker = createBreaker(opts.breaker);
  const peer: Peer = { service: opts.service, name: opts.name, client, timeoutMs: opts.timeoutMs ?? 5000, retry: opts.retry ?? {}, breaker };
  const unwatch = watchBreaker(opts.service, opts.name, () => breakerState(breaker));
  const out: Record<string, unknown> = {
    breakerState: () => breakerState(breaker),
    close: () => {
      unwatch();
      client.close();
    },
  };
  for (const method of service.methods) {
    if (method.localName in out) throw new Error(`${service.typeName}.${method.name} clashes with the client's ${method.localName}()`);
    if (method.methodKind === "unary") out[method.localName] = unaryCaller(method, peer);
    else if (method.methodKind === "server_streaming") out[method.localName] = streamCaller(method, peer);
  }
  return out as ServiceClient<S>;
}

function spanOptions(method: DescMethod, peer: Peer): SpanOptions {
  return {
    kind: SpanKind.CLIENT,
    attributes: { "rpc.system": "grpc", "rpc.service": method.parent.typeName, "rpc.method": method.name, "peer.service": peer.name },
  };
}

function callMetrics(method: DescMethod, peer: Peer): ClientCallMetrics {
  return clientCallMetrics({ service: peer.service, peer: peer.name, method: method.name });
}

function unaryCaller(method: DescMethod, peer: Peer) {
  const def = grpcMethodDefinition(method);
  const spanName = `${method.parent.typeName}/${method.name}`;
  const options = spanOptions(method, peer);
  const retried = method.idempotency !== Idempotency.IDEMPOTENCY_UNKNOWN;
  const metrics = callMetrics(method, peer);
  return async (request: MessageInitShape<DescMessage>, callOpts?: CallOptions): Promise<unknown> => {
    const started = performance.now();
    const inbound = currentCall();
    const now = Date.now();
    const timeout = Math.min(callOpts?.timeoutMs ?? Infinity, peer.timeoutMs);
    const deadline = Math.min(now + timeout, inbound ? inbound.deadline : Infinity);
    const message = create(method.input, request); // once, so every attempt sends the same bytes
    const parent = context.active();
    const span = tracer.startSpan(spanName, options, parent);
    const otel = trace.setSpan(parent, span);
    let attempt = 0;
    const once = () => {
      if (++attempt > 1) {
        metrics.retry();
        if (span.isRecording()) span.addEvent("retry", { attempt });
      }
      return peer.breaker.execute(() => invokeUnary(peer, def, message, outgoingMetadata(otel, inbound, callOpts), deadline, inbound, callOpts));
    };
    try {
      if (deadline <= now) throw deadlineExceeded(`no time left to call ${peer.name}`);
      const response = retried ? await withRetries(once, peer.retry, deadline) : await once();
      endSpan(span, Code.OK);
      metrics.call(Code.OK, (performance.now() - started) / 1000);
      return response;
    } catch (e) {
      const err = toClientError(e, peer.name);
      const code = err instanceof ShopError ? err.code : Code.UNKNOWN;
      endSpan(span, code, err);
      metrics.call(code, (performance.now() - started) / 1000);
      throw err;
    }
  };
}

/**
 * Runs `attempt` under the retry policy. The policy is only built once an attempt has failed:
 * the first failure is replayed through it, so it decides on that error exactly as if it had
 * run the first attempt itself, and the common case (success) allocates nothing for retries.
 */
async function withRetries<T>(attempt: () => Promise<T>, retry: RetryOptions, deadline: number): Promise<T> {
  try {
    return await attempt();
  } catch (first) {
    let replayed = false;
    return createRetryPolicy(retry, deadline).execute(() => {
      if (replayed) return attempt();
      replayed = true;
      throw first;
    });
  }
}

function invokeUnary(
  peer: Peer,
  def: GrpcMethodDefinition,
  message: unknown,
  metadata: Metadata,
  deadline: number,
  inbound: CallContext | undefined,
  callOpts: CallOptions | undefined,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let unlink: () => void = noop;
    const call = peer.client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, message as never, metadata, { deadline }, (err, res) => {
      unlink();
      if (err) reject(fromServiceError(err));
      else resolve(res);
    });
    unlink = linkCancellation(() => call.cancel(), inbound, callOpts);
  });
}

function streamCaller(method: DescMethod, peer: Peer) {
  const def = grpcMethodDefinition(method);
  const spanName = `${method.parent.typeName}/${method.name}`;
  const options = spanOptions(method, peer);
  const metrics = callMetrics(method, peer);
  return (request: MessageInitShape<DescMessage>, callOpts?: CallOptions): AsyncIterable<unknown> => {
    const started = performance.now();
    const inbound = currentCall();
    // Streams (live updates) may rightly run for hours: only an explicit or inherited deadline applies.
    const timeout = callOpts?.timeoutMs !== undefined ? Date.now() + callOpts.timeoutMs : Infinity;
    const deadline = Math.min(timeout, inbound ? inbound.deadline : Infinity);
    const span = tracer.startSpan(spanName, options, context.active());
    const otel = trace.setSpan(context.active(), span);
    const start: StreamCall = {
      peerName: peer.name,
      breaker: peer.breaker,
      open: () =>
        peer.client.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, create(method.input, request) as never, outgoingMetadata(otel, inbound, callOpts), Number.isFinite(deadline) ? { deadline } : {}),
      link: (cancel) => linkCancellation(cancel, inbound, callOpts),
      end: (code, err) => {
        endSpan(span, code, err);
        metrics.call(code, (performance.now() - started) / 1000);
      },
    };
    return openStream(start);
  };
}

const metadataSetter: TextMapSetter<Metadata> = { set: (md, key, value) => md.set(key, value) };

function outgoingMetadata(otel: Context, inbound: CallContext | undefined, callOpts: CallOptions | undefined): Metadata {
  const md = new Metadata();
  injectTraceContext(otel, md, metadataSetter);
  // Identity is re-checked by every service, so the end user's token travels with the request.
  const auth = inbound?.metadata.get("authorization")[0];
  if (typeof auth === "string") md.set("authorization", auth);
  if (callOpts?.metadata) for (const [k, v] of Object.entries(callOpts.metadata)) md.set(k, v);
  return md;
}

/** Cancels the outgoing call when the caller's signal or the inbound call aborts; returns the undo. */
function linkCancellation(cancel: () => void, inbound: CallContext | undefined, callOpts: CallOptions | undefined): () => void {
  const own = callOpts?.signal;
  const parent = inbound?.signal;
  if (own === undefined && parent === undefined) return noop;
  if (own?.aborted || parent?.aborted) {
    queueMicrotask(cancel);
    return noop;
  }
  own?.addEventListener("abort", cancel, { once: true });
  parent?.addEventListener("abort", cancel, { once: true });
  return () => {
    own?.removeEventListener("abort", cancel);
    parent?.removeEventListener("abort", cancel);
  };
}

const noop = () => undefined;

function endSpan(span: Span, code: Code, err?: unknown): void {
  if (span.isRecording()) {
    span.setAttribute(STATUS_ATTR, code);
    if (code !== Code.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : Code[code] });
  }
  span.end();
}
