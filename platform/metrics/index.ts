// The metrics platform: the metric objects (registry.ts), how code records into them
// (record.ts), scrape-time readers of existing state (watch.ts), and the /metrics endpoint.
export * from "./registry.js";
export {
  checkoutStepNames,
  clientCallMetrics,
  codeName,
  consumeOutcomes,
  recordEventConsumed,
  recordHttpRequest,
  recordOrderFailed,
  recordOrderPlaced,
  recordCheckoutStep,
  recordOutboxPublished,
  serverCallMetrics,
  type CheckoutStep,
  type ClientCallMetrics,
  type ClientRpcLabels,
  type ConsumedEvent,
  type ConsumeOutcome,
  type RpcLabels,
  type ServerCallMetrics,
} from "./record.js";
export { watchBreaker, watchDbPool, watchOutbox, watchQueue, type DbPoolStats, type OutboxReading, type QueueReading } from "./watch.js";
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from "./metrics-server.js";
export { defaultMetricsPort, metricsConfig } from "./config.js";
