import assert from "node:assert/strict";
import { Code } from "../../errors.js";
import { exposition } from "../../testing/metrics.js";
import { uniqueName } from "../../testing/names.js";
import {
  clientCallMetrics,
  codeName,
  metricsText,
  recordEventConsumed,
  recordOrderPlaced,
  serverCallMetrics,
  startMetricsServer,
  watchBreaker,
  watchDbPool,
  watchOutbox,
  watchQueue,
  type MetricsServer,
} from "../index.js";

/** The value of one series in this process's registry, or undefined when the series is absent. */
async function sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
  return exposition(await metricsText()).value(name, labels);
}

describe("platform metrics", () => {
  it("names gRPC codes as dashboards select them", () => {
    assert.equal(codeName(Code.NOT_FOUND), "NOT_FOUND");
    assert.equal(codeName(Code.OK), "OK");
    assert.equal(codeName("UNAVAILABLE"), "UNAVAILABLE");
  });

  it("counts a served call once, with its duration and in-flight gauge", async () => {
    const service = uniqueName("svc");
    const labels = { service, method: "ReserveStock" };
    const m = serverCallMetrics(labels);
    assert.equal(serverCallMetrics(labels), m, "one recorder per method, built once");
    const started = m.start();
    assert.equal(await sample("shop_rpc_server_in_flight", labels), 1);
    m.end(Code.FAILED_PRECONDITION, started);
    assert.equal(await sample("shop_rpc_server_in_flight", labels), 0);
    assert.equal(await sample("shop_rpc_server_requests_total", { ...labels, code: "FAILED_PRECONDITION" }), 1);
    assert.equal(await sample("shop_rpc_server_requests_total", { ...labels, code: "OK" }), undefined);
    assert.equal(await sample("shop_rpc_server_duration_seconds_count", { ...labels, code: "FAILED_PRECONDITION" }), 1);
    assert.equal(await sample("shop_rpc_server_duration_seconds_bucket", { ...labels, code: "FAILED_PRECONDITION", le: "+Inf" }), 1);
  });

  it("counts client calls per peer and code", async () => {
    const service = uniqueName("svc");
    const m = clientCallMetrics({ service, peer: "inventory", method: "BatchGetStock" });
    m.call(Code.UNAVAILABLE, 0.2);
    m.call(Code.UNAVAILABLE, 0.3);
    assert.equal(await sample("shop_rpc_client_requests_total", { service, peer: "inventory", code: "UNAVAILABLE" }), 2);
    assert.equal(await sample("shop_rpc_client_duration_seconds_bucket", { service, peer: "inventory", le: "0.25" }), 1);
  });

  it("reads watched state at scrape time and drops it once unwatched", async () => {
    const service = uniqueName("svc");
    let state: "closed" | "open" = "closed";
    const unwatchBreaker = watchBreaker(service, "catalog", () => state);
    const unwatchPool = watchDbPool(service, () => ({ inUse: 3, idle: 2, waiting: 1, max: 10 }));
    const unwatchOutbox = watchOutbox(service, async () => ({ backlog: 7, lagMs: 1500 }));
    const unwatchQueue = watchQueue(service, `${service}.orders`, async () => ({ ready: 4, deadLettered: 2 }));

    assert.equal(await sample("shop_rpc_client_breaker_state", { service, peer: "catalog" }), 0);
    state = "open";
    assert.equal(await sample("shop_rpc_client_breaker_state", { service, peer: "catalog" }), 2);
    assert.equal(await sample("shop_db_pool_in_use", { service }), 3);
    assert.equal(await sample("shop_db_pool_waiting", { service }), 1);
    assert.equal(await sample("shop_db_pool_max", { service }), 10);
    assert.equal(await sample("shop_outbox_backlog", { service }), 7);
    assert.equal(await sample("shop_outbox_lag_seconds", { service }), 1.5);
    assert.equal(await sample("shop_events_queue_depth", { service, queue: `${service}.orders` }), 4);
    assert.equal(await sample("shop_events_dead_letters", { service, queue: `${service}.orders` }), 2);

    for (const unwatch of [unwatchBreaker, unwatchPool, unwatchOutbox, unwatchQueue]) unwatch();
    assert.equal(await sample("shop_rpc_client_breaker_state", { service, peer: "catalog" }), undefined);
    assert.equal(await sample("shop_db_pool_in_use", { service }), undefined);
    assert.equal(await sample("shop_outbox_lag_seconds", { service }), undefined);
    assert.equal(await sample("shop_events_dead_letters", { service, queue: `${service}.orders` }), undefined);
  });

  it("leaves out a source whose read fails, and still answers the scrape", async () => {
    const healthy = uniqueName("svc");
    const broken = uniqueName("svc");
    const unwatchHealthy = watchOutbox(healthy, () => ({ backlog: 1, lagMs: 0 }));
    const unwatchBroken = watchOutbox(broken, () => Promise.reject(new Error("database down")));
    try {
      assert.equal(await sample("shop_outbox_backlog", { service: healthy }), 1);
      assert.equal(await sample("shop_outbox_backlog", { service: broken }), undefined);
    } finally {
      unwatchHealthy();
      unwatchBroken();
    }
  });

  it("measures consumer lag from the producer's commit time, only for handled events", async () => {
    const service = uniqueName("svc");
    const queue = `${service}.q`;
    const now = new Date("2026-01-01T00:00:10Z");
    const event = { service, queue, type: "shop.order.v1.OrderPlaced", occurredAt: new Date("2026-01-01T00:00:07Z") };
    recordEventConsumed(event, "handled", now);
    recordEventConsumed(event, "duplicate", now);
    recordEventConsumed(event, "dead_lettered", now);
    assert.equal(await sample("shop_events_consumed_total", { service, outcome: "handled" }), 1);
    assert.equal(await sample("shop_events_consumed_total", { service, outcome: "dead_lettered" }), 1);
    assert.equal(await sample("shop_events_consumer_lag_seconds_count", { service, queue }), 1);
    assert.equal(await sample("shop_events_consumer_lag_seconds_sum", { service, queue }), 3);
  });

  it("adds captured totals to the revenue in minor units", async () => {
    const currency = uniqueName("X").toUpperCase();
    recordOrderPlaced({ currency, amountMinor: 1999n });
    recordOrderPlaced({ currency, amountMinor: 1n });
    assert.equal(await sample("shop_orders_placed_total", { currency }), 2);
    assert.equal(await sample("shop_revenue_minor_total", { currency }), 2000);
  });

  describe("/metrics endpoint", () => {
    let server: MetricsServer;
    before(async () => {
      server = await startMetricsServer({ port: 0, host: "127.0.0.1" });
    });
    after(() => server.close());

    it("serves the exposition text with process metrics", async () => {
      const service = uniqueName("svc");
      const m = serverCallMetrics({ service, method: "GetCart" });
      m.end(Code.OK, m.start());
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      const body = await res.text();
      assert.match(body, new RegExp(`shop_rpc_server_requests_total\\{service="${service}",method="GetCart",code="OK"\\} 1`));
      assert.match(body, /^process_cpu_seconds_total /m);
      assert.match(body, /^# TYPE shop_rpc_server_duration_seconds histogram$/m);
    });

    it("answers 404 elsewhere and 405 for writes", async () => {
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: "POST" })).status, 405);
    });
  });
});
