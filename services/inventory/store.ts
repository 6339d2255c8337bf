// All of the inventory service's SQL, and the events each change enqueues in its transaction.
//
// Stock is only ever changed by single conditional or relative UPDATEs on one SKU's row, and
// every transaction that touches several SKUs does so in SKU order (reservation-rules.ts
// `bySku`): row locks are always taken in one global order, so concurrent reservations queue
// instead of deadlocking. A transaction that touches a reservation locks it before any stock.
import { ReservationExpiredSchema, StockChangedSchema, StockLowSchema } from "../../gen/shop/inventory/v1/events_pb.js";
import type { Db, Queryable } from "../../platform/db/db.js";
import { enqueueEvent } from "../../platform/events/index.js";
import type { PageKey } from "./page-token.js";
import type { ReservationLine, ReservationStatus, StoredReservation } from "./reservation-rules.js";
import { available, type StockLevel } from "./stock-rules.js";

/** StockChanged.reason values (events.proto). */
export type StockChangeReason = "adjustment" | "reserved" | "committed" | "released" | "expired" | "restocked";

interface StockRow {
  sku: string;
  on_hand: number;
  reserved: number;
  low_stock_threshold: number;
  updated_at: Date;
  [k: string]: unknown;
}

interface ReservationRow {
  order_id: string;
  status: ReservationStatus;
  created_at: Date;
  expires_at: Date;
  release_reason: string;
  [k: string]: unknown;
}

const STOCK_COLUMNS = "sku, on_hand, reserved, low_stock_threshold, updated_at";
const RESERVATION_COLUMNS = "order_id, status, created_at, expires_at, release_reason";

const toStock = (r: StockRow): StockLevel => ({
  sku: r.sku,
  onHand: r.on_hand,
  reserved: r.reserved,
  lowStockThreshold: r.low_stock_threshold,
  updatedAt: new Date(r.updated_at),
});

async function withLines(q: Queryable, rows: ReservationRow[]): Promise<StoredReservation[]> {
  if (rows.length === 0) return [];
  const { rows: lines } = await q.query<{ order_id: string; sku: string; quantity: number }>(
    "SELECT order_id, sku, quantity FROM reservation_lines WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, position",
    [rows.map((r) => r.order_id)],
  );
  const byOrder = new Map<string, ReservationLine[]>();
  for (const l of lines) {
    const list = byOrder.get(l.order_id) ?? [];
    list.push({ sku: l.sku, quantity: l.quantity });
    byOrder.set(l.order_id, list);
  }
  return rows.map((r) => ({
    orderId: r.order_id,
    status: r.status,
    lines: byOrder.get(r.order_id) ?? [],
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
    releaseReason: r.release_reason,
  }));
}

/** Adds `onHand` and `reserved` (either may be negative) to a SKU's row; the CHECKs guard the result. */
async function moveUnits(q: Queryable, sku: string, onHand: number, reserved: number, now: Date): Promise<StockLevel> {
  const { rows } = await q.query<StockRow>(
    `UPDATE stock SET on_hand = on_hand + $2, reserved = reserved + $3, updated_at = $4 WHERE sku = $1 RETURNING ${STOCK_COLUMNS}`,
    [sku, onHand, reserved, now],
  );
  const row = rows[0];
  // A reservation line always has its stock row: reserving required it, and rows are never deleted.
  if (!row) throw new Error(`stock row for ${sku} missing under a reservation`);
  return toStock(row);
}

export interface NewReservation {
  readonly orderId: string;
  readonly lines: readonly ReservationLine[];
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export interface InventoryTx {
  /**
   * Inserts each ACTIVE reservation and its lines unless its order already has one; returns the
   * order ids inserted. A concurrent claim of the same order waits until the first one commits
   * or rolls back. Order ids must be distinct.
   */
  claimAll(rs: readonly NewReservation[]): Promise<Set<string>>;
  /** Takes back reservations claimed in this transaction (their orders were refused). */
  unclaim(orderIds: readonly string[]): Promise<void>;
  /** The order's reservation, row-locked; undefined if there is none. */
  lock(orderId: string): Promise<StoredReservation | undefined>;
  /** The orders' reservations, row-locked in order id order; missing ones are left out. */
  lockAll(orderIds: readonly string[]): Promise<Map<string, StoredReservation>>;
  /** The SKUs' rows, row-locked in SKU order (one global order: no deadlocks); SKUs never stocked are left out. */
  lockStockRows(skus: readonly string[]): Promise<Map<string, StockLevel>>;
  /**
   * Moves units from available to reserved per SKU in one statement, guarded in SQL (a row
   * without enough available is not touched); throws, failing the transaction, if any SKU
   * could not take its units: callers decide under the rows' locks, so that is a bug.
   */
  reserveAll(units: ReadonlyMap<string, number>, now: Date): Promise<StockLevel[]>;
  /** Reserved units become sold: on_hand and reserved both drop. */
  sellUnits(sku: string, units: number, now: Date): Promise<StockLevel>;
  /** Reserved units become available again. */
  unreserveUnits(sku: string, units: number, now: Date): Promise<StockLevel>;
  /** Sold units are back on hand (and available). */
  restockUnits(sku: string, units: number, now: Date): Promise<StockLevel>;
  setStatus(orderId: string, status: ReservationStatus, releaseReason: string, now: Date): Promise<void>;
  /** A lineless RELEASED reservation (see reservation-rules.ts `isTombstone`); false if the order has one already. */
  tombstone(orderId: string, reason: string, now: Date): Promise<boolean>;
  /** Up to `limit` ACTIVE reservations due at `now`, locked; ones other transactions hold are skipped. */
  lockDue(now: Date, limit: number): Promise<StoredReservation[]>;
  /** The SKU's row, created empty if needed, locked. */
  lockStock(sku: string, defaultThreshold: number, now: Date): Promise<StockLevel>;
  writeStock(level: StockLevel, now: Date): Promise<void>;
  recordAdjustment(a: { sku: string; delta: number; reason: string; actor: string; onHandAfter: number; now: Date }): Promise<void>;
  stockChanged(level: StockLevel, reason: StockChangeReason): Promise<void>;
  stockLow(level: StockLevel): Promise<void>;
  reservationExpired(r: StoredReservation): Promise<void>;
}

function inventoryTx(q: Queryable): InventoryTx {
  return {
    async claimAll(rs) {
      if (rs.length === 0) return new Set();
      const lines = rs.flatMap((r) => r.lines.map((l, i) => ({ orderId: r.orderId, position: i + 1, sku: l.sku, quantity: l.quantity })));
      // Inserted in order id order, so two batches claiming overlapping orders wait, never deadlock.
      const { rows } = await q.query<{ order_id: string }>(
        `WITH claimed AS (
           INSERT INTO reservations (order_id, status, created_at, expires_at, updated_at)
           SELECT i.order_id, 'active', i.created_at, i.expires_at, i.created_at
           FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[]) AS i (order_id, created_at, expires_at)
           ORDER BY i.order_id
           ON CONFLICT (order_id) DO NOTHING
           RETURNING order_id),
         claimed_lines AS (
           INSERT INTO reservation_lines (order_id, position, sku, quantity)
           SELECT l.order_id, l.position, l.sku, l.quantity
           FROM unnest($4::uuid[], $5::int[], $6::text[], $7::int[]) AS l (order_id, position, sku, quantity)
           JOIN claimed USING (order_id))
         SELECT order_id FROM claimed`,
        [
          rs.map((r) => r.orderId),
          rs.map((r) => r.createdAt),
          rs.map((r) => r.expiresAt),
          lines.map((l) => l.orderId),
          lines.map((l) => l.position),
          lines.map((l) => l.sku),
          lines.map((l) => l.quantity),
        ],
      );
      return new Set(rows.map((r) => r.order_id));
    },

    async unclaim(orderIds) {
      if (orderIds.length > 0) await q.query("DELETE FROM reservations WHERE order_id = ANY($1::uuid[])", [orderIds]);
    },

    async lock(orderId) {
      const { rows } = await q.query<ReservationRow>(`SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE order_id = $1 FOR UPDATE`, [orderId]);
      return (await withLines(q, rows))[0];
    },

    async lockAll(orderIds) {
      if (orderIds.length === 0) return new Map();
      const { rows } = await q.query<ReservationRow>(
        `SELECT ${RESERVATION_COLUMNS} FROM reservations WHERE order_id = ANY($1::uuid[]) ORDER BY order_id FOR UPDATE`,
        [orderIds],
      );
      return new Map((await withLines(q, rows)).map((r) => [r.orderId, r]));
    },

    async lockStockRows(skus) {
      const { rows } = await q.query<StockRow>(`SELECT ${STOCK_COLUMNS} FROM stock WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE`, [skus]);
      return new Map(rows.map((r) => [r.sku, toStock(r)]));
    },

    async reserveAll(units, now) {
      if (units.size === 0) return [];
      const { rows } = await q.query<StockRow>(
        `UPDATE stock SET reserved = stock.reserved + u.units, updated_at = $3
         FROM unnest($1::text[], $2::int[]) AS u (sku, units)
         WHERE stock.sku = u.sku AND stock.on_hand - stock.reserved >= u.units
         RETURNING ${STOCK_COLUMNS.split(", ").map((c) => `stock.${c}`).join(", ")}`,
        [[...units.keys()], [...units.values()], now],
      );
      if (rows.length !== units.size) throw new Error(`reserving under lock moved ${rows.length} of ${units.size} SKUs: stock changed under its row lock`);
      return rows.map(toStock);
    },

    sellUnits: (sku, units, now) => moveUnits(q, sku, -units, -units, now),
    unreserveUnits: (sku, units, now) => moveUnits(q, sku, 0, -units, now),
    restockUnits: (sku, units, now) => moveUnits(q, sku, units, 0, now),

    async setStatus(orderId, status, releaseReason, now) {
      await q.query("UPDATE reservations SET status = $2, release_reason = $3, updated_at = $4 WHERE order_id = $1", [orderId, status, releaseReason, now]);
    },

    async tombstone(orderId, reason, now) {
      const { rowCount } = await q.query(
        `INSERT INTO reservations (order_id, status, created_at, expires_at, updated_at, release_reason)
         VALUES ($1, 'released', $2, $2, $2, $3) ON CONFLICT (order_id) DO NOTHING`,
        [orderId, now, reason],
      );
      return rowCount > 0;
    },

    async lockDue(now, limit) {
      const { rows } = await q.query<ReservationRow>(
        `SELECT ${RESERVATION_COLUMNS} FROM reservations
         WHERE status = 'active' AND expires_at <= $1
         ORDER BY expires_at LIMIT $2
         FOR UPDATE SKIP LOCKED`,
        [now, limit],
      );
      return withLines(q, rows);
    },

    async lockStock(sku, defaultThreshold, now) {
      await q.query(
        "INSERT INTO stock (sku, on_hand, reserved, low_stock_threshold, updated_at) VALUES ($1, 0, 0, $2, $3) ON CONFLICT (sku) DO NOTHING",
        [sku, defaultThreshold, now],
      );
      const { rows } = await q.query<StockRow>(`SELECT ${STOCK_COLUMNS} FROM stock WHERE sku = $1 FOR UPDATE`, [sku]);
      if (!rows[0]) throw new Error(`stock row for ${sku} vanished right after it was created`);
      return toStock(rows[0]);
    },

    async writeStock(level, now) {
      await q.query("UPDATE stock SET on_hand = $2, low_stock_threshold = $3, updated_at = $4 WHERE sku = $1", [
        level.sku,
        level.onHand,
        level.lowStockThreshold,
        now,
      ]);
    },

    async recordAdjustment(a) {
      await q.query(
        "INSERT INTO stock_adjustments (sku, delta, reason, actor, on_hand_after, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        [a.sku, a.delta, a.reason, a.actor, a.onHandAfter, a.now],
      );
    },

    async stockChanged(level, reason) {
      await enqueueEvent(q, StockChangedSchema, { sku: level.sku, onHand: level.onHand, reserved: level.reserved, available: available(level), reason });
    },

    async stockLow(level) {
      await enqueueEvent(q, StockLowSchema, { sku: level.sku, available: available(level), lowStockThreshold: level.lowStockThreshold });
    },

    async reservationExpired(r) {
      await enqueueEvent(q, ReservationExpiredSchema, { orderId: r.orderId, lines: r.lines.map((l) => ({ ...l })) });
    },
  };
}

export interface ReservationFilter {
  readonly after: PageKey | undefined;
  readonly limit: number;
  /** Undefined for all. */
  readonly status: ReservationStatus | undefined;
  /** "" for all. */
  readonly sku: string;
}

export interface InventoryStore {
  /** Rows of the SKUs that have one. */
  stock(skus: readonly string[]): Promise<Map<string, StockLevel>>;
  /** Oldest first, keyset on (created_at, order_id). */
  listReservations(filter: ReservationFilter): Promise<StoredReservation[]>;
  /** Runs `fn` in one transaction; `retries` reruns it after a deadlock or serialization failure. */
  transact<T>(fn: (tx: InventoryTx) => Promise<T>, opts?: { retries?: number }): Promise<T>;
}

export function createInventoryStore(db: Db): InventoryStore {
  return {
    async stock(skus) {
      const { rows } = await db.query<StockRow>(`SELECT ${STOCK_COLUMNS} FROM stock WHERE sku = ANY($1::text[])`, [skus]);
      return new Map(rows.map((r) => [r.sku, toStock(r)]));
    },

    async listReservations(f) {
      const { rows } = await db.query<ReservationRow>(
        `SELECT ${RESERVATION_COLUMNS} FROM reservations r
         WHERE ($1::timestamptz IS NULL OR (r.created_at, r.order_id) > ($1, $2::uuid))
           AND ($3::text IS NULL OR r.status = $3)
           AND ($4 = '' OR EXISTS (SELECT 1 FROM reservation_lines l WHERE l.order_id = r.order_id AND l.sku = $4))
         ORDER BY r.created_at, r.order_id
         LIMIT $5`,
        [f.after?.time ?? null, f.after?.id ?? null, f.status ?? null, f.sku, f.limit],
      );
      return withLines(db, rows);
    },

    transact: (fn, opts = {}) => db.tx((q) => fn(inventoryTx(q)), opts),
  };
}
