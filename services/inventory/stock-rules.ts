// The rules of stock as plain functions: what is available, when a SKU counts as low, and what
// an admin adjustment may do. The database enforces the same invariants (CHECKs in
// migrations/001_inventory.sql); these give the caller a typed, readable error first.
import { failedPrecondition } from "../../platform/errors.js";

export interface StockLevel {
  readonly sku: string;
  /** Physically in the warehouse, reserved units included. */
  readonly onHand: number;
  /** Held by active reservations. */
  readonly reserved: number;
  readonly lowStockThreshold: number;
  /** Undefined for a SKU that was never stocked. */
  readonly updatedAt: Date | undefined;
}

const INT32_MAX = 2 ** 31 - 1;

export function available(s: Pick<StockLevel, "onHand" | "reserved">): number {
  return s.onHand - s.reserved;
}

/** A SKU inventory has no row for: zero stock, not an error (the catalog may know it). */
export function unstocked(sku: string, lowStockThreshold: number): StockLevel {
  return { sku, onHand: 0, reserved: 0, lowStockThreshold, updatedAt: undefined };
}

export function isLow(s: Pick<StockLevel, "onHand" | "reserved" | "lowStockThreshold">): boolean {
  return available(s) <= s.lowStockThreshold;
}

/**
 * StockLow is sent when a SKU becomes low, not on every change while it stays low: one alert
 * per fall, and another only after a restock lifted it above the threshold again.
 */
export function crossedIntoLow(before: StockLevel, after: StockLevel): boolean {
  return !isLow(before) && isLow(after);
}

export interface Adjustment {
  readonly delta: number;
  /** Unset leaves the threshold as it is. */
  readonly lowStockThreshold: number | undefined;
}

/**
 * The level after an admin adds or removes units. Units held by reservations cannot be
 * removed: on_hand may fall to `reserved`, never below (a stocktake that finds fewer units than
 * are reserved must release reservations first).
 */
export function adjusted(before: StockLevel, adj: Adjustment, now: Date): StockLevel {
  const onHand = before.onHand + adj.delta;
  if (onHand < before.reserved) {
    const what = before.reserved > 0 ? `the ${before.reserved} reserved` : "zero";
    throw failedPrecondition(
      `cannot remove ${-adj.delta} units of ${before.sku}: ${before.onHand} on hand, removing them would leave fewer than ${what}`,
    );
  }
  if (onHand > INT32_MAX) throw failedPrecondition(`cannot add ${adj.delta} units of ${before.sku}: at most ${INT32_MAX} units on hand`);
  return { ...before, onHand, lowStockThreshold: adj.lowStockThreshold ?? before.lowStockThreshold, updatedAt: now };
}
