// Every metric the shop exports, in one Prometheus registry per process (prom-client).
//
// Metric names and labels are a contract with the Grafana dashboards in charts/shop/dashboards/
// (test/deploy checks that every series a dashboard queries is defined here), so they are
// declared in this one file and nowhere else. Code records through the small functions in
// record.ts (the per-call RPC series through call-series.ts, which is cheaper than prom-client's
// own counters on that path); reading state that already lives elsewhere (a pool's counts, a breaker's state, an
// outbox's backlog) is done at scrape time by the watchers in watch.ts, so nothing polls.
//
// Every series carries `service`: in the single-process mode all services share one registry
// and one /metrics endpoint.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { callSeriesFamily } from "./call-series.js";
import { readAll, sources, type Source } from "./watch.js";

export const registry = new Registry();

// process_cpu_seconds_total, process_resident_memory_bytes, nodejs_eventloop_lag_p99_seconds,
// nodejs_heap_size_used_bytes...: the saturation panels read these.
collectDefaultMetrics({ register: registry });

/** Seconds; from a cache hit (0.5 ms) to the longest deadline the shop allows (10 s). */
const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Calls served: `shop_rpc_server_requests_total` and `shop_rpc_server_duration_seconds`, by final status code. */
export const rpcServerCalls = callSeriesFamily({
  requests: { name: "shop_rpc_server_requests_total", help: "gRPC calls served, by final status code (OK, NOT_FOUND, UNAVAILABLE...)" },
  duration: { name: "shop_rpc_server_duration_seconds", help: "time from receiving a gRPC call to sending its status" },
  labelNames: ["service", "method", "code"] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

/**
 * Calls being served right now per method, kept as plain numbers by record.ts (a gauge's inc and
 * dec would hash the label set twice per call) and copied into the gauge at scrape time.
 */
export const serverInFlight = new Map<string, { readonly labels: { service: string; method: string }; value: number }>();

export const rpcServerInFlight: Gauge<"service" | "method"> = new Gauge({
  name: "shop_rpc_server_in_flight",
  help: "gRPC calls being served right now",
  labelNames: ["service", "method"] as const,
  registers: [registry],
  collect: () => {
    for (const c of serverInFlight.values()) rpcServerInFlight.set(c.labels, c.value);
  },
});

/** Outgoing calls: `shop_rpc_client_requests_total` and `shop_rpc_client_duration_seconds`, one per call after its retries. */
export const rpcClientCalls = callSeriesFamily({
  requests: { name: "shop_rpc_client_requests_total", help: "outgoing gRPC calls to a peer, by final status code after retries" },
  duration: { name: "shop_rpc_client_duration_seconds", help: "time an outgoing gRPC call took, retries included" },
  labelNames: ["service", "peer", "method", "code"] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const rpcClientRetries = new Counter({
  name: "shop_rpc_client_retries_total",
  help: "retry attempts of outgoing calls (only UNAVAILABLE on idempotent methods is retried)",
  labelNames: ["service", "peer", "method"] as const,
  registers: [registry],
});

/** 0 closed, 1 half-open, 2 open, 3 isolated: the dashboards map these numbers to words. */
export const breakerStateValue = { closed: 0, "half-open": 1, open: 2, isolated: 3 } as const;

export const rpcClientBreakerState: Gauge<"service" | "peer"> = new Gauge({
  name: "shop_rpc_client_breaker_state",
  help: "circuit breaker per peer: 0 closed, 1 half-open, 2 open (calls fail fast), 3 isolated",
  labelNames: ["service", "peer"] as const,
  registers: [registry],
  collect: () => fill(rpcClientBreakerState, sources.breakers, (v) => breakerStateValue[v]),
});

export const httpServerRequests = new Counter({
  name: "shop_http_server_requests_total",
  help: "HTTP requests answered by the gateway, by procedure and HTTP status",
  labelNames: ["service", "procedure", "status"] as const,
  registers: [registry],
});

export const httpServerDuration = new Histogram({
  name: "shop_http_server_duration_seconds",
  help: "time the gateway took to answer an HTTP request",
  labelNames: ["service", "procedure", "status"] as const,
  buckets: latencyBuckets,
  registers: [registry],
});

export const outboxBacklog: Gauge<"service"> = new Gauge({
  name: "shop_outbox_backlog",
  help: "events committed to the outbox and not yet confirmed by the broker",
  labelNames: ["service"] as const,
  registers: [registry],
  collect: () => fill(outboxBacklog, sources.outboxes, (v) => v.backlog),
});

export const outboxLag: Gauge<"service"> = new Gauge({
  name: "shop_outbox_lag_seconds",
  help: "age of the oldest unpublished outbox event (0 when the outbox is empty)",
  labelNames: ["service"] as const,
  registers: [registry],
  collect: () => fill(outboxLag, sources.outboxes, (v) => v.lagMs / 1000),
});

export const outboxPublished = new Counter({
  name: "shop_outbox_published_total",
  help: "outbox events published and confirmed by the broker",
  labelNames: ["service"] as const,
  registers: [registry],
});

export const eventsConsumed = new Counter({
  name: "shop_events_consumed_total",
  help: "event deliveries by outcome: handled, duplicate (inbox), failed (handed back for a retry), dead_lettered (poison, or its last allowed delivery failed)",
  labelNames: ["service", "queue", "type", "outcome"] as const,
  registers: [registry],
});

export const eventsConsumerLag = new Histogram({
  name: "shop_events_consumer_lag_seconds",
  help: "time from an event's commit in the producer to its handling by this consumer",
  labelNames: ["service", "queue"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});

export const queueDepth: Gauge<"service" | "queue"> = new Gauge({
  name: "shop_events_queue_depth",
  help: "messages ready in a consumer's queue",
  labelNames: ["service", "queue"] as const,
  registers: [registry],
  collect: () => fill(queueDepth, sources.queues, (v) => v.ready),
});

export const deadLetterDepth: Gauge<"service" | "queue"> = new Gauge({
  name: "shop_events_dead_letters",
  help: "messages waiting in a consumer's dead-letter queue (<queue>.dlq) for an operator",
  labelNames: ["service", "queue"] as const,
  registers: [registry],
  collect: () => fill(deadLetterDepth, sources.queues, (v) => v.deadLettered),
});

export const dbPoolInUse: Gauge<"service"> = new Gauge({
  name: "shop_db_pool_in_use",
  help: "pool connections checked out by queries or transactions",
  labelNames: ["service"] as const,
  registers: [registry],
  collect: () => fill(dbPoolInUse, sources.dbPools, (v) => v.inUse),
});

export const dbPoolIdle: Gauge<"service"> = new Gauge({
  name: "shop_db_pool_idle",
  help: "open pool connections waiting for work",
  labelNames: ["service"] as const,
  registers: [registry],
  collect: () => fill(dbPoolIdle, sources.dbPools, (v) => v.idle),
});

export const dbPoolWaiting: Gauge<"service"> = new Gauge({
  name: "shop_db_pool_waiting",
  help: "queries queued for a connection (the pool is exhausted while this is above 0)",
  labelNames: ["service"] as const,
  registers: [registry],
  collect: () => fill(dbPoolWaiting, sources.dbPools, (v) => v.waiting),
});

export const dbPoolMax: Gauge<"service"> = new Gauge({
  name: "shop_db_pool_max",
  help: "the pool's size limit (DATABASE_POOL_MAX)",
  labelNames: ["service"] as const,
  registers: [registry],
  collect: () => fill(dbPoolMax, sources.dbPools, (v) => v.max),
});

export const ordersPlaced = new Counter({
  name: "shop_orders_placed_total",
  help: "orders confirmed (payment captured, stock committed)",
  labelNames: ["currency"] as const,
  registers: [registry],
});

export const ordersFailed = new Counter({
  name: "shop_orders_failed_total",
  help: "checkouts that ended without an order, by reason (out_of_stock, payment_declined, ...)",
  labelNames: ["reason"] as const,
  registers: [registry],
});

export const revenueMinor = new Counter({
  name: "shop_revenue_minor_total",
  help: "captured order totals in minor units (cents) per currency",
  labelNames: ["currency"] as const,
  registers: [registry],
});

export const checkoutSteps = new Counter({
  name: "shop_checkout_steps_total",
  help: "checkout saga steps by outcome: the funnel from priced to confirmed, and compensations",
  labelNames: ["step", "outcome"] as const,
  registers: [registry],
});

/**
 * A watched gauge's collect hook: this scrape's readings, and nothing else (a source that was
 * unwatched, or whose read failed, has no series).
 */
async function fill<L extends Record<string, string>, T>(gauge: Gauge<Extract<keyof L, string>>, map: Map<string, Source<L, T>>, value: (v: T) => number): Promise<void> {
  const readings = await readAll(map);
  gauge.reset();
  for (const r of readings) if (r.value !== undefined) gauge.set(r.labels, value(r.value));
}

/** The Prometheus text exposition of everything above. */
export function metricsText(): Promise<string> {
  return registry.metrics();
}
