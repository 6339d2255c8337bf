// All of the shipping service's SQL: the rate table, shipments with their items and tracking
// history, and the events that go with each change. Every time comes from the caller (the
// service's clock or the carrier's event time).
//
// Writes go through `ShippingTx`, bound to one transaction: `lock` takes the shipment's row lock
// first, so a webhook, an admin and the tracking job changing one shipment are serialized, and
// an event enqueued here commits with the change it describes or not at all. `within(q)` binds
// the same operations to an event consumer's inbox transaction.
import type { PageKey } from "../../platform/page-token.js";
import { ShipmentCreatedSchema, ShipmentDeliveredSchema, ShipmentShippedSchema, TrackingUpdatedSchema } from "../../gen/shop/shipping/v1/events_pb.js";
import type { Db, Queryable } from "../../platform/db/db.js";
import { enqueueEvent } from "../../platform/events/index.js";
import { toProtoTrackingEvent } from "./proto-mapping.js";
import type { RateTable, Speed } from "./rates.js";
import type { ShipmentStatus } from "./shipment-status.js";
import type { Shipment, ShipmentItem, TrackingScan } from "./shipment.js";

interface ShipmentRow {
  id: string;
  order_id: string;
  user_id: string;
  status: ShipmentStatus;
  speed: Speed;
  recipient_name: string;
  line1: string;
  line2: string;
  city: string;
  region: string;
  postal_code: string;
  country_code: string;
  phone: string;
  total_weight_grams: number;
  carrier: string;
  tracking_number: string | null;
  label_created_at: Date | null;
  shipped_at: Date | null;
  delivered_at: Date | null;
  estimated_delivery_at: Date | null;
  status_time: Date;
  next_check_at: Date | null;
  created_at: Date;
  updated_at: Date;
  [k: string]: unknown;
}

interface ScanRow {
  event_id: string;
  status: ShipmentStatus;
  description: string;
  location: string;
  event_time: Date;
  [k: string]: unknown;
}

const SHIPMENT_COLUMNS = `id, order_id, user_id, status, speed, recipient_name, line1, line2, city, region, postal_code,
  country_code, phone, total_weight_grams, carrier, tracking_number, label_created_at, shipped_at, delivered_at,
  estimated_delivery_at, status_time, next_check_at, created_at, updated_at`;

const date = (d: Date | null) => (d === null ? undefined : new Date(d));

function toShipment(r: ShipmentRow, items: readonly ShipmentItem[]): Shipment {
  return {
    id: r.id,
    orderId: r.order_id,
    userId: r.user_id,
    status: r.status,
    speed: r.speed,
    destination: {
      recipientName: r.recipient_name,
      line1: r.line1,
      line2: r.line2,
      city: r.city,
      region: r.region,
      postalCode: r.postal_code,
      countryCode: r.country_code,
      phone: r.phone,
    },
    items,
    totalWeightGrams: r.total_weight_grams,
    carrier: r.carrier,
    trackingNumber: r.tracking_number ?? undefined,
    labelCreatedAt: date(r.label_created_at),
    shippedAt: date(r.shipped_at),
    deliveredAt: date(r.delivered_at),
    estimatedDeliveryAt: date(r.estimated_delivery_at),
    statusTime: new Date(r.status_time),
    nextCheckAt: date(r.next_check_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

const toScan = (r: ScanRow): TrackingScan => ({
  eventId: r.event_id,
  status: r.status,
  description: r.description,
  location: r.location,
  eventTime: new Date(r.event_time),
});

/** Shipments of `rows` with their items, in the rows' order. */
async function withItems(q: Queryable, rows: readonly ShipmentRow[]): Promise<Shipment[]> {
  if (rows.length === 0) return [];
  const { rows: items } = await q.query<{ shipment_id: string; sku: string; quantity: number }>(
    "SELECT shipment_id, sku, quantity FROM shipment_items WHERE shipment_id = ANY($1::uuid[]) ORDER BY shipment_id, position",
    [rows.map((r) => r.id)],
  );
  const byShipment = new Map<string, ShipmentItem[]>();
  for (const i of items) {
    const list = byShipment.get(i.shipment_id) ?? [];
    list.push({ sku: i.sku, quantity: i.quantity });
    byShipment.set(i.shipment_id, list);
  }
  return rows.map((r) => toShipment(r, byShipment.get(r.id) ?? []));
}

async function one(q: Queryable, where: string, params: readonly unknown[]): Promise<Shipment | undefined> {
  const { rows } = await q.query<ShipmentRow>(`SELECT ${SHIPMENT_COLUMNS} FROM shipments WHERE ${where}`, params);
  return (await withItems(q, rows))[0];
}

/** The whole rate table (a few hundred rows), read through `q`. */
async function loadRateTable(q: Queryable): Promise<RateTable> {
  const destinations = await q.query<{ country_code: string; region: string; zone_code: string }>("SELECT country_code, region, zone_code FROM zone_destinations");
  const services = await q.query<{ zone_code: string; speed: Speed; carrier: string; min_transit_days: number; max_transit_days: number }>(
    "SELECT zone_code, speed, carrier, min_transit_days, max_transit_days FROM zone_services ORDER BY zone_code, speed",
  );
  const brackets = await q.query<{ zone_code: string; speed: Speed; currency_code: string; max_weight_grams: number; price: string }>(
    "SELECT zone_code, speed, currency_code, max_weight_grams, price_minor::text AS price FROM rate_brackets",
  );
  return {
    destinations: destinations.rows.map((r) => ({ country: r.country_code, region: r.region, zone: r.zone_code })),
    services: services.rows.map((r) => ({
      zone: r.zone_code,
      speed: r.speed,
      carrier: r.carrier,
      minTransitDays: r.min_transit_days,
      maxTransitDays: r.max_transit_days,
    })),
    // Read as text: exact whatever the driver does with int8.
    brackets: brackets.rows.map((r) => ({
      zone: r.zone_code,
      speed: r.speed,
      currency: r.currency_code,
      maxWeightGrams: r.max_weight_grams,
      priceMinor: BigInt(r.price),
    })),
  };
}

export interface ShippingTx {
  /** The shipment, row-locked until the transaction ends. */
  lock(id: string): Promise<Shipment | undefined>;
  /** The shipment if it is due for the tracking job at `now` and no one else holds it. */
  lockDue(id: string, now: Date): Promise<Shipment | undefined>;
  byOrder(orderId: string): Promise<Shipment | undefined>;
  /** False when the order already has a shipment (nothing written). */
  insert(s: Shipment): Promise<boolean>;
  /** Writes every mutable field of `s`. */
  save(s: Shipment): Promise<void>;
  /** Adds to the history; false if the shipment already has an event with this id. */
  addScan(shipmentId: string, scan: TrackingScan, recordedAt: Date): Promise<boolean>;
  markOrderCancelled(orderId: string, at: Date): Promise<void>;
  isOrderCancelled(orderId: string): Promise<boolean>;
  shipmentCreated(s: Shipment): Promise<void>;
  shipmentShipped(s: Shipment): Promise<void>;
  shipmentDelivered(s: Shipment): Promise<void>;
  trackingUpdated(s: Shipment, scan: TrackingScan): Promise<void>;
  /** The rate table read in this transaction (see RateBook.service). */
  loadRateTable(): Promise<RateTable>;
}

function shippingTx(q: Queryable): ShippingTx {
  const ids = (s: Shipment) => ({ shipmentId: s.id, orderId: s.orderId, userId: s.userId });
  return {
    lock: (id) => one(q, "id = $1 FOR UPDATE", [id]),
    lockDue: (id, now) => one(q, "id = $1 AND next_check_at <= $2 FOR UPDATE SKIP LOCKED", [id, now]),
    byOrder: (orderId) => one(q, "order_id = $1", [orderId]),

    async insert(s) {
      const d = s.destination;
      const { rowCount } = await q.query(
        `INSERT INTO shipments (${SHIPMENT_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
         ON CONFLICT (order_id) DO NOTHING`,
        [
          s.id, s.orderId, s.userId, s.status, s.speed, d.recipientName, d.line1, d.line2, d.city, d.region, d.postalCode,
          d.countryCode, d.phone, s.totalWeightGrams, s.carrier, s.trackingNumber ?? null, s.labelCreatedAt ?? null,
          s.shippedAt ?? null, s.deliveredAt ?? null, s.estimatedDeliveryAt ?? null, s.statusTime, s.nextCheckAt ?? null,
          s.createdAt, s.updatedAt,
        ],
      );
      if (rowCount === 0) return false;
      await q.query(
        `INSERT INTO shipment_items (shipment_id, position, sku, quantity)
         SELECT $1, p, sku, quantity FROM unnest($2::text[], $3::int[]) WITH ORDINALITY AS i (sku, quantity, p)`,
        [s.id, s.items.map((i) => i.sku), s.items.map((i) => i.quantity)],
      );
      return true;
    },

    async save(s) {
      await q.query(
        `UPDATE shipments SET status = $2, tracking_number = $3, label_created_at = $4, shipped_at = $5, delivered_at = $6,
           estimated_delivery_at = $7, status_time = $8, next_check_at = $9, updated_at = $10, total_weight_grams = $11
         WHERE id = $1`,
        [
          s.id, s.status, s.trackingNumber ?? null, s.labelCreatedAt ?? null, s.shippedAt ?? null, s.deliveredAt ?? null,
          s.estimatedDeliveryAt ?? null, s.statusTime, s.nextCheckAt ?? null, s.updatedAt, s.totalWeightGrams,
        ],
      );
    },

    async addScan(shipmentId, scan, recordedAt) {
      const { rowCount } = await q.query(
        `INSERT INTO tracking_events (shipment_id, event_id, status, description, location, event_time, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (shipment_id, event_id) DO NOTHING`,
        [shipmentId, scan.eventId, scan.status, scan.description, scan.location, scan.eventTime, recordedAt],
      );
      return rowCount === 1;
    },

    async markOrderCancelled(orderId, at) {
      await q.query("INSERT INTO cancelled_orders (order_id, cancelled_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", [orderId, at]);
    },

    async isOrderCancelled(orderId) {
      const { rowCount } = await q.query("SELECT 1 FROM cancelled_orders WHERE order_id = $1", [orderId]);
      return rowCount > 0;
    },

    async shipmentCreated(s) {
      await enqueueEvent(q, ShipmentCreatedSchema, ids(s));
    },
    async shipmentShipped(s) {
      await enqueueEvent(q, ShipmentShippedSchema, { ...ids(s), carrier: s.carrier, trackingNumber: s.trackingNumber ?? "" });
    },
    async shipmentDelivered(s) {
      await enqueueEvent(q, ShipmentDeliveredSchema, ids(s));
    },
    async trackingUpdated(s, scan) {
      await enqueueEvent(q, TrackingUpdatedSchema, { ...ids(s), event: toProtoTrackingEvent(scan) });
    },
    loadRateTable: () => loadRateTable(q),
  };
}

export interface ShippingStore {
  transact<T>(fn: (tx: ShippingTx) => Promise<T>): Promise<T>;
  /** The same operations inside a transaction someone else runs (an event consumer's). */
  within(q: Queryable): ShippingTx;
  get(id: string): Promise<Shipment | undefined>;
  byTrackingNumber(trackingNumber: string): Promise<Shipment | undefined>;
  /** The order's shipments oldest first, only `userId`'s unless undefined (admins). */
  listByOrder(orderId: string, userId: string | undefined, after: PageKey | undefined, limit: number): Promise<Shipment[]>;
  /** The history, newest first. */
  history(shipmentId: string): Promise<TrackingScan[]>;
  /** Ids of shipments the tracking job should look at by `now`, most overdue first. */
  dueIds(now: Date, limit: number): Promise<string[]>;
  loadRateTable(): Promise<RateTable>;
}

export function createShippingStore(db: Db): ShippingStore {
  return {
    transact: (fn) => db.tx((q) => fn(shippingTx(q))),
    within: shippingTx,
    get: (id) => one(db, "id = $1", [id]),
    byTrackingNumber: (n) => one(db, "tracking_number = $1", [n]),

    async listByOrder(orderId, userId, after, limit) {
      const { rows } = await db.query<ShipmentRow>(
        `SELECT ${SHIPMENT_COLUMNS} FROM shipments
         WHERE order_id = $1 AND ($2::uuid IS NULL OR user_id = $2::uuid)
           AND ($3::timestamptz IS NULL OR (created_at, id) > ($3::timestamptz, $4::uuid))
         ORDER BY created_at, id LIMIT $5`,
        [orderId, userId ?? null, after?.time ?? null, after?.id ?? null, limit],
      );
      return withItems(db, rows);
    },

    async history(shipmentId) {
      const { rows } = await db.query<ScanRow>(
        `SELECT event_id, status, description, location, event_time FROM tracking_events
         WHERE shipment_id = $1 ORDER BY event_time DESC, seq DESC`,
        [shipmentId],
      );
      return rows.map(toScan);
    },

    async dueIds(now, limit) {
      const { rows } = await db.query<{ id: string }>(
        "SELECT id FROM shipments WHERE next_check_at <= $1 ORDER BY next_check_at LIMIT $2",
        [now, limit],
      );
      return rows.map((r) => r.id);
    },

    loadRateTable: () => loadRateTable(db),
  };
}
