// The rules of reservations as plain functions: what a valid request is, when a repeated
// ReserveStock is the same request, and what Commit, Release and Restock do in each state. Every
// operation is idempotent by order id; these decide "no-op", "do it" or "refuse".
import { Code, failedPrecondition, fieldError, ShopError } from "../../platform/errors.js";

export type ReservationStatus = "active" | "committed" | "released" | "expired" | "restocked";

export interface ReservationLine {
  readonly sku: string;
  readonly quantity: number;
}

export interface StoredReservation {
  readonly orderId: string;
  readonly status: ReservationStatus;
  /** In request order. Empty only for a tombstone (see `isTombstone`). */
  readonly lines: readonly ReservationLine[];
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly releaseReason: string;
}

/** Why an automatic release happened, in `release_reason` and StockChanged.reason. */
export const EXPIRED_REASON = "expired";

/**
 * A release for an order that had no reservation leaves a lineless RELEASED row, so that a
 * ReserveStock delayed past its own compensation cannot hold stock nobody will release.
 */
export function isTombstone(r: StoredReservation): boolean {
  return r.lines.length === 0;
}

/** One line per SKU: two lines of one SKU are a caller's bug, not something to add up silently. */
export function checkLines(lines: readonly ReservationLine[]): void {
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    if (seen.has(line.sku)) throw fieldError(`lines[${i}].sku`, `${line.sku} appears in more than one line`);
    seen.add(line.sku);
  });
}

/** Lines in the order every transaction locks their SKUs: one global order, so no deadlocks. */
export function bySku<T extends { readonly sku: string }>(lines: readonly T[]): T[] {
  return [...lines].sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
}

/** Same SKUs with the same quantities, in any order. */
export function sameLines(a: readonly ReservationLine[], b: readonly ReservationLine[]): boolean {
  if (a.length !== b.length) return false;
  const x = bySku(a);
  const y = bySku(b);
  return x.every((l, i) => l.sku === y[i]?.sku && l.quantity === y[i]?.quantity);
}

/**
 * What a repeated ReserveStock for an order that already has a reservation returns: the
 * reservation itself, whatever its state, if the lines are the same (a saga retrying after a
 * crash); the ttl of the repeat is ignored. Different lines are refused.
 */
export function replayedReservation(existing: StoredReservation, lines: readonly ReservationLine[]): StoredReservation {
  if (isTombstone(existing)) {
    throw failedPrecondition(`order ${existing.orderId} was released before its stock was reserved; a released order cannot reserve`);
  }
  if (!sameLines(existing.lines, lines)) {
    throw failedPrecondition(`order ${existing.orderId} already has a reservation with other lines; an order reserves once`);
  }
  return existing;
}

export type CommitDecision = "commit" | "unchanged" | "expire";

/**
 * COMMITTED again is a no-op; RELEASED or EXPIRED cannot be sold. An ACTIVE reservation past its
 * expiry is expired right here, as the expiry job would, so whether a late commit succeeds
 * never depends on when the job last ran.
 */
export function commitDecision(r: StoredReservation, now: Date): CommitDecision {
  switch (r.status) {
    case "committed":
      return "unchanged";
    case "released":
    case "expired":
    case "restocked":
      throw notCommittable(r);
    case "active":
      return r.expiresAt.getTime() <= now.getTime() ? "expire" : "commit";
  }
}

export function notCommittable(r: StoredReservation): ShopError {
  const why = r.status === "expired" ? "expired" : `was ${r.status} (${r.releaseReason})`;
  return failedPrecondition(`the reservation for order ${r.orderId} ${why}; its stock is no longer held`);
}

export type ReleaseDecision = "release" | "unchanged";

/** RELEASED or EXPIRED again is a no-op; sold units do not come back by Release. */
export function releaseDecision(r: StoredReservation): ReleaseDecision {
  switch (r.status) {
    case "active":
      return "release";
    case "released":
    case "expired":
      return "unchanged";
    case "committed":
    case "restocked":
      throw failedPrecondition(`the reservation for order ${r.orderId} is ${r.status}; sold units come back by RestockReservation (a cancellation) or a stock adjustment (a return)`);
  }
}

export type RestockDecision = "restock" | "unchanged";

/** Only sold units go back on hand, once; held ones are released instead. */
export function restockDecision(r: StoredReservation): RestockDecision {
  switch (r.status) {
    case "committed":
      return "restock";
    case "restocked":
      return "unchanged";
    case "active":
      throw failedPrecondition(`the reservation for order ${r.orderId} is still held; release it instead of restocking`);
    case "released":
    case "expired":
      throw failedPrecondition(`the reservation for order ${r.orderId} ${r.status === "expired" ? "expired" : "was released"}; it sold nothing to restock`);
  }
}

export interface Shortage {
  /** Index of the line in the request. */
  readonly index: number;
  readonly sku: string;
  readonly requested: number;
  readonly available: number;
}

/**
 * FAILED_PRECONDITION naming every short line, as the contract asks. The short SKUs travel as
 * field violations (`lines[i].quantity`), the detail type the platform encodes.
 */
export function shortageError(shortages: readonly Shortage[]): ShopError {
  const each = shortages.map((s) => `${s.sku} (requested ${s.requested}, available ${Math.max(0, s.available)})`);
  return new ShopError(
    Code.FAILED_PRECONDITION,
    `insufficient stock: ${each.join(", ")}`,
    shortages.map((s) => ({ field: `lines[${s.index}].quantity`, description: `${s.sku}: requested ${s.requested}, available ${Math.max(0, s.available)}` })),
  );
}

export interface Allocation {
  /** Per request, in request order: accepted, or the shortages that refuse it. */
  readonly outcomes: readonly ({ readonly ok: true } | { readonly ok: false; readonly shortages: readonly Shortage[] })[];
  /** Units to move to reserved per SKU, for the accepted requests together. */
  readonly reserved: ReadonlyMap<string, number>;
}

/**
 * Which of several orders' reservations `available` (units per SKU, locked) can hold, first
 * come first served and all lines or none per order: what reserving them one after another
 * would give. A refused order names every line it is short on, with what was left for it.
 */
export function allocate(available: ReadonlyMap<string, number>, requests: readonly (readonly ReservationLine[])[]): Allocation {
  const left = new Map(available);
  const reserved = new Map<string, number>();
  const outcomes = requests.map((lines) => {
    const shortages: Shortage[] = bySku(lines)
      .filter((l) => (left.get(l.sku) ?? 0) < l.quantity)
      .map((l) => ({ index: lines.indexOf(l), sku: l.sku, requested: l.quantity, available: left.get(l.sku) ?? 0 }));
    if (shortages.length > 0) return { ok: false as const, shortages };
    for (const l of lines) {
      left.set(l.sku, (left.get(l.sku) ?? 0) - l.quantity);
      reserved.set(l.sku, (reserved.get(l.sku) ?? 0) + l.quantity);
    }
    return { ok: true as const };
  });
  return { outcomes, reserved };
}
