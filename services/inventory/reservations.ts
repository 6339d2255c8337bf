// The reservation operations, between the thin gRPC handlers (service.ts) and the store: each
// is one transaction that applies the rules of reservation-rules.ts to the order's locked
// reservation and moves stock SKU by SKU in SKU order, with its events in the same transaction.
import { notFound } from "../../platform/errors.js";
import type { Logger } from "../../platform/logger.js";
import { decodePageToken, encodePageToken, pageSize } from "./page-token.js";
import {
  bySku,
  checkLines,
  commitDecision,
  EXPIRED_REASON,
  isTombstone,
  notCommittable,
  releaseDecision,
  replayedReservation,
  shortageError,
  type ReservationLine,
  type ReservationStatus,
  type Shortage,
  type StoredReservation,
} from "./reservation-rules.js";
import { beforeReserving, crossedIntoLow } from "./stock-rules.js";
import type { InventoryStore, InventoryTx } from "./store.js";

export interface ReservationsDeps {
  readonly store: InventoryStore;
  readonly clock: () => Date;
  /** Hold time when ReserveStock asks for none. */
  readonly defaultTtlMs: number;
  readonly log: Logger;
}

export interface ReservationPage {
  readonly reservations: readonly StoredReservation[];
  readonly nextPageToken: string;
}

export interface Reservations {
  /** All lines or none; a repeat with the same lines returns the existing reservation. */
  reserve(orderId: string, lines: readonly ReservationLine[], ttlMs: number): Promise<StoredReservation>;
  commit(orderId: string): Promise<StoredReservation>;
  /** Undefined when the order had no reservation (which still succeeds). */
  release(orderId: string, reason: string): Promise<StoredReservation | undefined>;
  list(req: { pageSize: number; pageToken: string; status: ReservationStatus | undefined; sku: string }): Promise<ReservationPage>;
  /** Expires up to `limit` due reservations in one transaction; returns how many. */
  expireDue(limit: number): Promise<number>;
}

/** Gives back the units of `lines`, SKU by SKU in SKU order, with a StockChanged for each. */
async function unreserve(tx: InventoryTx, lines: readonly ReservationLine[], reason: "released" | "expired", now: Date): Promise<void> {
  for (const line of bySku(lines)) await tx.stockChanged(await tx.unreserveUnits(line.sku, line.quantity, now), reason);
}

async function expire(tx: InventoryTx, r: StoredReservation, now: Date): Promise<StoredReservation> {
  await unreserve(tx, r.lines, "expired", now);
  await tx.setStatus(r.orderId, "expired", EXPIRED_REASON, now);
  await tx.reservationExpired(r);
  return { ...r, status: "expired", releaseReason: EXPIRED_REASON };
}

export function createReservations(deps: ReservationsDeps): Reservations {
  const { store, clock, log } = deps;

  return {
    async reserve(rawOrderId, lines, ttlMs) {
      checkLines(lines);
      const orderId = rawOrderId.toLowerCase();
      return store.transact(async (tx) => {
        const now = clock();
        const created: StoredReservation = {
          orderId,
          status: "active",
          lines,
          createdAt: now,
          expiresAt: new Date(now.getTime() + (ttlMs > 0 ? ttlMs : deps.defaultTtlMs)),
          releaseReason: "",
        };
        if (!(await tx.claim(created))) {
          const existing = await tx.lock(orderId);
          if (!existing) throw new Error(`reservation for ${orderId} vanished after its claim conflicted`);
          return replayedReservation(existing, lines);
        }
        const sorted = bySku(lines);
        for (const [i, line] of sorted.entries()) {
          const after = await tx.reserveUnits(line.sku, line.quantity, now);
          if (after) {
            await tx.stockChanged(after, "reserved");
            if (crossedIntoLow(beforeReserving(after, line.quantity), after)) await tx.stockLow(after);
            continue;
          }
          // Throwing rolls back the claim and every line reserved so far. The lines before this
          // one were satisfiable; this one and any later short ones are reported.
          const rest = sorted.slice(i);
          const left = await tx.availableNow(rest.map((l) => l.sku));
          const shortages: Shortage[] = rest
            .map((l) => ({ index: lines.indexOf(l), sku: l.sku, requested: l.quantity, available: left.get(l.sku) ?? 0 }))
            .filter((s, j) => j === 0 || s.available < s.requested);
          throw shortageError(shortages);
        }
        return created;
      });
    },

    async commit(rawOrderId) {
      const orderId = rawOrderId.toLowerCase();
      const outcome = await store.transact(async (tx) => {
        const now = clock();
        const r = await tx.lock(orderId);
        if (!r) return { missing: true as const };
        const decision = commitDecision(r, now);
        if (decision === "unchanged") return { reservation: r };
        if (decision === "expire") return { expired: await expire(tx, r, now) };
        for (const line of bySku(r.lines)) await tx.stockChanged(await tx.sellUnits(line.sku, line.quantity, now), "committed");
        await tx.setStatus(orderId, "committed", "", now);
        return { reservation: { ...r, status: "committed" as const } };
      });
      if ("missing" in outcome) throw notFound("reservation for order", orderId);
      // The expiry must commit before the refusal, so it is thrown out here, not in the transaction.
      if ("expired" in outcome) {
        log.info("reservation expired at commit", { orderId });
        throw notCommittable(outcome.expired);
      }
      return outcome.reservation;
    },

    async release(rawOrderId, reason) {
      const orderId = rawOrderId.toLowerCase();
      return store.transact(async (tx) => {
        const now = clock();
        let r = await tx.lock(orderId);
        if (!r) {
          if (await tx.tombstone(orderId, reason, now)) return undefined;
          // A ReserveStock of this order committed while the tombstone waited on its insert:
          // release that reservation, or the compensation would leave its stock held.
          r = await tx.lock(orderId);
          if (!r) throw new Error(`reservation for ${orderId} vanished after its tombstone conflicted`);
        }
        if (isTombstone(r)) return undefined;
        if (releaseDecision(r) === "unchanged") return r;
        await unreserve(tx, r.lines, "released", now);
        await tx.setStatus(orderId, "released", reason, now);
        return { ...r, status: "released", releaseReason: reason };
      });
    },

    async list(req) {
      const limit = pageSize(req.pageSize);
      const rows = await store.listReservations({ after: decodePageToken(req.pageToken), limit: limit + 1, status: req.status, sku: req.sku });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        reservations: page,
        nextPageToken: rows.length > limit && last ? encodePageToken({ time: last.createdAt, id: last.orderId }) : "",
      };
    },

    expireDue(limit) {
      return store.transact(async (tx) => {
        const now = clock();
        const due = await tx.lockDue(now, limit);
        if (due.length === 0) return 0;
        // One pass over the SKUs of the whole batch, in SKU order (see store.ts): releasing
        // reservation by reservation would lock SKUs out of order across the batch.
        const units = new Map<string, number>();
        for (const r of due) for (const l of r.lines) units.set(l.sku, (units.get(l.sku) ?? 0) + l.quantity);
        await unreserve(tx, [...units].map(([sku, quantity]) => ({ sku, quantity })), "expired", now);
        for (const r of due) {
          await tx.setStatus(r.orderId, "expired", EXPIRED_REASON, now);
          await tx.reservationExpired(r);
        }
        return due.length;
      });
    },
  };
}
