// The pipeline every inbound call runs through, in this order:
//   tracing (server span, parent from the caller's traceparent)
//   -> call context made current (deadline, cancellation, credentials for outgoing calls; see
//      call-context.ts for why it rides in OpenTelemetry's AsyncLocalStorage-backed context)
//   -> authentication hook -> access level from the contract (access.ts) -> request validation
//   -> the handler
//   -> error mapping (errors.ts toStatus) -> one log line if the call failed.
//
// It is written as plain functions around grpc-js's callback API rather than as grpc-js
// interceptors: interceptors cannot see the decoded request (needed for validation) and each
// layer would allocate listener objects per call. This path runs for every RPC in the shop, so
// what can be decided per method (span name and attributes, access level, metric label
// children) is decided once at registration, and per call it avoids work that is not needed:
// a unary call runs synchronously up to the handler (an anonymous caller costs no promise; on
// Node 20 every promise also costs the context manager's async hook), the logger child, the
// AbortController and the cancellation listener are created only if the handler asks for them,
// span attributes are set only on recording spans, and the debug line is skipped unless debug
// is on. See docs/architecture.md ("What a call costs") for the measurements behind this.
import { SpanKind, SpanStatusCode, trace, type Context, type Span, type SpanOptions, type TextMapGetter } from "@opentelemetry/api";
import type { DescMessage, DescMethod, Message } from "@bufbuild/protobuf";
import type { Metadata, ServerUnaryCall, ServerWritableStream, handleServerStreamingCall, handleUnaryCall, sendUnaryData } from "@grpc/grpc-js";
import { Code, ShopError, deadlineExceeded, isShopError, toStatus } from "../errors.js";
import type { Logger } from "../logger.js";
import { serverCallMetrics, type ServerCallMetrics } from "../metrics/record.js";
import { extractTraceContext, getTracer } from "../telemetry.js";
import { runInCall, type Authenticate, type CallContext, type Caller } from "./call-context.js";
import type { RequestValidator } from "./request-validator.js";
import { accessDenial, accessOf, type Access } from "./access.js";

export type UnaryFn = (request: Message, ctx: CallContext) => Promise<unknown>;
export type ServerStreamingFn = (request: Message, ctx: CallContext) => AsyncIterable<unknown>;

/** What the server hands every method handler; built once per server. */
export interface HandlerEnv {
  /** The serving service's name (`catalog`): the `service` label of its RPC metrics. */
  readonly service: string;
  readonly log: Logger;
  readonly debug: boolean;
  readonly authenticate: Authenticate | undefined;
  readonly validate: RequestValidator;
}

const tracer = getTracer("shop.grpc");
const STATUS_ATTR = "rpc.grpc.status_code";
/** How close to the deadline a caller's cancel counts as the deadline passing (see cancelled()). */
const CANCEL_AT_DEADLINE_MS = 100;
// OpenTelemetry's RPC conventions: on a server span only these codes are the server's fault.
const serverFaults = new Set([Code.UNKNOWN, Code.DEADLINE_EXCEEDED, Code.UNIMPLEMENTED, Code.INTERNAL, Code.UNAVAILABLE, Code.DATA_LOSS]);

/** Everything about a method the pipeline needs, computed once when it is registered. */
interface MethodInfo {
  readonly method: DescMethod;
  readonly input: DescMessage;
  readonly spanName: string;
  readonly spanOptions: SpanOptions;
  readonly rpc: string;
  readonly access: Access;
  readonly metrics: ServerCallMetrics;
}

function methodInfo(method: DescMethod, env: HandlerEnv): MethodInfo {
  const service = method.parent.typeName;
  return {
    method,
    input: method.input,
    spanName: `${service}/${method.name}`,
    spanOptions: {
      kind: SpanKind.SERVER,
      attributes: { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method.name },
    },
    rpc: `${service}/${method.name}`,
    access: accessOf(method),
    metrics: serverCallMetrics({ service: env.service, method: method.name }),
  };
}

type GrpcCall = ServerUnaryCall<Message, unknown> | ServerWritableStream<Message, unknown>;

/** One inbound call: the CallContext the handler sees, plus the bookkeeping to end it once. */
class ServerCall implements CallContext {
  readonly service: string;
  readonly method: string;
  readonly metadata: Metadata;
  readonly deadline: number;
  caller: Caller | undefined = undefined;
  readonly access: Access;
  readonly span: Span;
  /** The OpenTelemetry context the call runs in: the server span under the caller's trace. */
  readonly otel: Context;
  /** Set once a status is decided (by us or by grpc-js cancelling); later outcomes are dropped. */
  private done = false;
  private controller: AbortController | undefined;
  private abortReason: ShopError | undefined;
  private logger: Logger | undefined;
  private readonly started: number;

  constructor(
    private readonly info: MethodInfo,
    private readonly env: HandlerEnv,
    private readonly call: GrpcCall,
  ) {
    this.service = info.method.parent.typeName;
    this.method = info.method.name;
    this.metadata = call.metadata;
    this.access = info.access;
    const deadline = call.getDeadline();
    this.deadline = typeof deadline === "number" ? deadline : deadline.getTime();
    const parent = extractTraceContext(call.metadata, metadataGetter);
    this.span = tracer.startSpan(info.spanName, info.spanOptions, parent);
    this.otel = trace.setSpan(parent, this.span);
    this.started = info.metrics.start();
  }

  // Created on first use: most handlers never look, and an AbortController plus a listener on
  // the call for every RPC is measurable. Without a listener, a cancellation is noticed when
  // the handler finishes (see settled()).
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
      else if (this.call.cancelled) this.cancelled();
      else this.call.once("cancelled", () => this.cancelled());
    }
    return this.controller.signal;
  }

  get log(): Logger {
    return (this.logger ??= this.env.log.child({ rpc: this.info.rpc }));
  }

  /** True once the call ended, by us or because grpc-js saw it cancelled or past its deadline. */
  settled(): boolean {
    if (!this.done && this.call.cancelled) this.cancelled();
    return this.done;
  }

  /** Ends the call as OK; false if it had already ended (cancelled, deadline passed). */
  succeed(): boolean {
    if (this.settled()) return false;
    this.done = true;
    if (this.span.isRecording()) this.span.setAttribute(STATUS_ATTR, Code.OK);
    this.span.end();
    this.info.metrics.end(Code.OK, this.started);
    if (this.env.debug) this.log.debug("rpc ok", { ms: this.elapsed() });
    return true;
  }

  /** Ends the call with the status for `err`; undefined if it had already ended. */
  fail(err: unknown): ReturnType<typeof toStatus> | undefined {
    if (this.settled()) return undefined;
    this.done = true;
    const status = toStatus(err);
    const serverFault = serverFaults.has(status.code);
    this.end(status.code, serverFault ? err : undefined);
    const fields = { code: Code[status.code], ms: this.elapsed() };
    if (!isShopError(err)) {
      // The caller only sees "internal error"; the detail goes to the log, redacted, with the trace id.
      this.log.error("rpc failed with an unexpected error", { ...fields, err, stack: err instanceof Error ? err.stack : undefined });
    } else if (serverFault) {
      this.log.warn("rpc failed", { ...fields, message: err.message });
    } else {
      this.log.info("rpc failed", { ...fields, message: err.message });
    }
    return status;
  }

  /** grpc-js saw the caller cancel or the deadline pass (it has already sent the status). */
  private cancelled(): void {
    if (this.done) return;
    this.done = true;
    // A caller cancels at its own deadline, which is earlier here than ours by the time the call
    // took to arrive; a cancel that close to our deadline is the deadline passing.
    const expired = Date.now() >= this.deadline - CANCEL_AT_DEADLINE_MS;
    const code = expired ? Code.DEADLINE_EXCEEDED : Code.CANCELLED;
    this.end(code, undefined);
    this.log.info(expired ? "rpc deadline exceeded" : "rpc cancelled by caller", { code: Code[code], ms: this.elapsed() });
    this.abortReason = expired ? deadlineExceeded() : new ShopError(Code.CANCELLED, "call cancelled");
    this.controller?.abort(this.abortReason);
  }

  private end(code: Code, err: unknown): void {
    const span = this.span;
    if (span.isRecording()) {
      span.setAttribute(STATUS_ATTR, code);
      if (serverFaults.has(code)) {
        const message = err instanceof Error ? err.message : Code[code];
        span.setStatus({ code: SpanStatusCode.ERROR, message });
        if (err instanceof Error) span.recordException({ name: err.name, message });
      }
    }
    span.end();
    this.info.metrics.end(code, this.started);
  }

  private elapsed(): number {
    return Math.round((performance.now() - this.started) * 10) / 10;
  }
}

/** Only W3C trace context crosses gRPC hops (the shop uses no baggage). */
const metadataGetter: TextMapGetter<Metadata> = {
  keys: (md) => Object.keys(md.getMap()),
  get: (md, key) => {
    const values = md.get(key);
    return values.length === 0 ? undefined : (values as string[]);
  },
};

/** Authenticates the caller and applies the method's access level; throws the refusal. */
async function admit(ctx: ServerCall, env: HandlerEnv): Promise<void> {
  if (env.authenticate) ctx.caller = await env.authenticate(ctx.metadata);
  const denied = accessDenial(ctx.access, ctx.caller);
  if (denied) throw denied;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Partial<Promise<T>> | undefined)?.then === "function";
}

export function unaryHandler(method: DescMethod, impl: UnaryFn, env: HandlerEnv): handleUnaryCall<Message, unknown> {
  const info = methodInfo(method, env);
  const { authenticate, validate } = env;
  const fail = (ctx: ServerCall, callback: sendUnaryData<unknown>, err: unknown): void => {
    const status = ctx.fail(err);
    if (status) callback(status);
  };
  // The rest of the pipeline once the caller is known; runs in the call's context.
  const serve = (ctx: ServerCall, request: Message, callback: sendUnaryData<unknown>, caller: Caller | undefined): void => {
    let response: Promise<unknown>;
    try {
      ctx.caller = caller;
      const denied = accessDenial(info.access, caller);
      if (denied) throw denied;
      validate(info.input, request);
      response = impl(request, ctx);
    } catch (err) {
      fail(ctx, callback, err);
      return;
    }
    response.then(
      (res) => {
        if (ctx.succeed()) callback(null, res);
      },
      (err: unknown) => fail(ctx, callback, err),
    );
  };
  const start = (ctx: ServerCall, request: Message, callback: sendUnaryData<unknown>): void => {
    let caller: Caller | undefined | Promise<Caller | undefined>;
    try {
      caller = authenticate?.(ctx.metadata);
    } catch (err) {
      fail(ctx, callback, err);
      return;
    }
    if (isPromise(caller)) {
      caller.then(
        (c) => serve(ctx, request, callback, c),
        (err: unknown) => fail(ctx, callback, err),
      );
    } else {
      serve(ctx, request, callback, caller);
    }
  };
  return (call, callback) => {
    const ctx = new ServerCall(info, env, call);
    runInCall(ctx.otel, ctx, start, ctx, call.request, callback);
  };
}

export function serverStreamingHandler(method: DescMethod, impl: ServerStreamingFn, env: HandlerEnv): handleServerStreamingCall<Message, unknown> {
  const info = methodInfo(method, env);
  const serve = async (ctx: ServerCall, call: ServerWritableStream<Message, unknown>): Promise<void> => {
    try {
      await admit(ctx, env);
      env.validate(info.input, call.request);
      for await (const item of impl(call.request, ctx)) {
        if (ctx.settled()) return; // cancelled: leaving the loop calls the generator's return()
        // Respect flow control: a slow reader must not make us buffer an unbounded stream.
        if (!call.write(item)) await drained(call, ctx);
      }
      if (ctx.succeed()) call.end();
    } catch (err) {
      const status = ctx.fail(err);
      if (status) call.emit("error", status);
    }
  };
  return (call) => {
    const ctx = new ServerCall(info, env, call);
    void runInCall(ctx.otel, ctx, serve, ctx, call); // serve settles every outcome itself
  };
}

function drained(call: ServerWritableStream<Message, unknown>, ctx: ServerCall): Promise<void> {
  if (ctx.settled()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      ctx.signal.removeEventListener("abort", done);
      resolve();
    };
    call.once("drain", done);
    ctx.signal.addEventListener("abort", done, { once: true });
  });
}
