// Reservations that outlive their ttl, on a real port and real PostgreSQL with a clock the test
// moves: the periodic job releases them (in batches) with ReservationExpired and StockChanged,
// and a Commit that comes too late expires the reservation itself instead of selling it. Also
// the other housekeeping: published events leave the outbox after their retention.
import assert from "node:assert/strict";
import { ReservationExpiredSchema, StockChangedSchema } from "../../../gen/shop/inventory/v1/events_pb.js";
import { ReservationStatus } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { Code } from "../../../platform/errors.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { orderId, outboxEvents, outboxMark, rejectionOf, startInventory, stockedSku, type RunningInventory } from "./helpers.js";

const MINUTE = 60_000;

describe("reservation expiry (real PostgreSQL, moved clock)", () => {
  const levels = async (inv: RunningInventory, ...skus: string[]) =>
    (await inv.client.batchGetStock({ skus })).stock.map((s) => [s.sku, s.onHand, s.reserved, s.available]);
  const statusOf = async (inv: RunningInventory, id: string) =>
    (await inv.db.query<{ status: string }>("SELECT status FROM reservations WHERE order_id = $1", [id])).rows[0]?.status;

  describe("the expiry job", () => {
    let inv: RunningInventory;

    before(async () => {
      // A small batch, so one round takes several transactions.
      inv = await startInventory({ INVENTORY_EXPIRY_INTERVAL: "50ms", INVENTORY_EXPIRY_BATCH: "2" });
    });

    after(async () => {
      await inv?.stop();
    });

    it("releases every reservation past its ttl, and only those, with its events", async () => {
      const [a, b] = [await stockedSku(inv, 20), await stockedSku(inv, 20)];
      const due = [orderId(), orderId(), orderId(), orderId(), orderId()];
      for (const [i, id] of due.entries()) {
        const lines = i % 2 === 0 ? [{ sku: b, quantity: 1 }, { sku: a, quantity: 2 }] : [{ sku: a, quantity: 1 }];
        await inv.client.reserveStock({ orderId: id, lines, ttl: { seconds: 60n } });
      }
      const later = orderId();
      await inv.client.reserveStock({ orderId: later, lines: [{ sku: a, quantity: 4 }], ttl: { seconds: 600n } });
      assert.deepEqual(await levels(inv, a, b), [[a, 20, 12, 8], [b, 20, 3, 17]]);
      const mark = await outboxMark(inv.db);

      inv.clock.advance(2 * MINUTE);
      await waitFor("the due reservations expired", async () => {
        for (const id of due) if ((await statusOf(inv, id)) !== "expired") return false;
        return true;
      });
      assert.deepEqual(await levels(inv, a, b), [[a, 20, 4, 16], [b, 20, 0, 20]], "only the longer reservation still holds stock");
      assert.equal(await statusOf(inv, later), "active");

      const expired = await outboxEvents(inv.db, ReservationExpiredSchema, mark);
      assert.deepEqual(expired.map((e) => e.orderId).sort(), [...due].sort());
      const first = expired.find((e) => e.orderId === due[0]);
      assert.deepEqual(first?.lines.map((l) => [l.sku, l.quantity]), [[b, 1], [a, 2]]);
      const changed = await outboxEvents(inv.db, StockChangedSchema, mark);
      assert.ok(changed.length > 0 && changed.every((e) => e.reason === "expired"));
      // The last StockChanged of each SKU carries the final level (absolute numbers, not deltas).
      const last = new Map(changed.map((e) => [e.sku, [e.onHand, e.reserved, e.available]]));
      assert.deepEqual([last.get(a), last.get(b)], [[20, 4, 16], [20, 0, 20]]);

      const listed = await inv.client.listReservations({ status: ReservationStatus.EXPIRED }, inv.admin);
      assert.deepEqual(listed.reservations.map((r) => r.releaseReason), due.map(() => "expired"));
    });

    it("an expired reservation cannot be committed, releases as a no-op, and replays as EXPIRED", async () => {
      const sku = await stockedSku(inv, 5);
      const id = orderId();
      await inv.client.reserveStock({ orderId: id, lines: [{ sku, quantity: 5 }], ttl: { seconds: 30n } });
      inv.clock.advance(MINUTE);
      await waitFor("the reservation expired", async () => (await statusOf(inv, id)) === "expired");
      const err = await rejectionOf(inv.client.commitReservation({ orderId: id }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /expired/);
      const released = (await inv.client.releaseReservation({ orderId: id, reason: "payment_declined" })).reservation!;
      assert.deepEqual([released.status, released.releaseReason], [ReservationStatus.EXPIRED, "expired"]);
      const replay = (await inv.client.reserveStock({ orderId: id, lines: [{ sku, quantity: 5 }] })).reservation!;
      assert.equal(replay.status, ReservationStatus.EXPIRED);
      assert.deepEqual(await levels(inv, sku), [[sku, 5, 0, 5]], "released once, held by nobody");
    });
  });

  describe("a commit after the ttl, before the job ran", () => {
    let inv: RunningInventory;

    before(async () => {
      // The job never runs during this test: the commit itself must notice.
      inv = await startInventory({ INVENTORY_EXPIRY_INTERVAL: "1h" });
    });

    after(async () => {
      await inv?.stop();
    });

    it("expires the reservation instead of selling it, with the same events as the job", async () => {
      const sku = await stockedSku(inv, 5);
      const id = orderId();
      await inv.client.reserveStock({ orderId: id, lines: [{ sku, quantity: 2 }], ttl: { seconds: 60n } });
      inv.clock.advance(MINUTE + 1);
      const mark = await outboxMark(inv.db);
      const err = await rejectionOf(inv.client.commitReservation({ orderId: id }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /expired/);
      assert.equal(await statusOf(inv, id), "expired");
      assert.deepEqual(await levels(inv, sku), [[sku, 5, 0, 5]]);
      assert.deepEqual((await outboxEvents(inv.db, ReservationExpiredSchema, mark)).map((e) => e.orderId), [id]);
      assert.deepEqual((await outboxEvents(inv.db, StockChangedSchema, mark)).map((e) => [e.reason, e.available]), [["expired", 5]]);
    });

    it("a commit just inside the ttl sells", async () => {
      const sku = await stockedSku(inv, 5);
      const id = orderId();
      await inv.client.reserveStock({ orderId: id, lines: [{ sku, quantity: 2 }], ttl: { seconds: 60n } });
      inv.clock.advance(MINUTE - 5000);
      assert.equal((await inv.client.commitReservation({ orderId: id })).reservation!.status, ReservationStatus.COMMITTED);
      assert.deepEqual(await levels(inv, sku), [[sku, 3, 0, 3]]);
    });
  });

  describe("outbox pruning", () => {
    let inv: RunningInventory;

    before(async () => {
      inv = await startInventory({ INVENTORY_OUTBOX_RETENTION: "300ms" });
    });

    after(async () => {
      await inv?.stop();
    });

    it("deletes events once published and older than the retention", async () => {
      const mark = await outboxMark(inv.db);
      await stockedSku(inv, 5);
      const { rows } = await inv.db.query<{ id: number }>("SELECT id FROM outbox WHERE id > $1", [mark]);
      assert.ok(rows.length > 0, "the adjustment enqueued its event");
      await waitFor("the published events pruned", async () => {
        const left = await inv.db.query("SELECT 1 FROM outbox WHERE id = ANY($1::bigint[])", [rows.map((r) => r.id)]);
        return left.rowCount === 0;
      });
    });
  });
});
