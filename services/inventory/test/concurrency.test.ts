// Stock under concurrency, over real gRPC against real PostgreSQL: a hot SKU never sells more
// than it has, replays of one order hold stock once, multi-SKU reservations in opposite line
// orders never deadlock, a commit racing a release of the same reservation has one winner, and
// a release racing its own order's reserve leaves nothing held.
import assert from "node:assert/strict";
import { ReservationStatus } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { Code, ShopError } from "../../../platform/errors.js";
import { orderId, startInventory, stockedSku, type RunningInventory } from "./helpers.js";

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
