// Stock under concurrency, over real gRPC against real PostgreSQL: a hot SKU never sells more
// than it has, replays of one order hold stock once, multi-SKU reservations in opposite line
// orders never deadlock, a commit racing a release of the same reservation has one winner, and
// a release racing its own order's reserve leaves nothing held.
import assert from "node:assert/strict";
import { InventoryService, ReservationStatus } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { Code, ShopError } from "../../../platform/errors.js";
import { createClient } from "../../../platform/grpc/index.js";
import { startService } from "../../../platform/service.js";
import { createInventoryModule } from "../module.js";
import { AUTH, orderId, startInventory, stockedSku, type RunningInventory } from "./helpers.js";

/** Each call's outcome: its value, or the ShopError it failed with (anything else fails the test). */
async function settle<T>(calls: Promise<T>[]): Promise<({ ok: true; value: T } | { ok: false; err: ShopError })[]> {
  const results = await Promise.allSettled(calls);
  return results.map((r) => {
    if (r.status === "fulfilled") return { ok: true, value: r.value };
    if (r.reason instanceof ShopError) return { ok: false, err: r.reason };
    throw r.reason;
  });
}

describe("inventory under concurrency (real gRPC, real PostgreSQL)", function () {
  // Hundreds of calls queue on one row lock; on a machine shared with other builds that can take
  // longer than the suite-wide timeout. Outcomes are asserted, never durations.
  this.timeout(120_000);
  let inv: RunningInventory;

  before(async () => {
    inv = await startInventory();
  });

  after(async () => {
    await inv?.stop();
  });

  const level = async (sku: string) => {
    const s = (await inv.client.getStock({ sku })).stock!;
    return { onHand: s.onHand, reserved: s.reserved, available: s.available };
  };

  it("200 concurrent reservations of 1 unit against 50 units: exactly 50 succeed, the rest fail FAILED_PRECONDITION, never below zero", async () => {
    const sku = await stockedSku(inv, 50);
    const seen: number[] = [];
    let running = true;
    // Watches the level from outside while the reservations run.
    const watcher = (async () => {
      while (running) {
        const { rows } = await inv.db.query<{ on_hand: number; reserved: number; available: number }>(
          "SELECT on_hand, reserved, available FROM stock WHERE sku = $1",
          [sku],
        );
        const row = rows[0]!;
        assert.equal(row.available, row.on_hand - row.reserved);
        seen.push(row.available);
      }
    })();
    const outcomes = await settle(Array.from({ length: 200 }, () => inv.client.reserveStock({ orderId: orderId(), lines: [{ sku, quantity: 1 }] })));
    running = false;
    await watcher;

    const won = outcomes.filter((o) => o.ok);
    const lost = outcomes.flatMap((o) => (o.ok ? [] : [o.err]));
    assert.equal(won.length, 50);
    assert.equal(lost.length, 150);
    for (const err of lost) {
      assert.equal(err.code, Code.FAILED_PRECONDITION, err.message);
      assert.deepEqual(err.violations.map((v) => v.field), ["lines[0].quantity"]);
    }
    assert.deepEqual(await level(sku), { onHand: 50, reserved: 50, available: 0 });
    assert.ok(seen.length > 0 && seen.every((n) => n >= 0), `available went below zero: ${Math.min(...seen)}`);
    const { rows } = await inv.db.query<{ n: number; units: number }>(
      `SELECT count(*)::int AS n, coalesce(sum(l.quantity), 0)::int AS units
       FROM reservations r JOIN reservation_lines l USING (order_id) WHERE l.sku = $1 AND r.status = 'active'`,
      [sku],
    );
    assert.deepEqual(rows[0], { n: 50, units: 50 }, "one reservation per success, none for a failure");
  });

  it("two replicas batching a burst of new orders, multi-SKU orders, replays and conflicting replays sell exactly the stock, never below zero", async () => {
    // A second replica on the same database: its batches and ours contend for the same rows.
    const replica = await startService(createInventoryModule(), {
      DATABASE_URL: inv.databaseUrl,
      GRPC_HOST: "127.0.0.1",
      GRPC_PORT: "0",
      LOG_LEVEL: "error",
      USERS_ADDR: inv.users.address,
      AUTH_ISSUER: AUTH.issuer,
      AUTH_AUDIENCE: AUTH.audience,
    });
    const other = createClient(InventoryService, { service: "test", name: "inventory-replica", address: `127.0.0.1:${replica.port}`, timeoutMs: 60_000 });
    try {
      const hot = await stockedSku(inv, 60);
      const side = await stockedSku(inv, 10);
      type Lines = { sku: string; quantity: number }[];
      const calls: { id: string; lines: Lines }[] = [];
      for (let i = 0; i < 120; i++) calls.push({ id: orderId(), lines: [{ sku: hot, quantity: 1 }] });
      for (let i = 0; i < 30; i++) calls.push({ id: orderId(), lines: [{ sku: side, quantity: 1 }, { sku: hot, quantity: 1 }] });
      for (let i = 0; i < 10; i++) {
        const id = orderId();
        for (let j = 0; j < 4; j++) calls.push({ id, lines: [{ sku: hot, quantity: 1 }] });
      }
      for (let i = 0; i < 5; i++) {
        const id = orderId();
        calls.push({ id, lines: [{ sku: hot, quantity: 1 }] }, { id, lines: [{ sku: hot, quantity: 1 }, { sku: side, quantity: 1 }] });
      }
      // Shuffled, so replays and conflicts land in the same batches as everything else.
      for (let i = calls.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [calls[i], calls[j]] = [calls[j]!, calls[i]!];
      }
      const seen: number[] = [];
      let running = true;
      const watcher = (async () => {
        while (running) {
          const { rows } = await inv.db.query<{ available: number }>("SELECT available FROM stock WHERE sku = ANY($1::text[])", [[hot, side]]);
          seen.push(...rows.map((r) => r.available));
        }
      })();
      const outcomes = await settle(calls.map((c, i) => (i % 2 === 0 ? inv.client : other).reserveStock({ orderId: c.id, lines: c.lines })));
      running = false;
      await watcher;

      for (const o of outcomes) if (!o.ok) assert.equal(o.err.code, Code.FAILED_PRECONDITION, o.err.message);
      // Every unit of the hot SKU goes: more single-unit orders want it than it has, so it cannot
      // be left over, and every successful order holds exactly one of them.
      const winners = new Map<string, string>();
      outcomes.forEach((o, i) => {
        if (!o.ok) return;
        const c = calls[i]!;
        const lines = JSON.stringify([...c.lines].sort((a, b) => a.sku.localeCompare(b.sku)));
        const r = o.value.reservation!;
        assert.deepEqual(r.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })), c.lines, "a success answers with its own lines");
        const before = winners.get(c.id);
        assert.ok(before === undefined || before === lines, `order ${c.id} succeeded with two different line sets`);
        winners.set(c.id, lines);
      });
      assert.equal(winners.size, 60, "exactly as many orders as the hot SKU has units");
      const sideWinners = [...winners.values()].filter((l) => l.includes(side)).length;
      assert.deepEqual(await level(hot), { onHand: 60, reserved: 60, available: 0 });
      assert.deepEqual(await level(side), { onHand: 10, reserved: sideWinners, available: 10 - sideWinners });
      assert.ok(seen.length > 0 && seen.every((n) => n >= 0), `available went below zero: ${Math.min(...seen)}`);
      const { rows } = await inv.db.query<{ order_id: string; n: number }>(
        `SELECT r.order_id, count(*)::int AS n FROM reservations r JOIN reservation_lines l USING (order_id)
         WHERE r.status = 'active' AND l.sku = ANY($1::text[]) GROUP BY r.order_id`,
        [[hot, side]],
      );
      assert.deepEqual(new Set(rows.map((r) => r.order_id)), new Set(winners.keys()), "one reservation per successful order, none for a refused one");
      // A replayed order: all of its calls share one outcome, as one reservation.
      for (const id of new Set(calls.filter((c, i) => calls.findIndex((d) => d.id === c.id) !== i).map((c) => c.id))) {
        const mine = outcomes.filter((_, i) => calls[i]!.id === id);
        const times = new Set(mine.flatMap((o) => (o.ok ? [`${o.value.reservation!.createTime?.seconds}.${o.value.reservation!.createTime?.nanos}`] : [])));
        assert.ok(times.size <= 1, `order ${id} answered with ${times.size} different reservations`);
      }
    } finally {
      other.close();
      await replica.stop();
    }
  });

  it("concurrent replays of one order return one reservation and hold its stock once", async () => {
    const sku = await stockedSku(inv, 10);
    const id = orderId();
    const outcomes = await settle(Array.from({ length: 20 }, () => inv.client.reserveStock({ orderId: id, lines: [{ sku, quantity: 3 }] })));
    const created = outcomes.map((o) => {
      assert.ok(o.ok, o.ok ? "" : o.err.message);
      return o.value.reservation!.createTime;
    });
    assert.equal(new Set(created.map((t) => `${t?.seconds}.${t?.nanos}`)).size, 1, "every call saw the same reservation");
    assert.deepEqual(await level(sku), { onHand: 10, reserved: 3, available: 7 });
  });

  it("multi-SKU reservations with their lines in opposite orders never deadlock", async () => {
    const skus = [await stockedSku(inv, 1000), await stockedSku(inv, 1000), await stockedSku(inv, 1000)];
    const reversed = [...skus].reverse();
    const outcomes = await settle(
      Array.from({ length: 60 }, (_, i) =>
        inv.client.reserveStock({ orderId: orderId(), lines: (i % 2 === 0 ? skus : reversed).map((sku) => ({ sku, quantity: 1 })) }),
      ),
    );
    for (const o of outcomes) assert.ok(o.ok, o.ok ? "" : `${Code[o.err.code]}: ${o.err.message}`);
    for (const sku of skus) assert.deepEqual(await level(sku), { onHand: 1000, reserved: 60, available: 940 });
  });

  it("a commit racing a release of the same reservation: one wins, the stock matches the winner", async () => {
    for (let round = 0; round < 10; round++) {
      const sku = await stockedSku(inv, 5);
      const id = orderId();
      await inv.client.reserveStock({ orderId: id, lines: [{ sku, quantity: 2 }] });
      const [commit, release] = await settle<unknown>([
        inv.client.commitReservation({ orderId: id }),
        inv.client.releaseReservation({ orderId: id, reason: "order_cancelled" }),
      ]);
      const { rows } = await inv.db.query<{ status: string }>("SELECT status FROM reservations WHERE order_id = $1", [id]);
      const status = rows[0]!.status;
      if (status === "committed") {
        assert.ok(commit!.ok);
        assert.equal(release!.ok ? "" : Code[release!.err.code], "FAILED_PRECONDITION");
        assert.deepEqual(await level(sku), { onHand: 3, reserved: 0, available: 3 });
      } else {
        assert.equal(status, "released");
        assert.ok(release!.ok);
        assert.equal(commit!.ok ? "" : Code[commit!.err.code], "FAILED_PRECONDITION");
        assert.deepEqual(await level(sku), { onHand: 5, reserved: 0, available: 5 });
      }
    }
  });

  it("a release racing its own order's reserve never leaves stock held, whichever lands first", async () => {
    const sku = await stockedSku(inv, 1000);
    for (let round = 0; round < 20; round++) {
      const id = orderId();
      const [reserve, release] = await settle<unknown>([
        inv.client.reserveStock({ orderId: id, lines: [{ sku, quantity: 2 }] }),
        inv.client.releaseReservation({ orderId: id, reason: "checkout_timeout" }),
      ]);
      assert.ok(release!.ok, release!.ok ? "" : release!.err.message);
      // Reserve first: the release releases it. Release first: the late reserve is refused.
      if (!reserve!.ok) assert.equal(reserve!.err.code, Code.FAILED_PRECONDITION, reserve!.err.message);
      const { rows } = await inv.db.query<{ status: string }>("SELECT status FROM reservations WHERE order_id = $1", [id]);
      assert.equal(rows[0]?.status, "released");
    }
    assert.deepEqual(await level(sku), { onHand: 1000, reserved: 0, available: 1000 });
  });

  it("reservations racing an admin removing stock never leave reserved above on hand", async () => {
    const sku = await stockedSku(inv, 40);
    const reserves = Array.from({ length: 40 }, () => inv.client.reserveStock({ orderId: orderId(), lines: [{ sku, quantity: 1 }] }));
    const removals = Array.from({ length: 10 }, () => inv.client.adjustStock({ sku, delta: -2, reason: "damaged" }, inv.admin));
    const outcomes = await settle<unknown>([...reserves, ...removals]);
    for (const o of outcomes) if (!o.ok) assert.equal(o.err.code, Code.FAILED_PRECONDITION, o.err.message);
    const reservedOk = outcomes.slice(0, 40).filter((o) => o.ok).length;
    const removedOk = outcomes.slice(40).filter((o) => o.ok).length;
    assert.deepEqual(await level(sku), { onHand: 40 - 2 * removedOk, reserved: reservedOk, available: 40 - 2 * removedOk - reservedOk });
    assert.ok(40 - 2 * removedOk - reservedOk >= 0);
    const active = await inv.client.listReservations({ sku, status: ReservationStatus.ACTIVE, pageSize: 100 }, inv.admin);
    assert.equal(active.reservations.length, reservedOk);
  });
});
