// The reservation operations, between the thin gRPC handlers (service.ts) and the store: each
// is one transaction that applies the rules of reservation-rules.ts to the order's locked
// reservation and moves stock SKU by SKU in SKU order, with its events in the same transaction.
import { notFound } from "../../platform/errors.js";
import type { Logger } from "../../platform/logger.js";
import { decodePageToken, encodePageToken, pageSize } from "./page-token.js";
import {
  allocate,
  bySku,
  checkLines,
  commitDecision,
  EXPIRED_REASON,
  isTombstone,
  notCommittable,
  releaseDecision,
  replayedReservation,
  restockDecision,
  shortageError,
  type ReservationLine,
  type ReservationStatus,
  type StoredReservation,
} from "./reservation-rules.js";
import { createCombiner, type Settled } from "./combiner.js";
import { available, crossedIntoLow } from "./stock-rules.js";
import type { InventoryStore, InventoryTx } from "./store.js";

export interface ReservationsDeps {
  readonly store: InventoryStore;
  readonly clock: () => Date;
  /** Hold time when ReserveStock asks for none. */
  readonly defaultTtlMs: number;
  /** Reservations of one SKU set committed in one transaction at most. */
  readonly maxBatch: number;
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
  /** A committed reservation's units back on hand; NOT_FOUND for an unknown order. */
  restock(orderId: string, reason: string): Promise<StoredReservation>;
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

interface ReserveRequest {
  readonly orderId: string;
  readonly lines: readonly ReservationLine[];
  readonly ttlMs: number;
}

/**
 * Orders reserving the same set of SKUs share a lane of the combiner, so a hot SKU's orders
 * meet in one batch while orders of other SKUs do not wait for it.
 */
const laneOf = (lines: readonly ReservationLine[]) => bySku(lines).map((l) => l.sku).join("\u0000");

/**
 * Reserves a batch of orders in the caller's transaction with a fixed number of statements,
 * whatever the batch's size: claim every order's reservation (an order that has one already is
 * a replay, answered by `replayedReservation`), lock the SKUs' rows, decide first come first
 * served which orders the stock holds (`allocate`, all lines or none), move the units of all
 * of them in one guarded UPDATE, take back the claims of the refused ones, and send one
 * StockChanged per SKU with the numbers the batch left (events carry absolute levels, so the
 * steps in between would say nothing more). Each order gets the outcome it would have got alone.
 */
async function reserveBatch(tx: InventoryTx, batch: readonly ReserveRequest[], now: Date, defaultTtlMs: number): Promise<Settled<StoredReservation>[]> {
  const outcomes = new Array<Settled<StoredReservation>>(batch.length);
  // One order id twice in a batch: the later copy waits for a pass of its own, as if it came after.
  let pending = batch.map((req, i) => ({ req, i }));
  while (pending.length > 0) {
    const pass: typeof pending = [];
    const later: typeof pending = [];
    const ids = new Set<string>();
    for (const p of pending) {
      if (ids.has(p.req.orderId)) later.push(p);
      else {
        ids.add(p.req.orderId);
        pass.push(p);
      }
    }
    pending = later;

    const created = new Map(
      pass.map(({ req }) => [
        req.orderId,
        {
          orderId: req.orderId,
          status: "active",
          lines: req.lines,
          createdAt: now,
          expiresAt: new Date(now.getTime() + (req.ttlMs > 0 ? req.ttlMs : defaultTtlMs)),
          releaseReason: "",
        } satisfies StoredReservation,
      ]),
    );
    const claimed = await tx.claimAll([...created.values()]);
    const replays = pass.filter(({ req }) => !claimed.has(req.orderId));
    const existing = await tx.lockAll(replays.map(({ req }) => req.orderId));
    for (const { req, i } of replays) {
      const r = existing.get(req.orderId);
      try {
        if (!r) throw new Error(`reservation for ${req.orderId} vanished after its claim conflicted`);
        outcomes[i] = { ok: true, value: replayedReservation(r, req.lines) };
      } catch (error) {
        outcomes[i] = { ok: false, error };
      }
    }

    const fresh = pass.filter(({ req }) => claimed.has(req.orderId));
    if (fresh.length === 0) continue;
    const skus = [...new Set(fresh.flatMap(({ req }) => req.lines.map((l) => l.sku)))];
    const before = await tx.lockStockRows(skus);
    const { outcomes: allocated, reserved } = allocate(new Map([...before].map(([sku, level]) => [sku, available(level)])), fresh.map(({ req }) => req.lines));
    const refused: string[] = [];
    fresh.forEach(({ req, i }, j) => {
      const a = allocated[j]!;
      if (a.ok) outcomes[i] = { ok: true, value: created.get(req.orderId)! };
      else {
        outcomes[i] = { ok: false, error: shortageError(a.shortages) };
        refused.push(req.orderId);
      }
    });
    for (const after of bySku(await tx.reserveAll(reserved, now))) {
      await tx.stockChanged(after, "reserved");
      if (crossedIntoLow(before.get(after.sku)!, after)) await tx.stockLow(after);
    }
    await tx.unclaim(refused);
  }
  return outcomes;
}

export function createReservations(deps: ReservationsDeps): Reservations {
  const { store, clock, log } = deps;

  // Concurrent reservations of the same SKUs commit together (reserveBatch): a hot SKU costs
  // one row-lock hold, a handful of statements and one commit (fsync) per batch instead of per
  // order. A refusal (shortage, a replay with other lines) is one order's outcome; anything
  // else fails the batch, which its callers see as INTERNAL and retry (the saga does).
  const combiner = createCombiner<ReserveRequest, StoredReservation>({
    maxBatch: deps.maxBatch,
    // A batch of another replica may hold a claim this one waits for while waiting for ours.
    run: (batch) => store.transact((tx) => reserveBatch(tx, batch, clock(), deps.defaultTtlMs), { retries: 3 }),
  });

  return {
    async reserve(rawOrderId, lines, ttlMs) {
      checkLines(lines);
      return combiner.submit(laneOf(lines), { orderId: rawOrderId.toLowerCase(), lines, ttlMs });
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

    async restock(rawOrderId, reason) {
      const orderId = rawOrderId.toLowerCase();
      const r = await store.transact(async (tx) => {
        const now = clock();
        const r = await tx.lock(orderId);
        if (!r) return undefined;
        if (restockDecision(r) === "unchanged") return r;
        for (const line of bySku(r.lines)) await tx.stockChanged(await tx.restockUnits(line.sku, line.quantity, now), "restocked");
        await tx.setStatus(orderId, "restocked", reason, now);
        return { ...r, status: "restocked" as const, releaseReason: reason };
      });
      if (!r) throw notFound("reservation for order", orderId);
      return r;
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
