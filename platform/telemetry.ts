// OpenTelemetry, wired once per process. Code everywhere else uses only @opentelemetry/api.
//
// - W3C trace context is the propagation format on every hop: gRPC metadata, HTTP headers and
//   AMQP message headers all carry `traceparent`/`tracestate` (see inject/extract below).
// - With OTEL_EXPORTER_OTLP_ENDPOINT set, spans are batched to the collector (Jaeger speaks OTLP).
//   Without it, spans are not recorded, but ids are still generated and propagated, so log lines
//   of one request share a trace id across processes at almost no cost.
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  ROOT_CONTEXT,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  NodeTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /** OTLP/HTTP endpoint base, e.g. http://jaeger:4318; unset means spans are not exported. */
  otlpEndpoint?: string | undefined;
  /** Fraction of new traces to record when exporting (parent decisions are always honoured). */
  sampleRatio?: number;
  /** Extra processors, e.g. an in-memory exporter in tests; spans are then always recorded. */
  spanProcessors?: SpanProcessor[];
}

export interface Telemetry {
  readonly recording: boolean;
  shutdown(): Promise<void>;
}

let installed: Telemetry | undefined;

/** Installs the SDK as the global tracer provider. Later calls return the first installation. */
export function initTelemetry(opts: TelemetryOptions): Telemetry {
  if (installed) return installed;
  const processors: SpanProcessor[] = [...(opts.spanProcessors ?? [])];
  if (opts.otlpEndpoint) {
    const url = new URL("/v1/traces", opts.otlpEndpoint).toString();
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  const recording = processors.length > 0;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.serviceName,
      ...(opts.serviceVersion ? { [ATTR_SERVICE_VERSION]: opts.serviceVersion } : {}),
    }),
    sampler: new ParentBasedSampler({
      root: recording ? new TraceIdRatioBasedSampler(opts.sampleRatio ?? 1) : new AlwaysOffSampler(),
    }),
    spanProcessors: processors,
  });
  provider.register(); // AsyncLocalStorage context manager + W3C trace context and baggage propagators
  installed = { recording, shutdown: () => provider.shutdown() };
  return installed;
}

export function getTracer(name: string): Tracer {
  return trace.getTracer(name);
}

/** Writes the active context's `traceparent`/`tracestate` into a carrier of string headers. */
export function injectContext(carrier: Record<string, unknown>, ctx: Context = context.active()): void {
  propagation.inject(ctx, carrier, recordSetter);
}

/** The context a remote caller sent in its headers (or the root context when none). */
export function extractContext(carrier: Record<string, unknown> | undefined, base: Context = context.active()): Context {
  return carrier ? propagation.extract(base, carrier, recordGetter) : base;
}

// gRPC hops carry W3C trace context and nothing else (the shop uses no baggage), and they are
// the hottest path in the shop, so the gRPC server and client go to the W3C propagator
// directly instead of through the global composite one (which would also look for baggage).
const w3c = new W3CTraceContextPropagator();

/** The remote parent in `carrier`'s `traceparent`/`tracestate` (the root context when none). */
export function extractTraceContext<C>(carrier: C, getter: TextMapGetter<C>): Context {
  return w3c.extract(ROOT_CONTEXT, carrier, getter);
}

/** Writes `ctx`'s span as `traceparent`/`tracestate` into `carrier`. */
export function injectTraceContext<C>(ctx: Context, carrier: C, setter: TextMapSetter<C>): void {
  w3c.inject(ctx, carrier, setter);
}

const recordSetter: TextMapSetter<Record<string, unknown>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const recordGetter: TextMapGetter<Record<string, unknown>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    if (typeof v === "string") return v;
    if (Buffer.isBuffer(v)) return v.toString("utf8");
    if (Array.isArray(v) && typeof v[0] === "string") return v[0];
    return undefined;
  },
};

/**
 * Runs `fn` inside a new active span; a thrown error marks the span failed and is rethrown.
 * `onError` lets the caller classify errors (e.g. NOT_FOUND is not a server fault).
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  opts: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes ?? {} }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

export function recordError(span: Span, err: unknown): void {
  if (!span.isRecording()) return;
  const message = err instanceof Error ? err.message : String(err);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
  span.recordException(err instanceof Error ? { name: err.name, message } : message);
}

export { SpanKind, SpanStatusCode, context, trace };
