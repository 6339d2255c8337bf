// The one start-up path of every service. A service's main.ts is a few lines:
//
//   await runServiceMain({
//     name: "catalog", defaultPort: 50052,
//     config: { SEARCH_LIMIT: int({ doc: "...", default: 50 }) },
//     migrations: sourcePath("services", "catalog", "migrations"),
//     setup: ({ db, server, config }) => { server.add(CatalogService, createCatalogService({ store: createCatalogStore(db) })); },
//   });
//
// and gets: typed config (base settings below plus its own), telemetry, JSON logs, its pool and
// schema, migrations, the event bus (RabbitMQ, or in-process when AMQP_URL is unset), the outbox
// relay, a gRPC server with health and reflection, and graceful shutdown on SIGTERM/SIGINT in
// reverse order of start-up. `node main.js migrate` applies migrations and exits.
//
// A service on another store than PostgreSQL (reviews, on MongoDB) declares `storage: "own"`:
// the platform then opens no pool and runs no migrations or outbox relay of its own; the
// module's setup opens its store, returns its readiness checks, and runs the same outbox relay
// over its store's outbox (platform/mongo).
//
// Metrics: startService registers the service's watched state (pool, outbox) with the process's
// one registry (platform/metrics); the /metrics endpoint belongs to the process, so
// runServiceMain serves it on METRICS_PORT, and a host running several services (services/shop.ts)
// serves one for all of them.
import type { Authenticate } from "./grpc/call-context.js";
import { bool, ConfigError, describeConfig, duration, loadConfig, oneOf, optional, port, str, url, type ConfigOf, type Setting } from "./config.js";
import { createDb, type Db } from "./db/db.js";
import { migrate, type MigrationSet } from "./db/migrate.js";
import { connectAmqpEventBus, createMemoryEventBus, createOutboxRelay, eventsMigrationSet, type EventBus } from "./events/index.js";
import { createGrpcServer, type GrpcServer } from "./grpc/index.js";
import type { ReadinessCheck } from "./grpc/readiness.js";
import { bearerAuthenticate } from "./auth/bearer-authenticate.js";
import { createUsersJwksVerifier } from "./auth/users-jwks.js";
import { createLogger, type Logger } from "./logger.js";
import { metricsConfig, startMetricsServer, watchDbPool, watchOutbox } from "./metrics/index.js";
import { initTelemetry } from "./telemetry.js";

/** Settings every service reads; a service adds its own next to them. */
export const baseConfig = {
  GRPC_HOST: str({ doc: "interface the gRPC server binds", default: "0.0.0.0" }),
  DATABASE_URL: optional(url({ doc: "the service's PostgreSQL database (unset only in the single-process mode)", protocols: ["postgres", "postgresql"], secret: true })),
  DATABASE_SCHEMA: optional(str({ doc: "schema holding the service's tables (default: the service name)" })),
  DATABASE_POOL_MAX: port({ doc: "connections in the service's pool", default: 10 }),
  AMQP_URL: optional(url({ doc: "RabbitMQ; unset means an in-process bus (single-process mode only)", protocols: ["amqp", "amqps"], secret: true })),
  AMQP_EXCHANGE: str({ doc: "topic exchange all events go through", default: "shop.events" }),
  LOG_LEVEL: oneOf(["debug", "info", "warn", "error"] as const, { doc: "lowest level logged", default: "info" }),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(url({ doc: "OTLP/HTTP collector, e.g. http://jaeger:4318; unset: spans not exported" })),
  AUTH_ISSUER: str({ doc: "`iss` of access tokens (the users service's issuer)", default: "shop-users" }),
  AUTH_AUDIENCE: str({ doc: "`aud` access tokens must carry", default: "shop" }),
  USERS_ADDR: str({ doc: "users service gRPC address, source of the JWKS that verifies access tokens", default: "127.0.0.1:50051" }),
  SHUTDOWN_GRACE: duration({ doc: "time in-flight calls get to finish on SIGTERM", default: 10_000 }),
  MIGRATE_ON_START: bool({ doc: "apply pending migrations at start-up", default: true }),
  GRPC_TLS_CERT: optional(str({ doc: "server certificate file; with GRPC_TLS_KEY turns on TLS outside the mesh" })),
  GRPC_TLS_KEY: optional(str({ doc: "server private key file", secret: true })),
  GRPC_TLS_CLIENT_CA: optional(str({ doc: "CA file for client certificates; turns on mTLS" })),
  ...metricsConfig,
};

type Spec = Record<string, Setting<unknown>>;
export type BaseConfig = ConfigOf<typeof baseConfig> & { readonly GRPC_PORT: number };
export type ServiceConfig<S extends Spec> = BaseConfig & ConfigOf<S>;

/**
 * Where a service keeps its data: `postgres` (the default), opened, migrated and relayed by the
 * platform; or `own`, a store the module's setup opens itself (the platform's pieces for it are
 * in platform/mongo).
 */
export type Storage = "postgres" | "own";

export interface ServiceParts<S extends Spec, St extends Storage = "postgres"> {
  readonly name: string;
  readonly config: ServiceConfig<S>;
  readonly log: Logger;
  /** The service's PostgreSQL; undefined for `storage: "own"`. */
  readonly db: St extends "postgres" ? Db : undefined;
  readonly bus: EventBus;
  readonly server: GrpcServer;
  /** Runs at shutdown after the server drained, before the bus and pool close (reverse order). */
  readonly onStop: (fn: () => Promise<void> | void) => void;
  /**
   * Runs as shutdown starts, once the server accepts no new calls: ends long-lived streams, so
   * draining the calls in flight does not wait out SHUTDOWN_GRACE.
   */
  readonly onDrain: (fn: () => void) => void;
}

export interface ServiceModule<S extends Spec = Spec, St extends Storage = "postgres"> {
  /** Short name: schema, log `service` field, queue prefix, `<NAME>_...` nowhere: config is per process. */
  readonly name: string;
  readonly defaultPort: number;
  readonly config?: S;
  /** `postgres` when absent. */
  readonly storage?: St;
  /** The service's SQL migrations folder. */
  readonly migrations?: string;
  /**
   * For the single-process shop: why this service cannot run with `env` (it needs a server
   * that has no embedded stand-in and whose URL is unset), or undefined when it can. The shop
   * then starts without it, says so, and the gateway answers its RPCs UNAVAILABLE.
   */
  offReason?(env: NodeJS.ProcessEnv): string | undefined;
  /** Registers services on the server, subscribes consumers; may return an authenticate hook. */
  setup(parts: ServiceParts<S, St>): Promise<void | SetupResult> | void | SetupResult;
}

/** Any module, whatever its settings and storage: what lists of modules hold. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- settings are checked where each module is defined
export type AnyServiceModule = ServiceModule<any, Storage>;

export interface SetupResult {
  readonly authenticate?: Authenticate;
  /** Readiness checks besides the platform's (a store the module opened itself). */
  readonly readiness?: readonly ReadinessCheck[];
}

export interface RunningService {
  readonly name: string;
  readonly port: number;
  readonly config: BaseConfig;
  readonly log: Logger;
  stop(): Promise<void>;
}

/** Parts a host process may share between services (the single-process mode shares these). */
export interface SharedParts {
  readonly bus?: EventBus;
  /** The database for a schema, instead of a pool on DATABASE_URL (embedded PostgreSQL). */
  readonly db?: (schema: string) => Db;
}

const databaseUrl = url({ doc: "the service's PostgreSQL database", protocols: ["postgres", "postgresql"], secret: true });

/** The service's settings; DATABASE_URL is required unless the host process supplies the database. */
export function configSpec<S extends Spec, St extends Storage>(mod: ServiceModule<S, St>, shared: SharedParts = {}) {
  return {
    ...baseConfig,
    ...(shared.db || !usesPostgres(mod) ? {} : { DATABASE_URL: databaseUrl }),
    GRPC_PORT: port({ doc: "gRPC listen port", default: mod.defaultPort }),
    ...(mod.config ?? ({} as S)),
  };
}

function usesPostgres(mod: { readonly storage?: Storage }): boolean {
  return (mod.storage ?? "postgres") === "postgres";
}

function migrationSets(mod: AnyServiceModule): MigrationSet[] {
  return [eventsMigrationSet, ...(mod.migrations ? [{ name: mod.name, dir: mod.migrations }] : [])];
}

function openDb(name: string, config: BaseConfig, shared: SharedParts = {}): Db {
  const schema = config.DATABASE_SCHEMA ?? name;
  if (shared.db) return shared.db(schema);
  if (!config.DATABASE_URL) throw new ConfigError([`DATABASE_URL is required (${databaseUrl.doc})`]);
  return createDb({
    url: config.DATABASE_URL,
    schema,
    max: config.DATABASE_POOL_MAX,
    applicationName: name,
  });
}

export async function startService<S extends Spec, St extends Storage = "postgres">(
  mod: ServiceModule<S, St>,
  env: NodeJS.ProcessEnv = process.env,
  shared: SharedParts = {},
): Promise<RunningService> {
  const spec = configSpec(mod, shared);
  const config = loadConfig(spec, env) as unknown as ServiceConfig<S>;
  const base: BaseConfig = config;
  initTelemetry({ serviceName: mod.name, otlpEndpoint: base.OTEL_EXPORTER_OTLP_ENDPOINT });
  const log = createLogger({ service: mod.name, level: base.LOG_LEVEL });
  log.info("starting", { config: describeConfig(spec, config) });

  const stops: (() => Promise<void> | void)[] = [];
  const drains: (() => void)[] = [];
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
    let db: Db | undefined;
    if (usesPostgres(mod)) {
      const pool = openDb(mod.name, base, shared);
      db = pool;
      stops.push(() => pool.close());
      stops.push(
        watchDbPool(mod.name, () => {
          const p = pool.stats();
          return { inUse: p.total - p.idle, idle: p.idle, waiting: p.waiting, max: p.max };
        }),
      );
      if (base.MIGRATE_ON_START) {
        const applied = await migrate(pool, migrationSets(mod));
        if (applied.length > 0) log.info("migrations applied", { applied });
      }
    }

    let bus = shared.bus;
    if (!bus) {
      if (base.AMQP_URL) {
        bus = await connectAmqpEventBus({ url: base.AMQP_URL, exchange: base.AMQP_EXCHANGE, appId: mod.name, logger: log });
      } else {
        log.warn("AMQP_URL is unset: events stay inside this process");
        bus = createMemoryEventBus({ logger: log });
      }
      const owned = bus;
      stops.push(() => owned.close());
    }
    if (db) {
      const relay = createOutboxRelay({ db, publisher: bus, logger: log, service: mod.name });
      await relay.start();
      stops.push(() => relay.stop());
      stops.push(watchOutbox(mod.name, () => relay.stats()));
    }

    const eventBus = bus;
    // Subscriptions end with the service even when the bus is shared and outlives it.
    const serviceBus: EventBus = {
      ...bus,
      subscribe: async (opts) => {
        const sub = await eventBus.subscribe({ ...opts, service: mod.name });
        stops.push(() => sub.close());
        return sub;
      },
    };
    const pg = db;
    const readiness: ReadinessCheck[] = [
      ...(pg ? [{ name: "postgres", check: () => pg.ping() }] : []),
      { name: "events", check: async () => eventBus.isReady() },
    ];
    // The server is created after setup so setup can supply the authenticate hook; setup
    // registers services through a small recorder that replays onto the real server.
    const pending: ((s: GrpcServer) => void)[] = [];
    const recorder: GrpcServer = {
      add: (service, impl) => void pending.push((s) => s.add(service, impl)),
      listen: () => Promise.reject(new Error("the service host calls listen")),
      checkReadiness: () => Promise.resolve(false),
      shutdown: () => Promise.resolve(),
    };
    const parts = { name: mod.name, config, log, db, bus: serviceBus, server: recorder, onStop: (fn: () => Promise<void> | void) => void stops.push(fn), onDrain: (fn: () => void) => void drains.push(fn) };
    const result = await mod.setup(parts as ServiceParts<S, St>);
    readiness.push(...(result?.readiness ?? []));

    const tls = base.GRPC_TLS_CERT && base.GRPC_TLS_KEY
      ? { certFile: base.GRPC_TLS_CERT, keyFile: base.GRPC_TLS_KEY, ...(base.GRPC_TLS_CLIENT_CA ? { caFile: base.GRPC_TLS_CLIENT_CA } : {}) }
      : undefined;
    const authenticate = result?.authenticate ?? usersJwksAuthenticate(mod.name, base, stops);
    const server = createGrpcServer({
      service: mod.name,
      log,
      readiness,
      authenticate,
      ...(tls ? { tls } : {}),
    });
    for (const add of pending) add(server);
    const boundPort = await server.listen(`${base.GRPC_HOST}:${base.GRPC_PORT}`);
    stops.push(async () => {
      const drained = server.shutdown(base.SHUTDOWN_GRACE); // stops accepting at once
      for (const fn of drains) fn();
      await drained;
    });

    let stopping: Promise<void> | undefined;
    return {
      name: mod.name,
      port: boundPort,
      config: base,
      log,
      stop: () => (stopping ??= stopAll().then(() => log.info("stopped"))),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Every service verifies the caller's access token itself (no trust by network position),
 * against the users service's JWKS, fetched over gRPC and cached (see auth/jwt-verifier.ts).
 */
function usersJwksAuthenticate(service: string, base: BaseConfig, stops: (() => Promise<void> | void)[]): Authenticate {
  const verifier = createUsersJwksVerifier({ service, address: base.USERS_ADDR, issuer: base.AUTH_ISSUER, audience: base.AUTH_AUDIENCE });
  stops.push(() => verifier.close());
  return bearerAuthenticate(verifier);
}

/** `node main.js [migrate]`: runs the service until SIGTERM/SIGINT, or applies migrations and exits. */
export async function runServiceMain<S extends Spec, St extends Storage = "postgres">(mod: ServiceModule<S, St>): Promise<void> {
  try {
    if (process.argv[2] === "migrate" && !usesPostgres(mod)) {
      // Nothing to migrate: a service on its own store prepares it (indexes) at start-up.
      process.stdout.write(JSON.stringify({ service: mod.name, applied: [] }) + "\n");
      return;
    }
    if (process.argv[2] === "migrate") {
      const config = loadConfig(configSpec(mod)) as unknown as BaseConfig;
      const db = openDb(mod.name, config);
      try {
        const applied = await migrate(db, migrationSets(mod));
        process.stdout.write(JSON.stringify({ service: mod.name, applied }) + "\n");
      } finally {
        await db.close();
      }
      return;
    }
    // The handlers come first: a SIGTERM while the service is still starting waits for the
    // start to finish, then drains, instead of killing the process half-started.
    const started = (async () => {
      const running = await startService(mod);
      try {
        return { running, metrics: await startMetricsServer({ port: running.config.METRICS_PORT, host: running.config.GRPC_HOST, log: running.log }) };
      } catch (err) {
        await running.stop();
        throw err;
      }
    })();
    const onSignal = (signal: string) => {
      process.stdout.write(JSON.stringify({ service: mod.name, msg: "shutting down", signal }) + "\n");
      // The endpoint goes last: Prometheus still sees the drain.
      void started
        .then(({ running, metrics }) => running.stop().then(() => metrics.close()))
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    await started;
  } catch (err) {
    // Config errors name the variables; anything else is shown by message only (no secrets in
    // our messages: config never echoes values).
    process.stderr.write(`${mod.name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
