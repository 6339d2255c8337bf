// All of the order service's SQL. Orders, lines and history are written together; the saga's
// progress is persisted before and after every step, and every saga write is fenced by the
// lease (`lease_owner = $me`), so a replica that lost its lease can no longer move a saga
// another replica has taken over. Lease times are the database's (one clock for all
// replicas); order times come from the service's clock.
import type { PageKey } from "../../platform/page-token.js";
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { OrderStatusChangedSchema } from "../../gen/shop/order/v1/events_pb.js";
import type { Code } from "../../platform/errors.js";
import type { Db, Queryable } from "../../platform/db/db.js";
import { enqueueEvent } from "../../platform/events/index.js";
import type { Address, OrderDraft, StatusEntry, StoredOrder } from "./order-model.js";
import { toProtoStatus } from "./order-proto.js";
import type { AppliedDiscount, PricedLine } from "./pricing.js";
import type { SagaKind, StepName } from "./saga-plan.js";
import type { OrderStatus } from "./transitions.js";

/** The saga's lease was taken over (or the saga finished elsewhere): stop driving it. */
export class LeaseLost extends Error {
  constructor(orderId: string) {
    super(`lost the saga lease of order ${orderId}`);
    this.name = "LeaseLost";
  }
}

interface OrderRow {
  id: string;
  user_id: string;
  idempotency_key: string;
  request_fingerprint: string;
  cart_fingerprint: string;
  status: OrderStatus;
  currency_code: string;
  subtotal: string;
  discount: string;
  shipping: string;
  tax: string;
  total: string;
  refunded: string;
  discounts: { promotionId: string; name: string; couponCode: string; amountMinor: string }[];
  coupon_codes: string[];
  shipping_address: Address;
  billing_address: Address;
  shipping_speed: number;
  payment_method_token: string;
  payment_id: string;
  shipment_id: string;
  reason: string;
  created_at: Date;
  updated_at: Date;
  saga_kind: SagaKind;
  saga_phase: "forward" | "compensate";
  saga_next: number;
  saga_done: boolean;
  saga_deadline: Date;
  failed_step: string;
  failure_code: Code;
  [k: string]: unknown;
}

interface LineRow {
  order_id: string;
  sku: string;
  product_id: string;
  product_name: string;
  sku_name: string;
  image_url: string;
  quantity: number;
  unit_price: string;
  discount: string;
  line_total: string;
  weight_grams: number;
  [k: string]: unknown;
}

interface HistoryRow {
  order_id: string;
  status: OrderStatus;
  reason: string;
  changed_at: Date;
  [k: string]: unknown;
}

// Money is read as text: exact whatever the driver does with int8.
const ORDER_COLUMNS = `id, user_id, idempotency_key, request_fingerprint, cart_fingerprint, status, currency_code,
  subtotal_minor::text AS subtotal, discount_minor::text AS discount, shipping_minor::text AS shipping,
  tax_minor::text AS tax, total_minor::text AS total, refunded_minor::text AS refunded, discounts, coupon_codes,
  shipping_address, billing_address, shipping_speed, payment_method_token, payment_id, shipment_id, reason,
  created_at, updated_at, saga_kind, saga_phase, saga_next, saga_done, saga_deadline, failed_step, failure_code`;

const LINE_COLUMNS = `order_id, sku, product_id, product_name, sku_name, image_url, quantity,
  unit_price_minor::text AS unit_price, discount_minor::text AS discount, line_total_minor::text AS line_total, weight_grams`;

function toOrder(r: OrderRow, lines: PricedLine[], history: StatusEntry[]): StoredOrder {
  return {
    id: r.id,
    userId: r.user_id,
    idempotencyKey: r.idempotency_key,
    requestFingerprint: r.request_fingerprint,
    cartFingerprint: r.cart_fingerprint,
    status: r.status,
    currency: r.currency_code,
    totals: {
      subtotalMinor: BigInt(r.subtotal),
      discountMinor: BigInt(r.discount),
      shippingMinor: BigInt(r.shipping),
      taxMinor: BigInt(r.tax),
      totalMinor: BigInt(r.total),
    },
    refundedMinor: BigInt(r.refunded),
    discounts: r.discounts.map((d): AppliedDiscount => ({ promotionId: d.promotionId, name: d.name, couponCode: d.couponCode, amountMinor: BigInt(d.amountMinor) })),
    couponCodes: r.coupon_codes,
    shippingAddress: r.shipping_address,
    billingAddress: r.billing_address,
    shippingSpeed: r.shipping_speed,
    paymentMethodToken: r.payment_method_token,
    paymentId: r.payment_id,
    shipmentId: r.shipment_id,
    reason: r.reason,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
    saga: {
      kind: r.saga_kind,
      phase: r.saga_phase,
      next: r.saga_next,
      done: r.saga_done,
      deadline: new Date(r.saga_deadline),
      failedStep: r.failed_step,
      failureCode: r.failure_code,
    },
    lines,
    history,
  };
}

const toLine = (r: LineRow): PricedLine => ({
  sku: r.sku,
  productId: r.product_id,
  productName: r.product_name,
  skuName: r.sku_name,
  imageUrl: r.image_url,
  quantity: r.quantity,
  unitPriceMinor: BigInt(r.unit_price),
  discountMinor: BigInt(r.discount),
  lineTotalMinor: BigInt(r.line_total),
  weightGrams: r.weight_grams,
});

/** Orders with their lines and history, in the order of `rows`. */
async function withDetails(q: Queryable, rows: OrderRow[]): Promise<StoredOrder[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const [lines, history] = await Promise.all([
    q.query<LineRow>(`SELECT ${LINE_COLUMNS} FROM order_lines WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, position`, [ids]),
    q.query<HistoryRow>(`SELECT order_id, status, reason, changed_at FROM order_status_history WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, seq`, [ids]),
  ]);
  const linesOf = group(lines.rows, toLine);
  const historyOf = group(history.rows, (h): StatusEntry => ({ status: h.status, reason: h.reason, changedAt: new Date(h.changed_at) }));
  return rows.map((r) => toOrder(r, linesOf.get(r.id) ?? [], historyOf.get(r.id) ?? []));
}

function group<R extends { order_id: string }, T>(rows: R[], map: (r: R) => T): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    let list = out.get(r.order_id);
    if (!list) out.set(r.order_id, (list = []));
    list.push(map(r));
  }
  return out;
}

async function one(q: Queryable, where: string, params: unknown[], lock = false): Promise<StoredOrder | undefined> {
  const { rows } = await q.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE ${where}${lock ? " FOR UPDATE" : ""}`, params);
  return (await withDetails(q, rows))[0];
}

/** Writes inside one transaction (a handler's, or an event consumer's inbox transaction). */
export interface OrderTx {
  /** The order, row-locked until the transaction ends. */
  lock(orderId: string): Promise<StoredOrder | undefined>;
  /** New status, a history entry and OrderStatusChanged; returns the order as changed. */
  changeStatus(order: StoredOrder, to: OrderStatus, reason: string, now: Date): Promise<StoredOrder>;
  /** Hands the order to a new saga (cancellation, refund), leased to `owner`. */
  startSaga(orderId: string, kind: SagaKind, owner: string, leaseMs: number, deadline: Date): Promise<void>;
  setShipment(orderId: string, shipmentId: string): Promise<void>;
  emit<D extends DescMessage>(schema: D, message: MessageInitShape<D>): Promise<void>;
}

export function orderTx(q: Queryable): OrderTx {
  return {
    lock: (orderId) => one(q, "id = $1", [orderId], true),
    async changeStatus(order, to, reason, now) {
      await q.query("UPDATE orders SET status = $2, reason = $3, updated_at = $4 WHERE id = $1", [order.id, to, reason, now]);
      await q.query("INSERT INTO order_status_history (order_id, status, reason, changed_at) VALUES ($1, $2, $3, $4)", [order.id, to, reason, now]);
      await enqueueEvent(q, OrderStatusChangedSchema, {
        orderId: order.id,
        userId: order.userId,
        oldStatus: toProtoStatus(order.status),
        newStatus: toProtoStatus(to),
        reason,
      });
      return { ...order, status: to, reason, updatedAt: now, history: [...order.history, { status: to, reason, changedAt: now }] };
    },
    async startSaga(orderId, kind, owner, leaseMs, deadline) {
      await q.query(
        `UPDATE orders SET saga_kind = $2, saga_phase = 'forward', saga_next = 0, saga_done = false, saga_deadline = $5,
           lease_owner = $3, lease_until = now() + make_interval(secs => $4::double precision / 1000)
         WHERE id = $1`,
        [orderId, kind, owner, leaseMs, deadline],
      );
    },
    async setShipment(orderId, shipmentId) {
      await q.query("UPDATE orders SET shipment_id = $2 WHERE id = $1", [orderId, shipmentId]);
    },
    async emit(schema, message) {
      await enqueueEvent(q, schema, message);
    },
  };
}

export interface ListFilter {
  readonly userId?: string;
  readonly status?: OrderStatus;
  readonly after?: PageKey;
  readonly limit: number;
}

export interface StepRecord {
  readonly status: "started" | "done" | "failed";
  readonly attempts: number;
}

/** Changes to the order a step's outcome carries. */
export interface StepPatch {
  readonly paymentId?: string;
  readonly refundedMinor?: bigint;
}

export interface OrderStore {
  /** Records the order as PENDING with its saga leased to `owner`; an existing order for the key wins. */
  insert(draft: OrderDraft, owner: string, leaseMs: number): Promise<{ order: StoredOrder; created: boolean }>;
  get(orderId: string): Promise<StoredOrder | undefined>;
  byKey(userId: string, idempotencyKey: string): Promise<StoredOrder | undefined>;
  list(filter: ListFilter): Promise<StoredOrder[]>;
  tx<T>(fn: (tx: OrderTx) => Promise<T>): Promise<T>;

  /** Takes (or keeps) the saga's lease if it is free, expired or already ours; false otherwise. */
  claim(orderId: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Takes the leases of up to `limit` unfinished sagas whose lease expired; their ids. */
  claimExpired(owner: string, leaseMs: number, limit: number): Promise<string[]>;
  /** Gives the lease up now, so another replica need not wait for it to expire. */
  releaseLease(orderId: string, owner: string): Promise<void>;
  steps(orderId: string): Promise<Map<string, StepRecord>>;
  /** Before the peer call: attempt count + 1, lease renewed. Returns the attempt number. */
  stepStarted(orderId: string, owner: string, step: StepName, leaseMs: number, now: Date): Promise<number>;
  stepRetrying(orderId: string, owner: string, step: StepName, error: string, leaseMs: number, now: Date): Promise<void>;
  /** After the peer call: the step is done (or, `failed`, passed over), the saga moves on. */
  stepDone(orderId: string, owner: string, step: StepName, patch: StepPatch, now: Date, failed?: string): Promise<void>;
  /** A forward step failed for good: the saga turns to compensation. */
  startCompensation(orderId: string, owner: string, step: StepName | "", code: Code, reason: string, now: Date): Promise<void>;
  /** The saga's last transaction: `fn` changes status and emits; the saga is marked done. */
  finishSaga(orderId: string, owner: string, fn: (tx: OrderTx, order: StoredOrder) => Promise<void>): Promise<void>;
}

const lease = "now() + make_interval(secs => $3::double precision / 1000)";

export function createOrderStore(db: Db): OrderStore {
  /** Renews the lease if it is still ours; LeaseLost otherwise. */
  const fence = async (q: Queryable, orderId: string, owner: string, leaseMs: number) => {
    const { rowCount } = await q.query(`UPDATE orders SET lease_until = ${lease} WHERE id = $1 AND lease_owner = $2 AND NOT saga_done`, [orderId, owner, leaseMs]);
    if (rowCount === 0) throw new LeaseLost(orderId);
  };
  const ownedLock = async (q: Queryable, orderId: string, owner: string) => {
    const { rowCount } = await q.query("SELECT 1 FROM orders WHERE id = $1 AND lease_owner = $2 AND NOT saga_done FOR UPDATE", [orderId, owner]);
    if (rowCount === 0) throw new LeaseLost(orderId);
  };

  return {
    insert: (d, owner, leaseMs) =>
      db.tx(async (q) => {
        const { rowCount } = await q.query(
          `INSERT INTO orders (id, user_id, idempotency_key, request_fingerprint, cart_fingerprint, status, currency_code,
             subtotal_minor, discount_minor, shipping_minor, tax_minor, total_minor, discounts, coupon_codes,
             shipping_address, billing_address, shipping_speed, payment_method_token, created_at, updated_at,
             saga_kind, saga_deadline, lease_owner, lease_until)
           VALUES ($1, $2, $4, $5, $6, 'pending', $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19,
             'checkout', $20, $21, ${lease})
           ON CONFLICT (user_id, idempotency_key) DO NOTHING`,
          [
            d.id,
            d.userId,
            leaseMs,
            d.idempotencyKey,
            d.requestFingerprint,
            d.cartFingerprint,
            d.currency,
            d.totals.subtotalMinor.toString(),
            d.totals.discountMinor.toString(),
            d.totals.shippingMinor.toString(),
            d.totals.taxMinor.toString(),
            d.totals.totalMinor.toString(),
            JSON.stringify(d.discounts.map((x) => ({ ...x, amountMinor: x.amountMinor.toString() }))),
            d.couponCodes,
            JSON.stringify(d.shippingAddress),
            JSON.stringify(d.billingAddress),
            d.shippingSpeed,
            d.paymentMethodToken,
            d.createdAt,
            d.sagaDeadline,
            owner,
          ],
        );
        if (rowCount === 0) {
          const existing = await one(q, "user_id = $1 AND idempotency_key = $2", [d.userId, d.idempotencyKey]);
          if (!existing) throw new Error("idempotency conflict without a visible order");
          return { order: existing, created: false };
        }
        for (const [i, l] of d.lines.entries()) {
          await q.query(
            `INSERT INTO order_lines (order_id, position, sku, product_id, product_name, sku_name, image_url, quantity,
               unit_price_minor, discount_minor, line_total_minor, weight_grams)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
            [d.id, i, l.sku, l.productId, l.productName, l.skuName, l.imageUrl, l.quantity, l.unitPriceMinor.toString(), l.discountMinor.toString(), l.lineTotalMinor.toString(), l.weightGrams],
          );
        }
        await q.query("INSERT INTO order_status_history (order_id, status, reason, changed_at) VALUES ($1, 'pending', '', $2)", [d.id, d.createdAt]);
        const order = await one(q, "id = $1", [d.id]);
        if (!order) throw new Error("order vanished inside its own transaction");
        return { order, created: true };
      }),

    get: (orderId) => one(db, "id = $1", [orderId]),
    byKey: (userId, key) => one(db, "user_id = $1 AND idempotency_key = $2", [userId, key]),

    async list(f) {
      const where: string[] = [];
      const params: unknown[] = [];
      const param = (v: unknown) => `$${params.push(v)}`;
      if (f.userId !== undefined) where.push(`user_id = ${param(f.userId)}`);
      if (f.status !== undefined) where.push(`status = ${param(f.status)}`);
      if (f.after) where.push(`(created_at, id) < (${param(f.after.time)}, ${param(f.after.id)}::uuid)`);
      const { rows } = await db.query<OrderRow>(
        `SELECT ${ORDER_COLUMNS} FROM orders ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at DESC, id DESC LIMIT ${param(f.limit)}`,
        params,
      );
      return withDetails(db, rows);
    },

    tx: (fn) => db.tx((q) => fn(orderTx(q))),

    async claim(orderId, owner, leaseMs) {
      const { rowCount } = await db.query(
        `UPDATE orders SET lease_owner = $2, lease_until = ${lease}
         WHERE id = $1 AND NOT saga_done AND (lease_owner = $2 OR lease_until IS NULL OR lease_until < now())`,
        [orderId, owner, leaseMs],
      );
      return rowCount > 0;
    },

    async claimExpired(owner, leaseMs, limit) {
      const { rows } = await db.query<{ id: string }>(
        `UPDATE orders SET lease_owner = $1, lease_until = now() + make_interval(secs => $2::double precision / 1000)
         WHERE id IN (
           SELECT id FROM orders WHERE NOT saga_done AND (lease_until IS NULL OR lease_until < now())
           ORDER BY lease_until NULLS FIRST LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING id`,
        [owner, leaseMs, limit],
      );
      return rows.map((r) => r.id);
    },

    async releaseLease(orderId, owner) {
      await db.query("UPDATE orders SET lease_until = now() WHERE id = $1 AND lease_owner = $2 AND NOT saga_done", [orderId, owner]);
    },

    async steps(orderId) {
      const { rows } = await db.query<{ step: string; status: StepRecord["status"]; attempts: number }>("SELECT step, status, attempts FROM saga_steps WHERE order_id = $1", [orderId]);
      return new Map(rows.map((r) => [r.step, { status: r.status, attempts: r.attempts }]));
    },

    stepStarted: (orderId, owner, step, leaseMs, now) =>
      db.tx(async (q) => {
        await fence(q, orderId, owner, leaseMs);
        const { rows } = await q.query<{ attempts: number }>(
          `INSERT INTO saga_steps (order_id, step, status, attempts, updated_at) VALUES ($1, $2, 'started', 1, $3)
           ON CONFLICT (order_id, step) DO UPDATE SET status = 'started', attempts = saga_steps.attempts + 1, updated_at = $3
           RETURNING attempts`,
          [orderId, step, now],
        );
        return rows[0]?.attempts ?? 1;
      }),

    stepRetrying: (orderId, owner, step, error, leaseMs, now) =>
      db.tx(async (q) => {
        await fence(q, orderId, owner, leaseMs);
        await q.query("UPDATE saga_steps SET last_error = $3, updated_at = $4 WHERE order_id = $1 AND step = $2", [orderId, step, error, now]);
      }),

    stepDone: (orderId, owner, step, patch, now, failed) =>
      db.tx(async (q) => {
        await ownedLock(q, orderId, owner);
        await q.query("UPDATE saga_steps SET status = $3, last_error = $4, updated_at = $5 WHERE order_id = $1 AND step = $2", [orderId, step, failed === undefined ? "done" : "failed", failed ?? "", now]);
        await q.query(
          `UPDATE orders SET saga_next = saga_next + 1, payment_id = COALESCE($2, payment_id),
             refunded_minor = COALESCE($3::bigint, refunded_minor), updated_at = $4
           WHERE id = $1`,
          [orderId, patch.paymentId ?? null, patch.refundedMinor?.toString() ?? null, now],
        );
      }),

    startCompensation: (orderId, owner, step, code, reason, now) =>
      db.tx(async (q) => {
        await ownedLock(q, orderId, owner);
        if (step) await q.query("UPDATE saga_steps SET status = 'failed', last_error = $3, updated_at = $4 WHERE order_id = $1 AND step = $2", [orderId, step, reason, now]);
        await q.query(
          `UPDATE orders SET saga_phase = 'compensate', saga_next = 0, failed_step = $2, failure_code = $3, reason = $4, updated_at = $5
           WHERE id = $1`,
          [orderId, step, code, reason, now],
        );
      }),

    finishSaga: (orderId, owner, fn) =>
      db.tx(async (q) => {
        await ownedLock(q, orderId, owner);
        const tx = orderTx(q);
        const order = await tx.lock(orderId);
        if (!order) throw new LeaseLost(orderId);
        await fn(tx, order);
        await q.query("UPDATE orders SET saga_done = true, lease_owner = NULL, lease_until = NULL WHERE id = $1", [orderId]);
      }),
  };
}
