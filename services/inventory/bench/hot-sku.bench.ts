// Reservations per second on one hot SKU, with zero oversell.
//
// The inventory service runs as its own process (its main.js, as a container runs it) against a
// fresh PostgreSQL database, the load comes from this process over real gRPC; each round
// stocks a new SKU with `units` units and fires `attempts` ReserveStock calls of one unit each
// (distinct order ids, `inFlight` at a time) over real gRPC, so more callers want the SKU than
// it has: every reservation of the SKU queues on its one row lock, which is the cost measured.
// After each round the bench checks that exactly `units` calls succeeded, every other one
// failed FAILED_PRECONDITION, and the row reads reserved = on_hand, available = 0; anything else
// aborts the run. Printed: medians over the rounds of reservations/s (successful ones), calls/s
// (both outcomes), p50/p99 latency of the successful calls, and the CPU the service process and
// its PostgreSQL backends used per call, with how busy the machine was.
//
// Concurrent reservations of one SKU are combined into one transaction by the service
// (reservations.ts), so the row lock and the commit are paid per batch, not per reservation.
// The baseline, alternating round by round in the same run, is a second inventory process
// with INVENTORY_RESERVE_BATCH=1: one transaction per reservation, as without combining.
//
//   node dist/services/inventory/bench/hot-sku.bench.js
//   BENCH_UNITS=2000 BENCH_ROUNDS=5 BENCH_IN_FLIGHT=64 node dist/services/inventory/bench/hot-sku.bench.js
//
// The database is created on TEST_DATABASE_URL's server (default the machine's PostgreSQL at
// 127.0.0.1:5432) and dropped afterwards. Load, service and PostgreSQL share this machine's
// cores, so the figures are end to end for this machine.
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { InventoryService } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { createDb } from "../../../platform/db/db.js";
import { Code, ShopError } from "../../../platform/errors.js";
import { createClient } from "../../../platform/grpc/index.js";
import { machineCpu, processCpuMs } from "../../../platform/bench/cpu-usage.js";
import { createTestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { freePort, startServiceProcess } from "../../../test/e2e/shop-processes.js";
import { createStockLevels } from "../stock-levels.js";
import { createInventoryStore } from "../store.js";

export interface HotSkuOptions {
  /** Units stocked per round; exactly this many reservations must succeed. Default 1000. */
  readonly units?: number;
  /** Reservations attempted per round; default 1.25 x units, so some must fail. */
  readonly attempts?: number;
  /** Calls in flight at once; default 64. */
  readonly inFlight?: number;
  /** Measured rounds of each variant, after one warm-up round each; default 3. */
  readonly rounds?: number;
  /** The service's pool size (DATABASE_POOL_MAX); default 10, the service's default. */
  readonly poolMax?: number;
  /** Where progress lines go; default console.log. */
  readonly print?: (line: string) => void;
}

export interface HotSkuRound {
  readonly succeeded: number;
  readonly failed: number;
  readonly seconds: number;
  readonly reservationsPerSecond: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU of the inventory process, and of its PostgreSQL backends, per call. */
  readonly serviceCpuMsPerCall: number;
  readonly postgresCpuMsPerCall: number;
  /** Share of the machine's CPU time busy during the round (all processes, 0 to 1). */
  readonly machineBusy: number;
}

export interface HotSkuResult {
  /** Medians over the measured rounds. */
  readonly reservationsPerSecond: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Units sold beyond stock, over all rounds: 0, or the bench would have thrown. */
  readonly oversold: number;
  readonly rounds: readonly HotSkuRound[];
  /** The same-run baseline: the service with INVENTORY_RESERVE_BATCH=1 (one transaction per reservation). */
  readonly oneByOne: { readonly reservationsPerSecond: number; readonly callsPerSecond: number; readonly p50Ms: number; readonly p99Ms: number };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const quantile = (sorted: Float64Array, q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;

export async function benchHotSku(opts: HotSkuOptions = {}): Promise<HotSkuResult> {
  const units = opts.units ?? 1000;
  const attempts = opts.attempts ?? Math.ceil(units * 1.25);
  const inFlight = opts.inFlight ?? 64;
  const rounds = opts.rounds ?? 3;
  const print = opts.print ?? ((line: string) => console.log(line));
  if (attempts < units) throw new Error("attempts must be at least units: the bench proves that the surplus is refused");

  const tdb = await createTestDatabase("bench_inventory");
  /** One inventory process on the bench's database; `batch` is its INVENTORY_RESERVE_BATCH. */
  const startInventory = async (batch: number) => {
    const port = await freePort();
    const service = startServiceProcess("inventory", {
      DATABASE_URL: tdb.url,
      DATABASE_POOL_MAX: String(opts.poolMax ?? 10),
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: String(port),
      LOG_LEVEL: "error",
      // Long enough that the job never runs mid-round.
      INVENTORY_EXPIRY_INTERVAL: "1h",
      INVENTORY_RESERVE_BATCH: String(batch),
    });
    const client = createClient(InventoryService, { service: "bench", name: `inventory-${batch}`, address: `127.0.0.1:${port}`, timeoutMs: 60_000 });
    await waitFor("the inventory service serving", async () => {
      if (service.child.exitCode !== null) throw new Error(`inventory exited ${service.child.exitCode}: ${service.output().slice(-2000)}`);
      return (await client.getStock({ sku: "BENCH-NONE" }).then(() => true, () => false)) || undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    return { service, client };
  };
  // The baseline, in the same run: the same service with batches of one, i.e. one transaction
  // per reservation as before reservations were combined. Started second (its migrations are done).
  const combined = await startInventory(100);
  const oneByOne = await startInventory(1);
  type Target = typeof combined;
  const db = createDb({ url: tdb.url, schema: "inventory", applicationName: "inventory-bench" });
  const dbName = new URL(tdb.url).pathname.slice(1);
  /** CPU ms so far of the service process and of the database's backends (ours included, idle in rounds). */
  const cpuNow = async (target: Target) => {
    const { rows } = await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [dbName]);
    return { service: processCpuMs(target.service.child.pid ?? 0), postgres: new Map(rows.map((r) => [r.pid, processCpuMs(r.pid)])), machine: machineCpu() };
  };
  const stock = createStockLevels({ store: createInventoryStore(db), clock: () => new Date(), defaultLowStockThreshold: 0 });

  async function round(target: Target): Promise<HotSkuRound> {
    const sku = `BENCH-${randomUUID()}`;
    await stock.adjust({ sku, delta: units, lowStockThreshold: undefined, reason: "bench", actor: "bench" });
    const latencies: number[] = [];
    let failed = 0;
    let next = 0;
    const cpuBefore = await cpuNow(target);
    const started = performance.now();
    const worker = async () => {
      while (next < attempts) {
        next++;
        const t = performance.now();
        try {
          await target.client.reserveStock({ orderId: randomUUID(), lines: [{ sku, quantity: 1 }] });
          latencies.push(performance.now() - t);
        } catch (err) {
          if (!(err instanceof ShopError) || err.code !== Code.FAILED_PRECONDITION) throw err;
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = await cpuNow(target);
    const pgMs = [...cpuAfter.postgres].reduce((n, [pid, ms]) => n + ms - (cpuBefore.postgres.get(pid) ?? 0), 0);
    const machineTotal = cpuAfter.machine.totalMs - cpuBefore.machine.totalMs;

    const [level] = await stock.levels([sku]);
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM reservation_lines l JOIN reservations r USING (order_id) WHERE l.sku = $1 AND r.status = 'active'",
      [sku],
    );
    const oversold = latencies.length - units;
    if (oversold !== 0 || failed !== attempts - units || level?.reserved !== units || level.onHand !== units || rows[0]?.n !== units) {
      throw new Error(
        `stock invariant broken on ${sku}: ${latencies.length} succeeded and ${failed} failed for ${units} units; ` +
          `row on_hand ${level?.onHand} reserved ${level?.reserved}; ${rows[0]?.n} active reservations`,
      );
    }
    const sorted = Float64Array.from(latencies).sort();
    return {
      succeeded: latencies.length,
      failed,
      seconds,
      reservationsPerSecond: latencies.length / seconds,
      callsPerSecond: attempts / seconds,
      p50Ms: quantile(sorted, 0.5),
      p99Ms: quantile(sorted, 0.99),
      serviceCpuMsPerCall: (cpuAfter.service - cpuBefore.service) / attempts,
      postgresCpuMsPerCall: pgMs / attempts,
      machineBusy: machineTotal > 0 ? (cpuAfter.machine.busyMs - cpuBefore.machine.busyMs) / machineTotal : NaN,
    };
  }

  try {
    print(`hot sku: ${units} units, ${attempts} one-unit reservations per round, ${inFlight} in flight, pool ${opts.poolMax ?? 10}, ${rounds} rounds`);
    await round(combined); // warm-up: JIT, connections, validator plans
    await round(oneByOne);
    const line = (name: string, i: number, r: HotSkuRound) =>
      `  round ${i + 1} ${name}: ${r.reservationsPerSecond.toFixed(0)} reservations/s, ${r.callsPerSecond.toFixed(0)} calls/s, ` +
      `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms (${r.succeeded} ok, ${r.failed} refused); ` +
      `CPU per call: service ${r.serviceCpuMsPerCall.toFixed(2)} ms, postgres ${r.postgresCpuMsPerCall.toFixed(2)} ms; machine ${(100 * r.machineBusy).toFixed(0)}% busy`;
    const measured: HotSkuRound[] = [];
    const baseline: HotSkuRound[] = [];
    // Alternating, so drift on the machine hits both alike.
    for (let i = 0; i < rounds; i++) {
      measured.push(await round(combined));
      print(line("combined  ", i, measured[i]!));
      baseline.push(await round(oneByOne));
      print(line("one by one", i, baseline[i]!));
    }
    const summary = (rs: readonly HotSkuRound[]) => ({
      reservationsPerSecond: median(rs.map((r) => r.reservationsPerSecond)),
      callsPerSecond: median(rs.map((r) => r.callsPerSecond)),
      p50Ms: median(rs.map((r) => r.p50Ms)),
      p99Ms: median(rs.map((r) => r.p99Ms)),
    });
    const result: HotSkuResult = { ...summary(measured), oversold: 0, rounds: measured, oneByOne: summary(baseline) };
    const show = (name: string, r: Omit<HotSkuResult, "oversold" | "rounds" | "oneByOne">) =>
      `hot sku ${name} (median): ${r.reservationsPerSecond.toFixed(0)} reservations/s, ${r.callsPerSecond.toFixed(0)} calls/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`;
    print(`${show("combined  ", result)}, oversold ${result.oversold}`);
    print(`${show("one by one", result.oneByOne)}, oversold 0`);
    print(`combined / one by one: ${(result.reservationsPerSecond / result.oneByOne.reservationsPerSecond).toFixed(2)}x reservations/s (target >= 1000 reservations/s combined)`);
    return result;
  } finally {
    for (const t of [combined, oneByOne]) {
      t.client.close();
      await t.service.stop();
    }
    await db.close();
    await tdb.drop();
  }
}

const env = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const opts: HotSkuOptions = {};
  const units = env("BENCH_UNITS");
  const rounds = env("BENCH_ROUNDS");
  const inFlight = env("BENCH_IN_FLIGHT");
  await benchHotSku({ ...opts, ...(units ? { units } : {}), ...(rounds ? { rounds } : {}), ...(inFlight ? { inFlight } : {}) });
}
