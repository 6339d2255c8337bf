// The whole shop in one process: every service in services/modules.ts on its own gRPC port
// (so every hop is still a real RPC) plus the gateway. This is `npm start`, and the "modular
// monolith" way to deploy.
//
// With DATABASE_URL unset the services share one embedded PostgreSQL (PGlite) under
// SHOP_DATA_DIR, a schema each; with it set, each service gets its own schema on that server.
// With AMQP_URL unset events go through the in-process bus; with it set, through RabbitMQ.
// The demo catalog is seeded on first run. The process serves one /metrics endpoint
// (METRICS_PORT) for all of them: every series carries its service's name. A service that needs
// a server with no embedded stand-in (reviews: MongoDB) runs only when its URL is set; otherwise
// the shop starts without it, reports why in `off`, and the gateway answers its RPCs UNAVAILABLE
// saying so.
import { join } from "node:path";
import { bool, int, loadConfig, optional, str } from "../platform/config.js";
import { createDb, type Db } from "../platform/db/db.js";
import { openEmbeddedPostgres, type EmbeddedPostgres } from "../platform/db/embedded-postgres.js";
import { createMemoryEventBus, type EventBus } from "../platform/events/index.js";
import { createLogger } from "../platform/logger.js";
import { metricsConfig, startMetricsServer } from "../platform/metrics/index.js";
import { repoRoot } from "../platform/paths.js";
import { startService, type RunningService, type SharedParts } from "../platform/service.js";
import { initTelemetry } from "../platform/telemetry.js";
import { BACKEND_OFF } from "../gateway/backends.js";
import { addressSetting } from "../gateway/config.js";
import { startGateway, type RunningGateway } from "../gateway/start.js";
import { demoSkuCodes, seedDemoCatalog } from "./catalog/seed.js";
import { seedDemoStock } from "./inventory/seed.js";
import { serviceModules } from "./modules.js";

/** Ports are defaults plus an offset, so a second shop (or a test) can run beside the first. */
const FIRST_DEFAULT_PORT = 50051;

export const shopConfig = {
  SHOP_DATA_DIR: str({ doc: "where the embedded PostgreSQL keeps its data (DATABASE_URL unset)", default: join(repoRoot(), ".data", "pglite") }),
  SHOP_IN_MEMORY: bool({ doc: "embedded PostgreSQL in memory only: nothing is kept (tests, demos)", default: false }),
  SHOP_GRPC_BASE_PORT: int({ doc: "gRPC port of the first service; the others follow in their default order", default: FIRST_DEFAULT_PORT, min: 1, max: 65_000 }),
  SHOP_SEED: bool({ doc: "seed the demo catalog when the catalog is empty", default: true }),
  DATABASE_URL: optional(str({ doc: "PostgreSQL for every service (a schema each); unset: embedded", secret: true })),
  AMQP_URL: optional(str({ doc: "RabbitMQ; unset: in-process event bus", secret: true })),
  ...metricsConfig,
};

export interface RunningShop {
  readonly gateway: RunningGateway;
  readonly services: readonly RunningService[];
  /** Services this shop runs without, and why. */
  readonly off: readonly { readonly name: string; readonly reason: string }[];
  /** The process's Prometheus endpoint, `http://127.0.0.1:<METRICS_PORT>/metrics`. */
  readonly metricsUrl: string;
  stop(): Promise<void>;
}

export async function startShop(env: NodeJS.ProcessEnv = process.env): Promise<RunningShop> {
  const config = loadConfig(shopConfig, env);
  // One tracer provider per process: the single-process shop reports as one service.
  initTelemetry({ serviceName: "shop", otlpEndpoint: env["OTEL_EXPORTER_OTLP_ENDPOINT"] });
  const logLevel = env["LOG_LEVEL"] ?? "warn";
  const log = createLogger({ service: "shop", level: logLevel === "debug" ? "debug" : "info" });

  const stops: (() => Promise<void> | void)[] = [];
  const stopAll = async () => {
    for (const fn of stops.reverse()) {
      try {
        await fn();
      } catch (err) {
        log.error("shutdown step failed", { err });
      }
    }
  };
  try {
    // Bound first: a taken port fails the start before anything else is opened. Closed last.
    const metrics = await startMetricsServer({ port: config.METRICS_PORT, host: "127.0.0.1" });
    stops.push(() => metrics.close());
    const shared: { -readonly [K in keyof SharedParts]: SharedParts[K] } = {};
    let embedded: EmbeddedPostgres | undefined;
    if (!config.DATABASE_URL) {
      embedded = await openEmbeddedPostgres(config.SHOP_IN_MEMORY ? undefined : config.SHOP_DATA_DIR);
      const db = embedded;
      stops.push(() => db.close());
      shared.db = (schema) => db.forSchema(schema);
    }
    let bus: EventBus | undefined;
    if (!config.AMQP_URL) {
      bus = createMemoryEventBus({ logger: createLogger({ service: "bus", level: "warn" }) });
      const owned = bus;
      stops.push(() => owned.close());
      shared.bus = owned;
    }

    const portOf = (defaultPort: number) => config.SHOP_GRPC_BASE_PORT + (defaultPort - FIRST_DEFAULT_PORT);
    const off: { name: string; reason: string }[] = [];
    const addresses: Record<string, string> = {};
    for (const mod of serviceModules) {
      const reason = mod.offReason?.(env);
      if (reason) off.push({ name: mod.name, reason });
      addresses[addressSetting(mod.name)] = reason ? BACKEND_OFF : `127.0.0.1:${portOf(mod.defaultPort)}`;
    }
    const common: NodeJS.ProcessEnv = { LOG_LEVEL: logLevel, ...env, ...addresses, GRPC_HOST: "127.0.0.1" };
    delete common["DATABASE_SCHEMA"]; // one per service, never one for all

    const services: RunningService[] = [];
    for (const mod of serviceModules) {
      if (off.some((o) => o.name === mod.name)) continue;
      const svc = await startService(mod, { ...common, GRPC_PORT: String(portOf(mod.defaultPort)) }, shared);
      services.push(svc);
      stops.push(() => svc.stop());
    }
    if (config.SHOP_SEED) await seedDemo(shared.db ? shared.db : (schema) => createDb({ url: config.DATABASE_URL!, schema, applicationName: "shop-seed" }), log);
    const gateway = await startGateway(common);
    stops.push(() => gateway.stop());

    let stopping: Promise<void> | undefined;
    return { gateway, services, off, metricsUrl: `http://127.0.0.1:${metrics.port}/metrics`, stop: () => (stopping ??= stopAll()) };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Units of each demo SKU in stock on first run. */
const DEMO_STOCK_UNITS = 100;

/** The demo catalog and its stock, on first run only (the seeders skip what exists). */
async function seedDemo(dbFor: (schema: string) => Db, log: ReturnType<typeof createLogger>): Promise<void> {
  const catalog = dbFor("catalog");
  const inventory = dbFor("inventory");
  try {
    const seeded = await seedDemoCatalog(catalog);
    const stocked = await seedDemoStock(inventory, demoSkuCodes(), DEMO_STOCK_UNITS);
    if (seeded.products > 0 || stocked > 0) log.info("demo data seeded", { ...seeded, stockedSkus: stocked });
  } finally {
    await catalog.close();
    await inventory.close();
  }
}
