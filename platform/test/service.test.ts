import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import amqp from "amqplib";
import { SpanKind } from "@opentelemetry/api";
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import { ProductCreatedSchema } from "../../gen/shop/catalog/v1/events_pb.js";
import { Code, type ShopError } from "../errors.js";
import { createClient } from "../grpc/index.js";
import { startService, type RunningService } from "../service.js";
import { healthStatus as healthAt } from "../testing/health.js";
import { scrape, type Exposition } from "../testing/metrics.js";
import { memorySpans } from "../testing/memory-spans.js";
import { uniqueName } from "../testing/names.js";
import { createTestDatabase, type TestDatabase } from "../testing/pg.js";
import { waitFor } from "../testing/wait-for.js";
import { createDb } from "../db/db.js";
import { startMetricsServer } from "../metrics/index.js";
import { fixtureService } from "./fixtures/fixture-service.js";

const AMQP_URL = process.env["TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";
const spans = memorySpans();

async function deleteExchangeAndQueues(exchange: string): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  for (const q of [`${exchange}.fixture.product-feed`, `${exchange}.fixture.product-feed.dlq`]) await ch.deleteQueue(q);
  await ch.deleteExchange(exchange);
  await ch.deleteExchange(`${exchange}.dlx`);
  await conn.close();
}

const healthStatus = (port: number, service = "") => healthAt(`127.0.0.1:${port}`, service);

describe("service bootstrap (real PostgreSQL and RabbitMQ)", () => {
  let tdb: TestDatabase;
  let exchange: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    tdb = await createTestDatabase("platform_service");
    exchange = uniqueName("test_service");
    // METRICS_PORT 0: a process of its own must not take the default port another run may hold.
    env = { DATABASE_URL: tdb.url, AMQP_URL, AMQP_EXCHANGE: exchange, GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", LOG_LEVEL: "error", METRICS_PORT: "0" };
  });

  after(async () => {
    await deleteExchangeAndQueues(exchange).catch(() => undefined);
    await tdb.drop();
  });

  describe("in process", () => {
    let svc: RunningService;
    before(async () => {
      svc = await startService(fixtureService, env);
    });
    after(async () => {
      await svc.stop();
    });

    it("migrates, serves gRPC and reports SERVING once PostgreSQL and RabbitMQ are up", async () => {
      await waitFor("SERVING", async () => (await healthStatus(svc.port)) === "SERVING" || undefined);
      assert.equal(await healthStatus(svc.port, "shop.catalog.v1.CatalogService"), "SERVING");
      const db = createDb({ url: tdb.url, schema: "fixture", applicationName: "test" });
      const { rows } = await db.query<{ set_name: string }>("SELECT DISTINCT set_name FROM schema_migrations ORDER BY 1");
      await db.close();
      assert.deepEqual(rows.map((r) => r.set_name), ["fixture", "platform-events"]);
    });

    it("keeps one trace across the client-server hop and the outbox publish-consume hop", async () => {
      spans.reset();
      const client = createClient(CatalogService, { name: "fixture", address: `127.0.0.1:${svc.port}` });
      try {
        const created = await client.createProduct({
          slug: "trace-shirt",
          name: "Trace shirt",
          skus: [{ code: "TRACE-M", price: { amountMinor: 1999n, currencyCode: "EUR" } }],
        });
        const id = created.product!.id;
        const db = createDb({ url: tdb.url, schema: "fixture", applicationName: "test" });
        await waitFor("the consumer to record the event", async () => {
          const { rowCount } = await db.query("SELECT 1 FROM product_feed WHERE product_id = $1", [id]);
          return rowCount === 1 || undefined;
        });
        await db.close();
        const finished = await waitFor("a consumer span", () => {
          const all = spans.getFinishedSpans();
          return all.some((s) => s.kind === SpanKind.CONSUMER) ? all : undefined;
        });
        const clientSpan = finished.find((s) => s.kind === SpanKind.CLIENT && s.name.includes("CreateProduct"));
        const serverSpan = finished.find((s) => s.kind === SpanKind.SERVER && s.name.includes("CreateProduct"));
        const producer = finished.find((s) => s.kind === SpanKind.PRODUCER);
        const consumer = finished.find((s) => s.kind === SpanKind.CONSUMER);
        assert.ok(clientSpan && serverSpan && producer && consumer, `spans: ${finished.map((s) => `${s.kind}:${s.name}`).join(", ")}`);
        const traceId = clientSpan.spanContext().traceId;
        for (const s of [serverSpan, producer, consumer]) assert.equal(s.spanContext().traceId, traceId, `${s.name} is in another trace`);
        assert.equal(serverSpan.parentSpanContext?.spanId, clientSpan.spanContext().spanId);
        // SQL spans of the handler belong to the same trace too.
        assert.ok(finished.some((s) => s.name.startsWith("SQL INSERT") && s.spanContext().traceId === traceId));
      } finally {
        client.close();
      }
    });

    it("answers domain errors with their gRPC code", async () => {
      const client = createClient(CatalogService, { name: "fixture", address: `127.0.0.1:${svc.port}` });
      try {
        await assert.rejects(client.getProduct({ lookup: { case: "slug", value: "no-such-thing" } }), (err: ShopError) => err.code === Code.NOT_FOUND);
      } finally {
        client.close();
      }
    });
  });

  describe("as its own process", () => {
    const main = fileURLToPath(new URL("./fixtures/fixture-main.js", import.meta.url));

    function start(extraEnv: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
      let out = "";
      const child = fork(main, [], { env: { ...process.env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe", "ipc"] });
      child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
      return { child, output: () => out };
    }

    it("refuses to start with a message naming each bad variable", async () => {
      const { child, output } = start({ DATABASE_URL: "", GRPC_PORT: "not-a-port", AMQP_URL: "http://x" });
      const [code] = (await once(child, "exit")) as [number];
      assert.equal(code, 1);
      assert.match(output(), /DATABASE_URL is required/);
      assert.match(output(), /GRPC_PORT is malformed: expected an integer/);
      assert.match(output(), /AMQP_URL is malformed: expected a URL with scheme amqp or amqps/);
    });

    it("drains and exits 0 on SIGTERM", async () => {
      const { child, output } = start({ ...env, LOG_LEVEL: "info" });
      await waitFor("the server to listen", () => /grpc server listening/.test(output()) || undefined);
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number];
      assert.equal(code, 0, output());
      assert.match(output(), /grpc server stopped/);
      assert.match(output(), /"msg":"stopped"/);
    });

    it("serves /metrics on METRICS_PORT, where the outbox, consumer, dead letters and pool show the work done", async () => {
      // A database and exchange of its own, so every count below is this process's work alone.
      const mdb = await createTestDatabase("platform_metrics");
      const mexchange = uniqueName("test_metrics");
      const queue = `${mexchange}.fixture.product-feed`;
      const { child, output } = start({ ...env, DATABASE_URL: mdb.url, AMQP_EXCHANGE: mexchange, LOG_LEVEL: "info", METRICS_PORT: "0" });
      try {
        const logged = (msg: string) =>
          output()
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map((l) => JSON.parse(l) as { msg?: string; port?: number })
            .find((l) => l.msg === msg)?.port;
        const metricsPort = await waitFor("the metrics server", () => logged("metrics server listening"));
        const grpcPort = await waitFor("the gRPC server", () => logged("grpc server listening"));
        const metrics = () => scrape(`http://127.0.0.1:${metricsPort}/metrics`);
        const fixture = { service: "fixture" };
        const consumed = (m: Exposition, outcome: string) => m.value("shop_events_consumed_total", { ...fixture, queue, outcome });

        const idle = await metrics();
        assert.equal(idle.value("shop_db_pool_max", fixture), 10, "DATABASE_POOL_MAX's default");
        assert.ok((idle.value("shop_db_pool_in_use", fixture) ?? -1) >= 0);
        assert.equal(idle.value("shop_outbox_backlog", fixture), 0);
        assert.equal(idle.value("shop_outbox_lag_seconds", fixture), 0);
        assert.equal(idle.value("shop_outbox_published_total", fixture), undefined, "nothing published yet");
        assert.equal(idle.value("shop_events_queue_depth", { ...fixture, queue }), 0);
        assert.equal(idle.value("shop_events_dead_letters", { ...fixture, queue }), 0);
        assert.ok(idle.value("process_cpu_seconds_total") !== undefined);

        const client = createClient(CatalogService, { name: "fixture", address: `127.0.0.1:${grpcPort}` });
        try {
          for (const slug of ["metrics-a", "metrics-b", "metrics-c"]) {
            await client.createProduct({ slug, name: slug, skus: [{ code: slug.toUpperCase(), price: { amountMinor: 100n, currencyCode: "EUR" } }] });
          }
        } finally {
          client.close();
        }
        const worked = await waitFor("three events handled", async () => {
          const m = await metrics();
          return consumed(m, "handled") === 3 ? m : undefined;
        });
        assert.equal(worked.value("shop_outbox_published_total", fixture), 3, "one publish per event, confirmed once");
        assert.equal(worked.value("shop_events_consumer_lag_seconds_count", { ...fixture, queue }), 3);
        assert.equal(worked.value("shop_outbox_backlog", fixture), 0);
        assert.equal(consumed(worked, "duplicate"), undefined);

        // A message that is not one of our events (no message id): dead-lettered at once.
        const conn = await amqp.connect(AMQP_URL);
        const ch = await conn.createConfirmChannel();
        ch.publish(mexchange, ProductCreatedSchema.typeName, Buffer.from([0xff]), { type: ProductCreatedSchema.typeName, persistent: true });
        await ch.waitForConfirms();
        await conn.close();
        const poisoned = await waitFor("the poison message in the DLQ", async () => {
          const m = await metrics();
          return m.value("shop_events_dead_letters", { ...fixture, queue }) === 1 ? m : undefined;
        });
        assert.equal(consumed(poisoned, "dead_lettered"), 1);
        assert.equal(poisoned.value("shop_events_consumed_total", { ...fixture, queue, type: ProductCreatedSchema.typeName, outcome: "dead_lettered" }), 1);
        assert.equal(consumed(poisoned, "handled"), 3);
        assert.equal(poisoned.value("shop_events_queue_depth", { ...fixture, queue }), 0);

        child.kill("SIGTERM");
        const [code] = (await once(child, "exit")) as [number];
        assert.equal(code, 0, output());
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
        await deleteExchangeAndQueues(mexchange).catch(() => undefined);
        await mdb.drop();
      }
    });

    it("refuses to start when METRICS_PORT is taken, naming it", async () => {
      const taken = await startMetricsServer({ port: 0, host: "127.0.0.1" });
      try {
        const { child, output } = start({ ...env, METRICS_PORT: String(taken.port) });
        const [code] = (await once(child, "exit")) as [number];
        assert.equal(code, 1);
        assert.match(output(), new RegExp(`METRICS_PORT ${taken.port}: listen EADDRINUSE`));
      } finally {
        await taken.close();
      }
    });

    it("applies migrations and exits with `migrate`", async () => {
      const fresh = await createTestDatabase("platform_migrate");
      try {
        let out = "";
        const child = fork(main, ["migrate"], { env: { ...process.env, DATABASE_URL: fresh.url }, stdio: ["ignore", "pipe", "pipe", "ipc"] });
        child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
        const [code] = (await once(child, "exit")) as [number];
        assert.equal(code, 0);
        const report = JSON.parse(out.trim()) as { applied: string[] };
        assert.deepEqual(report.applied, ["platform-events/1_outbox_inbox", "fixture/1_products"]);
      } finally {
        await fresh.drop();
      }
    });
  });
});
