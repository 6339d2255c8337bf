// The shop as separate processes, as containers run it: every service in services/modules.ts
// from its own `dist/services/<name>/main.js`, and the gateway from `dist/gateway/main.js`, on
// free ports, against one fresh PostgreSQL database (a schema per service) and RabbitMQ with an
// vhost of its own (so every queue the services declare goes with it; without rabbitmqctl, an
// exchange of its own on the default vhost). Tests drive it through the gateway's JSON API with `api()`,
// and read each process's Prometheus endpoint (a free METRICS_PORT each) with `metrics()`.
// Reviews runs only when MONGO_URL names a MongoDB replica set (a database of its own per run);
// without it the gateway is told reviews is off (`REVIEWS_ADDR=off`), as `npm start` does.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { once } from "node:events";
import { join } from "node:path";
import amqp from "amqplib";
import { BACKEND_OFF } from "../../gateway/backends.js";
import { addressSetting } from "../../gateway/config.js";
import { repoRoot } from "../../platform/paths.js";
import { scrape, type Exposition } from "../../platform/testing/metrics.js";
import { uniqueName } from "../../platform/testing/names.js";
import { createTestMongoDatabase, mongoTestUrl } from "../../platform/testing/mongo.js";
import { createTestDatabase, type TestDatabase } from "../../platform/testing/pg.js";
import { waitFor } from "../../platform/testing/wait-for.js";
import { serviceModules } from "../../services/modules.js";
import { freePort, freePorts } from "../../platform/testing/ports.js";

export { freePort };

export const AMQP_URL = process.env["TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";
export const ADMIN_EMAIL = "admin@shop.test";

export interface ShopProcesses {
  readonly url: string;
  readonly db: TestDatabase;
  readonly exchange: string;
  /** Services not started (reviews without MONGO_URL). */
  readonly off: readonly string[];
  /** Everything the processes printed, for failure messages. */
  output(name?: string): string;
  /** The process of one service (or "gateway"), e.g. to SIGKILL it. */
  process(name: string): ChildProcess;
  /** Starts a service again after it stopped or was killed, with extra env; resolves once it serves. */
  restart(name: string, extraEnv?: NodeJS.ProcessEnv): Promise<void>;
  /** Closes every broker connection of this shop's vhost, as a broker restart or network cut would. */
  cutBrokerConnections(): Promise<void>;
  /** A scrape of the /metrics endpoint of one service's process (or "gateway"). */
  metrics(name: string): Promise<Exposition>;
  /** POSTs a Connect JSON request; resolves status, parsed body and headers whatever the status. */
  api(method: string, body?: unknown, opts?: ApiOptions): Promise<ApiResponse>;
  stop(): Promise<void>;
}

export interface ApiOptions {
  readonly token?: string;
  readonly headers?: Record<string, string>;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: Record<string, unknown> & { code?: string; message?: string };
  readonly headers: Headers;
}

interface Child {
  readonly name: string;
  readonly child: ChildProcess;
  out: string;
}

function spawnNode(name: string, script: string, env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, ["--enable-source-maps", script], { env, stdio: ["ignore", "pipe", "pipe"] });
  const c: Child = { name, child, out: "" };
  child.stdout.on("data", (d: Buffer) => (c.out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (c.out += d.toString()));
  return c;
}

async function stopChild(c: Child): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  const exited = once(c.child, "exit");
  c.child.kill("SIGTERM");
  const timer = setTimeout(() => c.child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** What it printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * One service alone from its `dist/services/<name>/main.js`, as a container runs it (benchmarks
 * use it to keep a service's CPU apart from the load's). `env` is all it gets besides PATH;
 * waiting until it serves is the caller's part (its first call, retried).
 */
export function startServiceProcess(name: string, env: NodeJS.ProcessEnv): ServiceProcess {
  // METRICS_PORT 0: a free port of its own, so two of these (or a running shop) never clash on 9464.
  const c = spawnNode(name, join(repoRoot(), "dist", "services", name, "main.js"), { PATH: process.env["PATH"], METRICS_PORT: "0", ...env });
  return { child: c.child, output: () => c.out, stop: () => stopChild(c) };
}

/**
 * `extraEnv` goes to every process; `perService` to one service's process only (e.g. a crash
 * hook for the order service).
 */
export async function startShopProcesses(extraEnv: NodeJS.ProcessEnv = {}, perService: Record<string, NodeJS.ProcessEnv> = {}): Promise<ShopProcesses> {
  const db = await createTestDatabase("e2e");
  const exchange = uniqueName("e2e");
  const broker = await createVhost(exchange);
  const dist = join(repoRoot(), "dist");
  const mongo = mongoTestUrl ? createTestMongoDatabase(mongoTestUrl, "e2e") : undefined;
  const mongoEnv: NodeJS.ProcessEnv = mongo ? { MONGODB_URL: mongo.url } : {};
  const off = serviceModules.filter((m) => m.offReason?.({ ...mongoEnv, ...extraEnv }) !== undefined).map((m) => m.name);
  // Every process's gRPC (or HTTP) port and metrics port, distinct from one another.
  const names = [...serviceModules.map((m) => m.name), "gateway"];
  const ports = await freePorts(names.length * 2);
  const addresses: Record<string, string> = {};
  const metricsPorts: Record<string, number> = {};
  names.forEach((name, i) => {
    if (name !== "gateway") addresses[addressSetting(name)] = off.includes(name) ? BACKEND_OFF : `127.0.0.1:${ports[2 * i]}`;
    metricsPorts[name] = ports[2 * i + 1]!;
  });
  const gatewayPort = ports[2 * names.indexOf("gateway")]!;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    DATABASE_URL: db.url,
    AMQP_URL: broker.url,
    AMQP_EXCHANGE: exchange,
    LOG_LEVEL: process.env["E2E_LOG_LEVEL"] ?? "warn",
    GRPC_HOST: "127.0.0.1",
    ADMIN_EMAIL,
    // Generous limits: these tests are about behaviour, the rate-limit test lowers them itself.
    RATE_LIMIT_IP_RATE: "1000",
    RATE_LIMIT_IP_BURST: "1000",
    SHUTDOWN_GRACE: "2s",
    ...mongoEnv,
    // Nine services with a pool each (plus a LISTEN connection for the relay) must stay under
    // PostgreSQL's default max_connections of 100, with room for the tests' own connections.
    DATABASE_POOL_MAX: "5",
    ...addresses,
    ...extraEnv,
  };
  const children: Child[] = [];
  const stop = async () => {
    await Promise.all(children.map(stopChild));
    await broker.drop().catch(() => undefined);
    await mongo?.drop().catch(() => undefined);
    await db.drop();
  };
  try {
    const startOne = (name: string, extra: NodeJS.ProcessEnv = {}): Child => {
      const port = addresses[addressSetting(name)]!.split(":")[1]!;
      return spawnNode(name, join(dist, "services", name, "main.js"), { ...env, GRPC_PORT: port, METRICS_PORT: String(metricsPorts[name]), ...(perService[name] ?? {}), ...extra });
    };
    for (const mod of serviceModules) if (!off.includes(mod.name)) children.push(startOne(mod.name));
    children.push(spawnNode("gateway", join(dist, "gateway", "main.js"), { ...env, GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: String(gatewayPort), METRICS_PORT: String(metricsPorts["gateway"]) }));
    const url = `http://127.0.0.1:${gatewayPort}`;
    const output = (name?: string) => children.filter((c) => !name || c.name === name).map((c) => `--- ${c.name}\n${c.out}`).join("\n");
    await waitFor(
      "every service ready behind the gateway",
      async () => {
        const dead = children.find((c) => c.child.exitCode !== null);
        if (dead) throw new Error(`${dead.name} exited ${dead.child.exitCode}: ${dead.out.slice(-2000)}`);
        const res = await fetch(`${url}/readyz`).catch(() => undefined);
        return res?.status === 200 || undefined;
      },
      // Ten processes load, migrate and connect at once: on a loaded 2-core machine that takes a while.
      { timeoutMs: 90_000, intervalMs: 100 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${output()}`);
    });
    return {
      url,
      db,
      exchange,
      off,
      output,
      process: (name) => children.find((c) => c.name === name)!.child,
      async restart(name, extra = {}) {
        const i = children.findIndex((c) => c.name === name);
        const old = children[i]!;
        if (old.child.exitCode === null && old.child.signalCode === null) await stopChild(old);
        const fresh = startOne(name, extra);
        fresh.out = old.out + `\n--- restarted\n`;
        children[i] = fresh;
        await waitFor(`${name} serving again`, async () => {
          if (fresh.child.exitCode !== null) throw new Error(`${name} exited ${fresh.child.exitCode}: ${fresh.out.slice(-2000)}`);
          return (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 || undefined;
        }, { timeoutMs: 30_000, intervalMs: 100 });
      },
      cutBrokerConnections: () => broker.cut(),
      metrics: (name) => scrape(`http://127.0.0.1:${metricsPorts[name]}/metrics`),
      api: (method, body, opts) => callApi(url, method, body, opts),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function callApi(url: string, method: string, body: unknown = {}, opts: ApiOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  if (opts.token) headers["authorization"] = `Bearer ${opts.token}`;
  const res = await fetch(`${url}/${method}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: ApiResponse["body"];
  try {
    parsed = text ? (JSON.parse(text) as ApiResponse["body"]) : {};
  } catch {
    parsed = { raw: text };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const run = promisify(execFile);

/** A RabbitMQ vhost for one run, or the default vhost when rabbitmqctl is not at hand. */
interface TestBroker {
  readonly url: string;
  drop(): Promise<void>;
  cut(): Promise<void>;
}

async function createVhost(name: string): Promise<TestBroker> {
  try {
    await run("rabbitmqctl", ["add_vhost", name]);
    await run("rabbitmqctl", ["set_permissions", "-p", name, "guest", ".*", ".*", ".*"]);
  } catch {
    const unsupported = () => Promise.reject(new Error("cutting connections needs rabbitmqctl"));
    return { url: AMQP_URL, drop: () => deleteExchanges(name), cut: unsupported };
  }
  const url = new URL(AMQP_URL);
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    url: url.toString(),
    drop: async () => void (await run("rabbitmqctl", ["delete_vhost", name])),
    cut: async () => void (await run("rabbitmqctl", ["close_all_connections", "-p", name, "test: connection cut"])),
  };
}

async function deleteExchanges(exchange: string): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    await ch.deleteExchange(exchange);
    await ch.deleteExchange(`${exchange}.dlx`);
    await ch.close();
  } finally {
    await conn.close();
  }
}
