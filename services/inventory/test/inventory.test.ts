// The inventory service on a real port and real PostgreSQL (users test double for the JWKS):
// stock reads, admin adjustments with their history and access checks, all-or-nothing
// reservations, idempotent replays, commit, release, listing, and the events each change
// puts in the outbox.
import assert from "node:assert/strict";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { StockChangedSchema, StockLowSchema } from "../../../gen/shop/inventory/v1/events_pb.js";
import { ReservationStatus, type Reservation } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { Code } from "../../../platform/errors.js";
import { createInventoryAvailability } from "../../cart/availability.js";
import {
  orderId,
  outboxEvents,
  outboxMark,
  outboxTypes,
  rejectionOf,
  startInventory,
  stockedSku,
  uniqueSku,
  type InventoryClient,
  type RunningInventory,
} from "./helpers.js";

const MINUTE = 60_000;

describe("inventory service (real PostgreSQL)", () => {
  let inv: RunningInventory;
  let client: InventoryClient;

  before(async () => {
    inv = await startInventory({ INVENTORY_LOW_STOCK_THRESHOLD: "3" });
    client = inv.client;
  });

  after(async () => {
    await inv?.stop();
  });

  const stockOf = async (sku: string) => (await client.getStock({ sku })).stock!;
  const levels = async (...skus: string[]) => (await client.batchGetStock({ skus })).stock.map((s) => [s.sku, s.onHand, s.reserved, s.available]);
  const reservationRows = async (id: string) => Number((await inv.db.query<{ n: number }>("SELECT count(*)::int AS n FROM reservations WHERE order_id = $1", [id])).rows[0]!.n);

  describe("reading stock", () => {
    it("answers zero stock, not NOT_FOUND, for a SKU never stocked", async () => {
      const s = await stockOf(uniqueSku("NEVER"));
      assert.deepEqual([s.onHand, s.reserved, s.available, s.lowStockThreshold, s.updateTime], [0, 0, 0, 3, undefined]);
    });

    it("answers a batch in request order, stocked and unstocked alike", async () => {
      const [a, b] = [await stockedSku(inv, 7), await stockedSku(inv, 2)];
      const never = uniqueSku("NEVER");
      assert.deepEqual(await levels(b, never, a), [[b, 2, 0, 2], [never, 0, 0, 0], [a, 7, 0, 7]]);
    });

    it("serves the cart's availability port (services/cart/availability.ts) as the cart calls it", async () => {
      const a = await stockedSku(inv, 4);
      await client.reserveStock({ orderId: orderId(), lines: [{ sku: a, quantity: 1 }] });
      const never = uniqueSku("NEVER");
      const units = await createInventoryAvailability(client).unitsAvailable([a, never]);
      assert.deepEqual([...units], [[a, 3], [never, 0]]);
    });
  });

  describe("admin adjustments", () => {
    it("adds and removes units with a reason, recorded in the history with the admin's id", async () => {
      const sku = uniqueSku();
      const added = (await client.adjustStock({ sku, delta: 10, reason: "delivery PO-1", lowStockThreshold: 2 }, inv.admin)).stock!;
      assert.deepEqual([added.onHand, added.reserved, added.available, added.lowStockThreshold], [10, 0, 10, 2]);
      assert.ok(added.updateTime);
      const removed = (await client.adjustStock({ sku, delta: -4, reason: "stocktake" }, inv.admin)).stock!;
      assert.deepEqual([removed.onHand, removed.lowStockThreshold], [6, 2], "an unset threshold stays");
      const { rows } = await inv.db.query("SELECT delta, reason, actor, on_hand_after FROM stock_adjustments WHERE sku = $1 ORDER BY id", [sku]);
      assert.deepEqual(rows, [
        { delta: 10, reason: "delivery PO-1", actor: inv.adminId, on_hand_after: 10 },
        { delta: -4, reason: "stocktake", actor: inv.adminId, on_hand_after: 6 },
      ]);
    });

    it("refuses to remove reserved units or go below zero, changing nothing", async () => {
      const sku = await stockedSku(inv, 5);
      await client.reserveStock({ orderId: orderId(), lines: [{ sku, quantity: 3 }] });
      const err = await rejectionOf(client.adjustStock({ sku, delta: -3, reason: "damaged" }, inv.admin));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /3 reserved/);
      assert.deepEqual(await levels(sku), [[sku, 5, 3, 2]]);
      const fresh = uniqueSku();
      assert.equal((await rejectionOf(client.adjustStock({ sku: fresh, delta: -1, reason: "oops" }, inv.admin))).code, Code.FAILED_PRECONDITION);
      assert.equal((await inv.db.query("SELECT 1 FROM stock WHERE sku = $1", [fresh])).rowCount, 0, "no row is left behind");
      const history = await inv.db.query("SELECT 1 FROM stock_adjustments WHERE sku = ANY($1)", [[sku, fresh]]);
      assert.equal(history.rowCount, 1, "only the initial delivery");
    });

    it("is for admins only: PERMISSION_DENIED for a customer, UNAUTHENTICATED without a token", async () => {
      const sku = uniqueSku();
      assert.equal((await rejectionOf(client.adjustStock({ sku, delta: 5, reason: "x" }, inv.customer))).code, Code.PERMISSION_DENIED);
      assert.equal((await rejectionOf(client.adjustStock({ sku, delta: 5, reason: "x" }))).code, Code.UNAUTHENTICATED);
      assert.equal((await rejectionOf(client.listReservations({}, inv.customer))).code, Code.PERMISSION_DENIED);
      assert.equal((await stockOf(sku)).onHand, 0);
    });

    it("checks the contract's bounds before anything runs: a reason is required, a zero delta is refused", async () => {
      const sku = uniqueSku();
      const noReason = await rejectionOf(client.adjustStock({ sku, delta: 5, reason: "" }, inv.admin));
      assert.equal(noReason.code, Code.INVALID_ARGUMENT);
      assert.equal(noReason.violations[0]?.field, "reason");
      assert.equal((await rejectionOf(client.adjustStock({ sku, delta: 0, reason: "x" }, inv.admin))).code, Code.INVALID_ARGUMENT);
    });

    it("emits StockChanged for every adjustment and StockLow when the level falls to the threshold", async () => {
      const sku = uniqueSku();
      const mark = await outboxMark(inv.db);
      await client.adjustStock({ sku, delta: 10, reason: "delivery", lowStockThreshold: 4 }, inv.admin);
      await client.adjustStock({ sku, delta: -6, reason: "damaged" }, inv.admin);
      await client.adjustStock({ sku, delta: -1, reason: "damaged" }, inv.admin);
      const changed = await outboxEvents(inv.db, StockChangedSchema, mark);
      assert.deepEqual(changed.map((e) => [e.sku, e.onHand, e.reserved, e.available, e.reason]), [
        [sku, 10, 0, 10, "adjustment"],
        [sku, 4, 0, 4, "adjustment"],
        [sku, 3, 0, 3, "adjustment"],
      ]);
      const low = await outboxEvents(inv.db, StockLowSchema, mark);
      assert.deepEqual(low.map((e) => [e.sku, e.available, e.lowStockThreshold]), [[sku, 4, 4]], "once, when it became low");
    });
  });

  describe("reserving", () => {
    it("holds every line, returns an ACTIVE reservation for the default 15 minutes, and emits StockChanged per SKU", async () => {
      const [a, b] = [await stockedSku(inv, 10), await stockedSku(inv, 10)];
      const id = orderId();
      const mark = await outboxMark(inv.db);
      const r = (await client.reserveStock({ orderId: id, lines: [{ sku: b, quantity: 2 }, { sku: a, quantity: 3 }] })).reservation!;
      assert.equal(r.orderId, id);
      assert.equal(r.status, ReservationStatus.ACTIVE);
      assert.deepEqual(r.lines.map((l) => [l.sku, l.quantity]), [[b, 2], [a, 3]], "in request order");
      assert.equal(timestampDate(r.expireTime!).getTime() - timestampDate(r.createTime!).getTime(), 15 * MINUTE);
      assert.deepEqual(await levels(a, b), [[a, 10, 3, 7], [b, 10, 2, 8]]);
      const changed = await outboxEvents(inv.db, StockChangedSchema, mark);
      assert.deepEqual(changed.map((e) => [e.sku, e.reserved, e.available, e.reason]).sort(), [[a, 3, 7, "reserved"], [b, 2, 8, "reserved"]].sort());
    });

    it("holds for the ttl the caller asks", async () => {
      const sku = await stockedSku(inv, 1);
      const r = (await client.reserveStock({ orderId: orderId(), lines: [{ sku, quantity: 1 }], ttl: { seconds: 90n } })).reservation!;
      assert.equal(timestampDate(r.expireTime!).getTime() - timestampDate(r.createTime!).getTime(), 90_000);
    });

    it("is all or nothing: one short line reserves nothing, and the error names the short SKUs", async () => {
      const [plenty, short] = [await stockedSku(inv, 10), await stockedSku(inv, 2)];
      const never = uniqueSku("NEVER");
      const id = orderId();
      const mark = await outboxMark(inv.db);
      const err = await rejectionOf(
        client.reserveStock({ orderId: id, lines: [{ sku: plenty, quantity: 5 }, { sku: short, quantity: 3 }, { sku: never, quantity: 1 }] }),
      );
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, new RegExp(`${short} \\(requested 3, available 2\\)`));
      const fields = err.violations.map((v) => v.field).sort();
      assert.deepEqual(fields, ["lines[1].quantity", "lines[2].quantity"]);
      assert.deepEqual(await levels(plenty, short), [[plenty, 10, 0, 10], [short, 2, 0, 2]]);
      assert.equal(await reservationRows(id), 0);
      assert.deepEqual(await outboxTypes(inv.db, mark), [], "no events from a refused reservation");
      // Nothing was held, so the same order may try again with what is there.
      const retry = (await client.reserveStock({ orderId: id, lines: [{ sku: plenty, quantity: 5 }, { sku: short, quantity: 2 }] })).reservation!;
      assert.equal(retry.status, ReservationStatus.ACTIVE);
    });

    it("emits StockLow when a reservation takes a SKU to its threshold", async () => {
      const sku = await stockedSku(inv, 5, 2);
      const mark = await outboxMark(inv.db);
      await client.reserveStock({ orderId: orderId(), lines: [{ sku, quantity: 2 }] });
      assert.deepEqual(await outboxEvents(inv.db, StockLowSchema, mark), []);
      await client.reserveStock({ orderId: orderId(), lines: [{ sku, quantity: 1 }] });
      await client.reserveStock({ orderId: orderId(), lines: [{ sku, quantity: 1 }] });
      const low = await outboxEvents(inv.db, StockLowSchema, mark);
      assert.deepEqual(low.map((e) => [e.sku, e.available, e.lowStockThreshold]), [[sku, 2, 2]]);
    });

    it("replays: the same order and lines return the same reservation and hold stock once", async () => {
      const [a, b] = [await stockedSku(inv, 10), await stockedSku(inv, 10)];
      const id = orderId();
      const first = (await client.reserveStock({ orderId: id, lines: [{ sku: a, quantity: 1 }, { sku: b, quantity: 2 }], ttl: { seconds: 60n } })).reservation!;
      const mark = await outboxMark(inv.db);
      const again = (await client.reserveStock({ orderId: id, lines: [{ sku: b, quantity: 2 }, { sku: a, quantity: 1 }] })).reservation!;
      assert.deepEqual(again, first, "the stored reservation, lines and times included; the repeat's ttl is ignored");
      assert.deepEqual(await levels(a, b), [[a, 10, 1, 9], [b, 10, 2, 8]]);
      assert.deepEqual(await outboxTypes(inv.db, mark), []);
      // The order id is a UUID in any case.
      assert.deepEqual((await client.reserveStock({ orderId: id.toUpperCase(), lines: first.lines })).reservation, first);
    });

    it("refuses the same order with other lines, holding nothing more", async () => {
      const sku = await stockedSku(inv, 10);
      const id = orderId();
      await client.reserveStock({ orderId: id, lines: [{ sku, quantity: 1 }] });
      const err = await rejectionOf(client.reserveStock({ orderId: id, lines: [{ sku, quantity: 2 }] }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /other lines/);
      assert.deepEqual(await levels(sku), [[sku, 10, 1, 9]]);
    });

    it("refuses malformed requests: an order id that is not a UUID, two lines of one SKU, a quantity out of bounds", async () => {
      const sku = await stockedSku(inv, 10);
      const badId = await rejectionOf(client.reserveStock({ orderId: "order-1", lines: [{ sku, quantity: 1 }] }));
      assert.deepEqual([badId.code, badId.violations[0]?.field], [Code.INVALID_ARGUMENT, "order_id"]);
      const dup = await rejectionOf(client.reserveStock({ orderId: orderId(), lines: [{ sku, quantity: 1 }, { sku, quantity: 1 }] }));
      assert.deepEqual([dup.code, dup.violations[0]?.field], [Code.INVALID_ARGUMENT, "lines[1].sku"]);
      const big = await rejectionOf(client.reserveStock({ orderId: orderId(), lines: [{ sku, quantity: 1001 }] }));
      assert.equal(big.code, Code.INVALID_ARGUMENT);
      assert.deepEqual(await levels(sku), [[sku, 10, 0, 10]]);
    });
  });

  describe("commit, release and restock", () => {
    async function reserved(units = 2): Promise<{ sku: string; id: string; r: Reservation }> {
      const sku = await stockedSku(inv, 10);
      const id = orderId();
      const r = (await client.reserveStock({ orderId: id, lines: [{ sku, quantity: units }] })).reservation!;
      return { sku, id, r };
    }

    it("commit sells the held units (on hand and reserved drop, available stays) and is a no-op the second time", async () => {
      const { sku, id } = await reserved(2);
      const mark = await outboxMark(inv.db);
      const committed = (await client.commitReservation({ orderId: id })).reservation!;
      assert.equal(committed.status, ReservationStatus.COMMITTED);
      assert.deepEqual(await levels(sku), [[sku, 8, 0, 8]]);
      const changed = await outboxEvents(inv.db, StockChangedSchema, mark);
      assert.deepEqual(changed.map((e) => [e.sku, e.onHand, e.reserved, e.available, e.reason]), [[sku, 8, 0, 8, "committed"]]);
      const mark2 = await outboxMark(inv.db);
      assert.deepEqual((await client.commitReservation({ orderId: id })).reservation, committed);
      assert.deepEqual(await levels(sku), [[sku, 8, 0, 8]]);
      assert.deepEqual(await outboxTypes(inv.db, mark2), []);
    });

    it("a committed reservation cannot be released; an unknown order cannot be committed", async () => {
      const { sku, id } = await reserved(2);
      await client.commitReservation({ orderId: id });
      assert.equal((await rejectionOf(client.releaseReservation({ orderId: id, reason: "order_cancelled" }))).code, Code.FAILED_PRECONDITION);
      assert.deepEqual(await levels(sku), [[sku, 8, 0, 8]]);
      assert.equal((await rejectionOf(client.commitReservation({ orderId: orderId() }))).code, Code.NOT_FOUND);
    });

    it("release gives the units back with the reason, is a no-op the second time, and cannot be committed after", async () => {
      const { sku, id } = await reserved(3);
      const mark = await outboxMark(inv.db);
      const released = (await client.releaseReservation({ orderId: id, reason: "payment_declined" })).reservation!;
      assert.deepEqual([released.status, released.releaseReason], [ReservationStatus.RELEASED, "payment_declined"]);
      assert.deepEqual(await levels(sku), [[sku, 10, 0, 10]]);
      const changed = await outboxEvents(inv.db, StockChangedSchema, mark);
      assert.deepEqual(changed.map((e) => [e.sku, e.reserved, e.available, e.reason]), [[sku, 0, 10, "released"]]);

      const again = (await client.releaseReservation({ orderId: id, reason: "order_cancelled" })).reservation!;
      assert.deepEqual(again, released, "the final state, first reason kept");
      assert.deepEqual(await levels(sku), [[sku, 10, 0, 10]]);
      const err = await rejectionOf(client.commitReservation({ orderId: id }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /payment_declined/);
      // A replayed Reserve returns the released reservation: the order does not hold stock again.
      assert.equal((await client.reserveStock({ orderId: id, lines: [{ sku, quantity: 3 }] })).reservation!.status, ReservationStatus.RELEASED);
      assert.deepEqual(await levels(sku), [[sku, 10, 0, 10]]);
    });

    it("restock puts a committed order's units back on hand with the reason, once; only a committed reservation restocks", async () => {
      const { sku, id } = await reserved(3);
      assert.equal((await rejectionOf(client.restockReservation({ orderId: id, reason: "order_cancel" }))).code, Code.FAILED_PRECONDITION, "held units are released, not restocked");
      await client.commitReservation({ orderId: id });
      assert.deepEqual(await levels(sku), [[sku, 7, 0, 7]]);
      const mark = await outboxMark(inv.db);
      const restocked = (await client.restockReservation({ orderId: id, reason: "order_cancel" })).reservation!;
      assert.deepEqual([restocked.status, restocked.releaseReason], [ReservationStatus.RESTOCKED, "order_cancel"]);
      assert.deepEqual(await levels(sku), [[sku, 10, 0, 10]]);
      const changed = await outboxEvents(inv.db, StockChangedSchema, mark);
      assert.deepEqual(changed.map((e) => [e.sku, e.onHand, e.reserved, e.available, e.reason]), [[sku, 10, 0, 10, "restocked"]]);

      const mark2 = await outboxMark(inv.db);
      assert.deepEqual((await client.restockReservation({ orderId: id, reason: "again" })).reservation, restocked, "a replay is a no-op: first reason kept");
      assert.deepEqual(await levels(sku), [[sku, 10, 0, 10]]);
      assert.deepEqual(await outboxTypes(inv.db, mark2), []);
      for (const refused of [client.commitReservation({ orderId: id }), client.releaseReservation({ orderId: id, reason: "x" })]) {
        assert.equal((await rejectionOf(refused)).code, Code.FAILED_PRECONDITION);
      }
      const listed = await client.listReservations({ status: ReservationStatus.RESTOCKED, sku, pageSize: 10 }, inv.admin);
      assert.deepEqual(listed.reservations.map((r) => r.orderId), [id]);

      const released = await reserved(1);
      await client.releaseReservation({ orderId: released.id, reason: "payment_declined" });
      assert.equal((await rejectionOf(client.restockReservation({ orderId: released.id, reason: "order_cancel" }))).code, Code.FAILED_PRECONDITION);
      assert.equal((await rejectionOf(client.restockReservation({ orderId: orderId(), reason: "order_cancel" }))).code, Code.NOT_FOUND);
      assert.equal((await rejectionOf(client.restockReservation({ orderId: id, reason: "" }))).code, Code.INVALID_ARGUMENT);
    });

    it("releasing an order that never reserved succeeds, and a Reserve arriving after it holds nothing", async () => {
      const sku = await stockedSku(inv, 10);
      const id = orderId();
      const res = await client.releaseReservation({ orderId: id, reason: "checkout_timeout" });
      assert.equal(res.reservation, undefined);
      assert.equal((await client.releaseReservation({ orderId: id, reason: "checkout_timeout" })).reservation, undefined);
      const late = await rejectionOf(client.reserveStock({ orderId: id, lines: [{ sku, quantity: 1 }] }));
      assert.equal(late.code, Code.FAILED_PRECONDITION);
      assert.match(late.message, /released before/);
      assert.deepEqual(await levels(sku), [[sku, 10, 0, 10]]);
    });
  });

  describe("listing reservations", () => {
    it("lists oldest first with page tokens, filtered by status and SKU", async () => {
      const sku = await stockedSku(inv, 100);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const id = orderId();
        ids.push(id);
        await client.reserveStock({ orderId: id, lines: [{ sku, quantity: 1 }] });
        inv.clock.advance(1); // distinct creation times
      }
      await client.commitReservation({ orderId: ids[1]! });
      await client.releaseReservation({ orderId: ids[3]!, reason: "payment_declined" });

      const seen: string[] = [];
      let pageToken = "";
      do {
        const page = await client.listReservations({ sku, pageSize: 2, pageToken }, inv.admin);
        assert.ok(page.reservations.length <= 2);
        seen.push(...page.reservations.map((r) => r.orderId));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      assert.deepEqual(seen, ids);

      const active = await client.listReservations({ sku, status: ReservationStatus.ACTIVE }, inv.admin);
      assert.deepEqual(active.reservations.map((r) => r.orderId), [ids[0], ids[2], ids[4]]);
      const released = await client.listReservations({ sku, status: ReservationStatus.RELEASED }, inv.admin);
      assert.deepEqual(released.reservations.map((r) => [r.orderId, r.releaseReason]), [[ids[3], "payment_declined"]]);
      assert.equal((await client.listReservations({ sku: uniqueSku("NONE") }, inv.admin)).reservations.length, 0);
      const bad = await rejectionOf(client.listReservations({ pageToken: "garbage" }, inv.admin));
      assert.deepEqual([bad.code, bad.violations[0]?.field], [Code.INVALID_ARGUMENT, "page_token"]);
    });
  });
});
