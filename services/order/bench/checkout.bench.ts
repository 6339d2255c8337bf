// Orders per second and PlaceOrder latency with the whole shop on this machine, against the
// same run's bare grpc-js hop.
//
// Every service and the gateway run as their own processes (test/e2e/shop-processes.ts) on a
// fresh PostgreSQL database and a RabbitMQ vhost of their own. Before anything is timed, the
// bench stocks SKUS products and prepares one buyer per order: a token minted with the users
// service's key (argon2 sign-ups would only measure argon2), a cart holding one or two of the
// products, and a saved sandbox card. Then rounds alternate:
//   bare hop    grpc-js client -> grpc-js server in a child process (rpc-hop-server.ts), nothing else
//   PlaceOrder  through the gateway's JSON API, each buyer once, IN_FLIGHT at a time
// and the figures are medians of the rounds. A PlaceOrder counts as an error unless it answers
// 200 with a CONFIRMED (or FULFILLING) order; a PENDING answer, a refusal or a transport error
// all count.
//
// IN_FLIGHT defaults to 32: by Little's law, 200 orders/s at a mean latency of ~100 ms keeps
// ~20 checkouts in flight; 32 leaves headroom for that without piling more work onto two cores
// than they can overlap (more in flight only queues, which raises p99 and not the rate).
//
// Afterwards the bench waits for every saga to settle and checks, from the services' own
// tables, that every order is CONFIRMED (or later), each SKU's stock went down by exactly the
// units sold with nothing left reserved, one capture per order for the order's total, and every
// ledger transaction balances. Any failed check makes the process exit 1.
//
// Every phase is bounded in time (preparation 40 s, warm-up and each round 15 s, each hop round
// 3 s, the settling afterwards 60 s), so a busy machine gives smaller rounds, not a hung run.
//
//   npm run bench:checkout       (BENCH_ORDERS per round, BENCH_ROUNDS, BENCH_IN_FLIGHT, BENCH_SKUS;
//                                 BENCH_PROFILE=<service> writes its .cpuprofile to ./profiles)
import { randomUUID } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { drive, formatStats, statsOf, summarize, type RoundStats } from "../../../platform/bench/load.js";
import { machineCpu, processCpuMs } from "../../../platform/bench/cpu-usage.js";
import { bareHopClient, startHopServer } from "../../../platform/bench/rpc-hop-baseline.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { serviceModules } from "../../modules.js";
import { ADMIN_EMAIL, startShopProcesses, type ShopProcesses } from "../../../test/e2e/shop-processes.js";
import { CART, ORDER, card, craftToken, placeOrderRequest, register, signingKeyOf, sql, stockedProduct, type SigningKey } from "../../../test/e2e/shoppers.js";

export interface CheckoutBenchOptions {
  /** PlaceOrder calls per measured round (one buyer each); default 1000 (fewer if preparing buyers runs out of time). */
  readonly orders?: number;
  /** Measured rounds, after a warm-up round of a fifth of `orders`; default 3. */
  readonly rounds?: number;
  /** PlaceOrder calls in flight; default 32 (see the header). */
  readonly inFlight?: number;
  /** Products the buyers' carts are filled from; default 50. */
  readonly skus?: number;
  /** A round (and the warm-up) stops early after this long; default 15 s. */
  readonly roundLimitMs?: number;
  /** Buyers are prepared for at most this long, and the rounds shrink to fit; default 40 s. */
  readonly prepareLimitMs?: number;
  readonly print?: (line: string) => void;
}

export interface CheckoutBenchResult {
  readonly placeOrder: RoundStats;
  readonly bareHop: RoundStats;
  readonly orders: number;
  readonly problems: readonly string[];
}

interface Buyer {
  readonly userId: string;
  readonly token: string;
  readonly paymentMethod: string;
}

const PRICE_MINOR = 2500;

/** Up to `count` buyers, as many as `limitMs` allows (a busy machine prepares fewer). */
async function prepareBuyers(shop: ShopProcesses, key: SigningKey, skus: readonly string[], count: number, limitMs: number): Promise<Buyer[]> {
  const buyers: Buyer[] = [];
  const prepared = await drive(
    async () => {
      const n = buyers.length;
      const userId = randomUUID();
      const token = await craftToken(key, { sub: userId });
      // One or two distinct products per cart, spread over the SKUs so no row is hotter than another.
      for (const sku of n % 2 === 0 ? [skus[n % skus.length]!] : [skus[n % skus.length]!, skus[(n + 7) % skus.length]!]) {
        const res = await shop.api(`${CART}/AddItem`, { sku, quantity: 1 }, { token });
        if (res.status !== 200) throw new Error(`AddItem: ${JSON.stringify(res.body)}`);
      }
      buyers.push({ userId, token, paymentMethod: await card(shop, token) });
    },
    count,
    { inFlight: 16, limitMs },
  );
  if (prepared.errors > 0) throw new Error(`${prepared.errors} buyers could not be prepared`);
  return buyers;
}

/** CPU ms used so far by each of the shop's processes, its PostgreSQL backends and this process; the database's transactions. */
async function cpuSnapshot(shop: ShopProcesses): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const running = serviceModules.map((m) => m.name).filter((name) => !shop.off.includes(name));
  for (const name of [...running, "gateway"]) out.set(name, processCpuMs(shop.process(name).pid ?? 0));
  const dbName = new URL(shop.db.url).pathname.slice(1);
  const backends = await sql<{ pid: number }>(shop, "SELECT pid FROM pg_stat_activity WHERE datname = $1", [dbName]);
  for (const b of backends) out.set(`pg:${b.pid}`, processCpuMs(b.pid));
  const [stats] = await sql<{ commits: number }>(shop, "SELECT (xact_commit + xact_rollback)::int AS commits FROM pg_stat_database WHERE datname = $1", [dbName]);
  out.set("transactions", stats?.commits ?? 0);
  const self = process.cpuUsage();
  out.set("bench client", (self.user + self.system) / 1000);
  const machine = machineCpu();
  out.set("machine busy", machine.busyMs);
  out.set("machine total", machine.totalMs);
  return out;
}

/** CPU ms per process between two snapshots, PostgreSQL backends summed as "postgres". */
function cpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, ms] of after) {
    const name = key.startsWith("pg:") ? "postgres" : key;
    // A backend that appeared during the round started from zero; one that ended is lost (rare: idle timeout 30 s).
    out.set(name, (out.get(name) ?? 0) + ms - (before.get(key) ?? 0));
  }
  return out;
}

function cpuReport(cpu: Map<string, number>, orders: number): string[] {
  const total = cpu.get("machine total") ?? 0;
  const busy = cpu.get("machine busy") ?? 0;
  const entries = [...cpu].filter(([k]) => !k.startsWith("machine") && k !== "transactions");
  const ours = entries.reduce((n, [, ms]) => n + ms, 0);
  const perOrder = entries.sort((a, b) => b[1] - a[1]).map(([k, ms]) => `${k} ${(ms / orders).toFixed(2)}`);
  return [
    `  CPU ms per order: ${perOrder.join(", ")}; total ${(ours / orders).toFixed(2)}`,
    `  PostgreSQL transactions per order (all services, pg_stat_database): ${((cpu.get("transactions") ?? 0) / orders).toFixed(1)}`,
    `  machine: ${total > 0 ? ((100 * busy) / total).toFixed(0) : "?"}% busy over the rounds, ` +
      `${total > 0 ? ((100 * ours) / total).toFixed(0) : "?"}% of it this shop's processes (RabbitMQ, PostgreSQL's own writers and other users make up the rest)`,
  ];
}

/** Waits for every saga to finish, then checks orders, stock, payments and the ledger. */
async function verify(shop: ShopProcesses, buyers: readonly Buyer[], stocked: number, print: (line: string) => void): Promise<string[]> {
  const users = buyers.map((b) => b.userId);
  await waitFor(
    "every saga finished",
    async () => {
      const rows = await sql<{ n: number }>(shop, `SELECT count(*)::int AS n FROM "order".orders WHERE user_id = ANY($1) AND NOT saga_done`, [users]);
      return rows[0]!.n === 0 || undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const problems: string[] = [];
  const byStatus = await sql<{ status: string; n: number }>(shop, `SELECT status, count(*)::int AS n FROM "order".orders WHERE user_id = ANY($1) GROUP BY status ORDER BY status`, [users]);
  const orders = byStatus.reduce((n, r) => n + r.n, 0);
  const confirmed = byStatus.filter((r) => ["confirmed", "fulfilling", "shipped", "delivered"].includes(r.status)).reduce((n, r) => n + r.n, 0);
  print(`  orders: ${byStatus.map((r) => `${r.n} ${r.status}`).join(", ")} (${buyers.length} buyers)`);
  if (confirmed !== orders) problems.push(`${orders - confirmed} of ${orders} orders not confirmed`);
  if (orders !== buyers.length) problems.push(`${orders} orders for ${buyers.length} buyers`);

  // The database is the bench's own, so every order in it is one of the bench's.
  const stock = await sql<{ sku: string; on_hand: number; reserved: number; sold: number }>(
    shop,
    `SELECT s.sku, s.on_hand, s.reserved,
            (SELECT coalesce(sum(l.quantity), 0) FROM "order".order_lines l JOIN "order".orders o ON o.id = l.order_id
              WHERE l.sku = s.sku AND o.status <> 'failed')::int AS sold
     FROM inventory.stock s`,
  );
  const wrong = stock.filter((s) => s.reserved !== 0 || s.on_hand !== stocked - s.sold);
  const sold = stock.reduce((n, s) => n + s.sold, 0);
  print(`  stock: ${stock.length} SKUs, ${sold} units sold, ${wrong.length} SKUs off (on_hand must be ${stocked} - sold, reserved 0)`);
  if (wrong.length > 0) problems.push(`stock off on ${wrong.map((s) => `${s.sku} (on_hand ${s.on_hand}, reserved ${s.reserved}, sold ${s.sold})`).join(", ")}`);

  const [money] = await sql<{ orders_total: string; captured: string; captures: number; payments: number }>(
    shop,
    `SELECT (SELECT coalesce(sum(total_minor), 0) FROM "order".orders WHERE user_id = ANY($1) AND status <> 'failed')::text AS orders_total,
            (SELECT coalesce(sum(t.amount_minor), 0) FROM payment.ledger_transactions t JOIN payment.payments p ON p.id = t.payment_id
              WHERE t.kind = 'capture' AND p.user_id = ANY($1::uuid[]))::text AS captured,
            (SELECT count(*) FROM payment.ledger_transactions t JOIN payment.payments p ON p.id = t.payment_id
              WHERE t.kind = 'capture' AND p.user_id = ANY($1::uuid[]))::int AS captures,
            (SELECT count(*) FROM payment.payments WHERE user_id = ANY($1::uuid[]))::int AS payments`,
    [users],
  );
  const unbalanced = await sql<{ id: string }>(
    shop,
    `SELECT transaction_id AS id FROM payment.ledger_postings GROUP BY transaction_id
     HAVING sum(CASE direction WHEN 'debit' THEN amount_minor ELSE -amount_minor END) <> 0`,
  );
  print(
    `  payments: ${money!.payments} payments, ${money!.captures} captures totalling ${money!.captured} minor units for orders totalling ${money!.orders_total}; ` +
      `${unbalanced.length} unbalanced ledger transactions`,
  );
  if (money!.captures !== confirmed) problems.push(`${money!.captures} captures for ${confirmed} confirmed orders`);
  if (money!.captured !== money!.orders_total) problems.push(`captured ${money!.captured} for orders totalling ${money!.orders_total}`);
  if (unbalanced.length > 0) problems.push(`${unbalanced.length} ledger transactions do not balance`);
  return problems;
}

export async function benchCheckout(opts: CheckoutBenchOptions = {}): Promise<CheckoutBenchResult> {
  const perRound = opts.orders ?? 1000;
  const rounds = opts.rounds ?? 3;
  const inFlight = opts.inFlight ?? 32;
  const skuCount = opts.skus ?? 50;
  const limitMs = opts.roundLimitMs ?? 15_000;
  const prepLimitMs = opts.prepareLimitMs ?? 40_000;
  const print = opts.print ?? ((line: string) => console.log(line));
  const wanted = Math.max(inFlight, Math.ceil(perRound / 5)) + perRound * rounds;
  const stocked = wanted; // enough for every buyer: the bench measures checkouts, not shortages

  // BENCH_PROFILE=order (or any service's name) writes that process's .cpuprofile to ./profiles at the end.
  const profiled = process.env["BENCH_PROFILE"];
  const profile = { NODE_OPTIONS: `--import=${fileURLToPath(new URL("../../../platform/bench/cpu-profile.js", import.meta.url))}` };
  const shop = await startShopProcesses({
    LOG_LEVEL: "error",
    RATE_LIMIT_IP_RATE: "1000000",
    RATE_LIMIT_IP_BURST: "1000000",
    RATE_LIMIT_USER_RATE: "1000",
    RATE_LIMIT_USER_BURST: "1000",
    // Shipments move on slowly, so the carrier's work does not compete with checkouts.
    SHIPPING_SANDBOX_STEP: "10m",
    // A closed loop: when the machine is slower than the load, calls queue instead of being
    // shed by the gateway's deadline and breaker, so the figures say what the shop sustains.
    BACKEND_TIMEOUT: "30s",
    PEER_TIMEOUT: "30s",
    // PostgreSQL allows 100 connections on this machine, shared with whatever else runs; ten
    // services at the default 10 each would take them all. Two cores do not run more at once.
    DATABASE_POOL_MAX: "4",
  }, {
    // The orchestrator runs every checkout's saga: each in-flight order holds a connection per step.
    order: { DATABASE_POOL_MAX: "12", ...(profiled === "order" ? profile : {}) },
    ...(profiled && profiled !== "order" ? { [profiled]: profile } : {}),
  });
  const hop = await startHopServer("bare");
  const hopClient = bareHopClient(hop.port);
  try {
    const prepStart = performance.now();
    const admin = await register(shop, ADMIN_EMAIL);
    const key = await signingKeyOf(shop);
    const skus: string[] = [];
    skus.push(...(await Promise.all(Array.from({ length: skuCount }, (_, i) => stockedProduct(shop, admin, `Bench item ${i}`, PRICE_MINOR + i * 10, stocked)))));
    const buyers = await prepareBuyers(shop, key, skus, wanted, prepLimitMs);
    // Fewer buyers than asked for (the preparation ran out of time): smaller rounds, same shape.
    const each = Math.min(perRound, Math.floor((buyers.length * 5) / (5 * rounds + 1)));
    const warmup = buyers.length - each * rounds;
    if (each < inFlight) throw new Error(`only ${buyers.length} buyers prepared in ${prepLimitMs / 1000} s: too few for rounds of ${inFlight} in flight`);
    print(
      `checkout: every service its own process, ${skuCount} SKUs, ${buyers.length} buyers prepared in ${((performance.now() - prepStart) / 1000).toFixed(1)} s; ` +
        `${each} PlaceOrder x ${rounds} rounds after ${warmup} warm-up, ${inFlight} in flight`,
    );

    let next = 0;
    const failures = new Map<string, number>();
    const placeOrder = async () => {
      const b = buyers[next++];
      if (!b) throw new Error("out of buyers");
      const res = await shop.api(`${ORDER}/PlaceOrder`, placeOrderRequest(b.paymentMethod), { token: b.token });
      const status = (res.body["order"] as { status?: string } | undefined)?.status;
      // Confirmed, or already further along (shipping may have picked it up before the answer).
      if (res.status !== 200 || !["ORDER_STATUS_CONFIRMED", "ORDER_STATUS_FULFILLING"].includes(status ?? "")) {
        const what = `HTTP ${res.status} ${status ?? `${res.body.code}: ${res.body.message}`}`;
        failures.set(what, (failures.get(what) ?? 0) + 1);
        throw new Error(`PlaceOrder: ${what}`);
      }
    };
    await drive(hopClient.call, 2000, { inFlight, limitMs: 3000 });
    await drive(placeOrder, warmup, { inFlight, limitMs });

    const hopRounds: RoundStats[] = [];
    const orderRounds: RoundStats[] = [];
    const cpu = new Map<string, number>();
    let hopCpuMs = 0;
    for (let i = 0; i < rounds; i++) {
      // The hop's CPU (its server and this client) per call: what one bare RPC costs on this
      // machine right now, the yardstick for PlaceOrder's CPU per order below.
      const hopCpuBefore = processCpuMs(hop.child.pid ?? 0);
      const selfBefore = process.cpuUsage();
      const hopRound = statsOf(await drive(hopClient.call, 10_000, { inFlight, limitMs: 3000 }));
      const self = process.cpuUsage(selfBefore);
      hopCpuMs += processCpuMs(hop.child.pid ?? 0) - hopCpuBefore + (self.user + self.system) / 1000;
      hopRounds.push(hopRound);
      const before = await cpuSnapshot(shop);
      const r = statsOf(await drive(placeOrder, each, { inFlight, limitMs }));
      for (const [k, ms] of cpuDelta(before, await cpuSnapshot(shop))) cpu.set(k, (cpu.get(k) ?? 0) + ms);
      orderRounds.push(r);
      print(`  round ${i + 1}: ${formatStats("PlaceOrder", r, "orders")}   ${formatStats("bare grpc-js hop", hopRounds[i]!, "calls")}`);
    }
    const placeOrderStats = summarize(orderRounds);
    const bareHop = summarize(hopRounds);
    print(`checkout (median of ${rounds} rounds, ${inFlight} in flight):`);
    print(`  ${formatStats("PlaceOrder via gateway", placeOrderStats, "orders")}`);
    print(`  ${formatStats("bare grpc-js hop", bareHop, "calls")}`);
    print(`  PlaceOrder p50 = ${(placeOrderStats.p50 / bareHop.p50).toFixed(0)}x a bare hop's p50; target >= 200 orders/s at p99 < 250 ms with no errors`);
    for (const line of cpuReport(cpu, placeOrderStats.calls)) print(line);
    const hopCpuPerCall = hopCpuMs / bareHop.calls;
    const orderCpu = [...cpu].filter(([k]) => !k.startsWith("machine") && k !== "transactions").reduce((n, [, ms]) => n + ms, 0) / placeOrderStats.calls;
    print(`  a bare hop costs ${hopCpuPerCall.toFixed(3)} ms CPU (server + client) right now: one order costs as much CPU as ${(orderCpu / hopCpuPerCall).toFixed(0)} bare hops`);

    if (failures.size > 0) print(`  failed PlaceOrder answers: ${[...failures].map(([what, n]) => `${n} x ${what}`).join("; ")}`);
    const problems = await verify(shop, buyers.slice(0, next), stocked, print);
    print(problems.length === 0 ? "  verified: every order confirmed, stock matches, ledger balances" : `  PROBLEMS: ${problems.join("; ")}`);
    return { placeOrder: placeOrderStats, bareHop, orders: next, problems };
  } finally {
    hopClient.close();
    await hop.stop();
    await shop.stop();
  }
}

const env = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [orders, rounds, inFlight, skus] = [env("BENCH_ORDERS"), env("BENCH_ROUNDS"), env("BENCH_IN_FLIGHT"), env("BENCH_SKUS")];
  const result = await benchCheckout({
    ...(orders ? { orders } : {}),
    ...(rounds ? { rounds } : {}),
    ...(inFlight ? { inFlight } : {}),
    ...(skus ? { skus } : {}),
  });
  if (result.problems.length > 0) process.exitCode = 1;
}
