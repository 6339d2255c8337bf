// The inventory's rules in memory: availability, the low-stock crossing, adjustments, request
// lines, idempotent replays, what Commit and Release do in each state, shortage errors, and
// page tokens.
import assert from "node:assert/strict";
import { Code, type ShopError } from "../../../platform/errors.js";
import { decodePageToken, encodePageToken, pageSize } from "../page-token.js";
import {
  allocate,
  bySku,
  checkLines,
  commitDecision,
  releaseDecision,
  replayedReservation,
  sameLines,
  shortageError,
  type ReservationStatus,
  type StoredReservation,
} from "../reservation-rules.js";
import { adjusted, available, crossedIntoLow, isLow, unstocked, type StockLevel } from "../stock-rules.js";

const code = (c: Code) => (err: ShopError) => err.code === c;
const level = (onHand: number, reserved: number, lowStockThreshold = 5): StockLevel => ({ sku: "A", onHand, reserved, lowStockThreshold, updatedAt: undefined });
const now = new Date("2030-01-01T12:00:00Z");

describe("stock rules", () => {
  it("available is on hand minus reserved; a SKU never stocked has none", () => {
    assert.equal(available(level(10, 3)), 7);
    assert.deepEqual(unstocked("X", 4), { sku: "X", onHand: 0, reserved: 0, lowStockThreshold: 4, updatedAt: undefined });
  });

  it("is low at or below the threshold", () => {
    assert.equal(isLow(level(10, 4)), false);
    assert.equal(isLow(level(10, 5)), true);
    assert.equal(isLow(level(0, 0, 0)), true, "zero available is low even with threshold 0");
  });

  it("signals StockLow only when a level falls into low, not while it stays low or rises", () => {
    assert.equal(crossedIntoLow(level(10, 4), level(10, 5)), true);
    assert.equal(crossedIntoLow(level(10, 5), level(10, 6)), false, "already low");
    assert.equal(crossedIntoLow(level(10, 6), level(10, 4)), false, "rising");
    assert.equal(crossedIntoLow(level(10, 0, 5), level(10, 0, 10)), true, "a raised threshold is a crossing too");
  });

  it("adds and removes units and sets the threshold only when asked", () => {
    assert.deepEqual(adjusted(level(10, 2), { delta: 5, lowStockThreshold: undefined }, now), { ...level(15, 2), updatedAt: now });
    assert.deepEqual(adjusted(level(10, 2), { delta: -8, lowStockThreshold: 1 }, now), { ...level(2, 2, 1), updatedAt: now });
  });

  it("never removes units that are reserved, nor goes below zero", () => {
    assert.throws(() => adjusted(level(10, 3), { delta: -8, lowStockThreshold: undefined }, now), (err: ShopError) => {
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /3 reserved/);
      return true;
    });
    assert.throws(() => adjusted(level(0, 0), { delta: -1, lowStockThreshold: undefined }, now), code(Code.FAILED_PRECONDITION));
    assert.throws(() => adjusted(level(2 ** 31 - 10, 0), { delta: 10, lowStockThreshold: undefined }, now), code(Code.FAILED_PRECONDITION));
  });
});

describe("reservation rules", () => {
  const reservation = (status: ReservationStatus, extra: Partial<StoredReservation> = {}): StoredReservation => ({
    orderId: "0b7f3c1e-5d2a-4e8b-9c4f-1a2b3c4d5e6f",
    status,
    lines: [{ sku: "B", quantity: 2 }, { sku: "A", quantity: 1 }],
    createdAt: new Date(now.getTime() - 60_000),
    expiresAt: new Date(now.getTime() + 60_000),
    releaseReason: status === "released" ? "payment_declined" : status === "expired" ? "expired" : "",
    ...extra,
  });

  it("refuses two lines of one SKU, naming the second", () => {
    checkLines([{ sku: "A", quantity: 1 }, { sku: "B", quantity: 1 }]);
    assert.throws(() => checkLines([{ sku: "A", quantity: 1 }, { sku: "B", quantity: 1 }, { sku: "A", quantity: 2 }]), (err: ShopError) => {
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      assert.equal(err.violations[0]?.field, "lines[2].sku");
      return true;
    });
  });

  it("orders lines by SKU, byte-wise, without touching the input", () => {
    const lines = [{ sku: "b", quantity: 1 }, { sku: "B", quantity: 1 }, { sku: "A-2", quantity: 1 }];
    assert.deepEqual(bySku(lines).map((l) => l.sku), ["A-2", "B", "b"]);
    assert.deepEqual(lines.map((l) => l.sku), ["b", "B", "A-2"]);
  });

  it("compares lines as sets of (SKU, quantity)", () => {
    assert.equal(sameLines([{ sku: "A", quantity: 1 }, { sku: "B", quantity: 2 }], [{ sku: "B", quantity: 2 }, { sku: "A", quantity: 1 }]), true);
    assert.equal(sameLines([{ sku: "A", quantity: 1 }], [{ sku: "A", quantity: 2 }]), false);
    assert.equal(sameLines([{ sku: "A", quantity: 1 }], [{ sku: "A", quantity: 1 }, { sku: "B", quantity: 1 }]), false);
  });

  it("a replay with the same lines returns the reservation in whatever state it is; other lines are refused", () => {
    for (const status of ["active", "committed", "released", "expired"] as const) {
      const r = reservation(status);
      assert.equal(replayedReservation(r, [{ sku: "A", quantity: 1 }, { sku: "B", quantity: 2 }]), r);
    }
    assert.throws(() => replayedReservation(reservation("active"), [{ sku: "A", quantity: 1 }]), (err: ShopError) => {
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /other lines/);
      return true;
    });
  });

  it("a reserve after its order's release without a reservation (a tombstone) is refused", () => {
    assert.throws(() => replayedReservation(reservation("released", { lines: [] }), [{ sku: "A", quantity: 1 }]), (err: ShopError) => {
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /released before/);
      return true;
    });
  });

  it("commits an active reservation once, expires one past its time, refuses released and expired ones", () => {
    assert.equal(commitDecision(reservation("active"), now), "commit");
    assert.equal(commitDecision(reservation("committed"), now), "unchanged");
    assert.equal(commitDecision(reservation("active", { expiresAt: now }), now), "expire");
    assert.throws(() => commitDecision(reservation("released"), now), (err: ShopError) => err.code === Code.FAILED_PRECONDITION && /payment_declined/.test(err.message));
    assert.throws(() => commitDecision(reservation("expired"), now), (err: ShopError) => err.code === Code.FAILED_PRECONDITION && /expired/.test(err.message));
  });

  it("releases an active reservation once and refuses to release sold units", () => {
    assert.equal(releaseDecision(reservation("active")), "release");
    assert.equal(releaseDecision(reservation("released")), "unchanged");
    assert.equal(releaseDecision(reservation("expired")), "unchanged");
    assert.throws(() => releaseDecision(reservation("committed")), code(Code.FAILED_PRECONDITION));
  });

  it("names every short line in the message and in the details", () => {
    const err = shortageError([
      { index: 2, sku: "A", requested: 3, available: 1 },
      { index: 0, sku: "C", requested: 1, available: -2 },
    ]);
    assert.equal(err.code, Code.FAILED_PRECONDITION);
    assert.equal(err.message, "insufficient stock: A (requested 3, available 1), C (requested 1, available 0)");
    assert.deepEqual(err.violations, [
      { field: "lines[2].quantity", description: "A: requested 3, available 1" },
      { field: "lines[0].quantity", description: "C: requested 1, available 0" },
    ]);
  });
});

describe("allocating stock to a batch of orders", () => {
  const stock = (entries: Record<string, number>) => new Map(Object.entries(entries));

  it("serves orders first come first served until a SKU runs out, and never more than there is", () => {
    const orders = Array.from({ length: 5 }, () => [{ sku: "HOT", quantity: 2 }]);
    const { outcomes, reserved } = allocate(stock({ HOT: 7 }), orders);
    assert.deepEqual(outcomes.map((o) => o.ok), [true, true, true, false, false]);
    assert.deepEqual([...reserved], [["HOT", 6]]);
    const refused = outcomes[3]!;
    assert.ok(!refused.ok);
    assert.deepEqual(refused.shortages, [{ index: 0, sku: "HOT", requested: 2, available: 1 }]);
  });

  it("holds all of an order's lines or none, so a refused order leaves its other SKUs to the next ones", () => {
    const { outcomes, reserved } = allocate(stock({ A: 1, B: 5 }), [
      [{ sku: "B", quantity: 3 }, { sku: "A", quantity: 2 }],
      [{ sku: "B", quantity: 5 }],
      [{ sku: "A", quantity: 1 }, { sku: "C", quantity: 1 }],
    ]);
    assert.deepEqual(outcomes.map((o) => o.ok), [false, true, false]);
    assert.deepEqual([...reserved], [["B", 5]]);
    const [first, , third] = outcomes;
    assert.ok(first && !first.ok && third && !third.ok);
    assert.deepEqual(first.shortages, [{ index: 1, sku: "A", requested: 2, available: 1 }], "only the short line is named, by its request index");
    assert.deepEqual(third.shortages, [{ index: 1, sku: "C", requested: 1, available: 0 }], "a SKU never stocked has nothing");
  });

  it("lets a smaller later order take what a larger earlier one could not", () => {
    const { outcomes, reserved } = allocate(stock({ A: 3 }), [[{ sku: "A", quantity: 4 }], [{ sku: "A", quantity: 3 }], [{ sku: "A", quantity: 1 }]]);
    assert.deepEqual(outcomes.map((o) => o.ok), [false, true, false]);
    assert.deepEqual([...reserved], [["A", 3]]);
  });
});

describe("page tokens", () => {
  it("round-trips the key and refuses anything else as an invalid page_token", () => {
    const key = { time: new Date("2030-01-01T00:00:00.123Z"), id: "0b7f3c1e-5d2a-4e8b-9c4f-1a2b3c4d5e6f" };
    assert.deepEqual(decodePageToken(encodePageToken(key)), key);
    assert.equal(decodePageToken(""), undefined);
    for (const bad of ["not-base64-json", Buffer.from('{"t":"x","i":"y"}').toString("base64url"), Buffer.from("null").toString("base64url")]) {
      assert.throws(() => decodePageToken(bad), (err: ShopError) => err.code === Code.INVALID_ARGUMENT && err.violations[0]?.field === "page_token");
    }
    assert.equal(pageSize(0), 50);
    assert.equal(pageSize(7), 7);
  });
});
