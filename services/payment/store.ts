// All of the payment service's SQL (tables in migrations/001_payments.sql). Amounts are read as
// text and turned into bigint, exact whatever the driver does with int8; times come from the
// service's clock.
//
// Changes go through `PaymentTx`, bound to one transaction. `lock` takes the payment's row
// lock: every change to a payment, and every provider call about it, happens under that lock,
// so two requests about one payment (a replay, two refunds) are serialized and each sees what
// the other committed.
import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import type { Db, Queryable } from "../../platform/db/db.js";
import { aborted } from "../../platform/errors.js";
import { enqueueEvent } from "../../platform/events/index.js";
import type { Movement } from "./ledger.js";
import type { Money } from "../../platform/money.js";
import type { PaymentStatus } from "./payment-rules.js";

export interface StoredPayment {
  readonly id: string;
  readonly orderId: string;
  readonly userId: string;
  readonly idempotencyKey: string;
  readonly paymentMethodToken: string;
  readonly customerReference: string | undefined;
  readonly cardBrand: string;
  readonly cardLast4: string;
  readonly provider: string;
  readonly providerReference: string;
  readonly amount: Money;
  readonly capturedMinor: bigint;
  readonly refundedMinor: bigint;
  readonly status: PaymentStatus;
  readonly pendingOp: "capture" | "void" | undefined;
  readonly pendingAmountMinor: bigint | undefined;
  readonly voidReason: string;
  readonly rejection: string;
  readonly failureCode: string;
  readonly failureReason: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export type RefundStatus = "pending" | "succeeded" | "failed";

export interface StoredRefund {
  readonly id: string;
  readonly paymentId: string;
  readonly idempotencyKey: string;
  readonly requestedMinor: bigint | undefined;
  readonly amountMinor: bigint;
  readonly reason: string;
  readonly status: RefundStatus;
  readonly providerReference: string;
  readonly failureReason: string;
}

export interface StoredMethod {
  readonly token: string;
  readonly userId: string;
  readonly provider: string;
  readonly brand: string;
  readonly last4: string;
  readonly expMonth: number;
  readonly expYear: number;
  readonly customerReference: string | undefined;
  readonly createdAt: Date;
}

export interface StoredLedgerEntry {
  readonly seq: bigint;
  readonly id: string;
  readonly paymentId: string;
  readonly orderId: string;
  readonly kind: Movement["kind"];
  readonly amount: Money;
  readonly providerReference: string;
  readonly idempotencyKey: string;
  readonly createdAt: Date;
}

/** The columns a payment update may set. */
export interface PaymentChange {
  status?: PaymentStatus;
  providerReference?: string;
  capturedMinor?: bigint;
  refundedMinor?: bigint;
  pendingOp?: "capture" | "void" | null;
  pendingAmountMinor?: bigint | null;
  voidReason?: string;
  rejection?: string;
  failureCode?: string;
  failureReason?: string;
}

const changeColumns: Record<keyof PaymentChange, string> = {
  status: "status",
  providerReference: "provider_reference",
  capturedMinor: "captured_minor",
  refundedMinor: "refunded_minor",
  pendingOp: "pending_op",
  pendingAmountMinor: "pending_amount_minor",
  voidReason: "void_reason",
  rejection: "rejection",
  failureCode: "failure_code",
  failureReason: "failure_reason",
};

const PAYMENT_COLUMNS = `id, order_id, user_id, idempotency_key, payment_method_token, customer_reference, card_brand, card_last4, provider,
  provider_reference, currency_code, amount_minor::text AS amount, captured_minor::text AS captured,
  refunded_minor::text AS refunded, status, pending_op, pending_amount_minor::text AS pending_amount, void_reason,
  rejection, failure_code, failure_reason, created_at, updated_at`;

interface PaymentRow {
  id: string;
  order_id: string;
  user_id: string;
  idempotency_key: string;
  payment_method_token: string;
  customer_reference: string | null;
  card_brand: string;
  card_last4: string;
  provider: string;
  provider_reference: string;
  currency_code: string;
  amount: string;
  captured: string;
  refunded: string;
  status: PaymentStatus;
  pending_op: "capture" | "void" | null;
  pending_amount: string | null;
  void_reason: string;
  rejection: string;
  failure_code: string;
  failure_reason: string;
  created_at: Date;
  updated_at: Date;
  [k: string]: unknown;
}

function toPayment(r: PaymentRow): StoredPayment {
  return {
    id: r.id,
    orderId: r.order_id,
    userId: r.user_id,
    idempotencyKey: r.idempotency_key,
    paymentMethodToken: r.payment_method_token,
    customerReference: r.customer_reference ?? undefined,
    cardBrand: r.card_brand,
    cardLast4: r.card_last4,
    provider: r.provider,
    providerReference: r.provider_reference,
    amount: { amountMinor: BigInt(r.amount), currency: r.currency_code },
    capturedMinor: BigInt(r.captured),
    refundedMinor: BigInt(r.refunded),
    status: r.status,
    pendingOp: r.pending_op ?? undefined,
    pendingAmountMinor: r.pending_amount === null ? undefined : BigInt(r.pending_amount),
    voidReason: r.void_reason,
    rejection: r.rejection,
    failureCode: r.failure_code,
    failureReason: r.failure_reason,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

const REFUND_COLUMNS = `id, payment_id, idempotency_key, requested_minor::text AS requested, amount_minor::text AS amount,
  reason, status, provider_reference, failure_reason`;

interface RefundRow {
  id: string;
  payment_id: string;
  idempotency_key: string;
  requested: string | null;
  amount: string;
  reason: string;
  status: RefundStatus;
  provider_reference: string;
  failure_reason: string;
  [k: string]: unknown;
}

const toRefund = (r: RefundRow): StoredRefund => ({
  id: r.id,
  paymentId: r.payment_id,
  idempotencyKey: r.idempotency_key,
  requestedMinor: r.requested === null ? undefined : BigInt(r.requested),
  amountMinor: BigInt(r.amount),
  reason: r.reason,
  status: r.status,
  providerReference: r.provider_reference,
  failureReason: r.failure_reason,
});

interface MethodRow {
  token: string;
  user_id: string;
  provider: string;
  brand: string;
  last4: string;
  exp_month: number;
  exp_year: number;
  customer_reference: string | null;
  created_at: Date;
  [k: string]: unknown;
}

const toMethod = (r: MethodRow): StoredMethod => ({
  token: r.token,
  userId: r.user_id,
  provider: r.provider,
  brand: r.brand,
  last4: r.last4,
  expMonth: r.exp_month,
  expYear: r.exp_year,
  customerReference: r.customer_reference ?? undefined,
  createdAt: new Date(r.created_at),
});

/** A new payment as AuthorizePayment records it, before the provider is asked. */
export type NewPayment = Pick<
  StoredPayment,
  "id" | "orderId" | "userId" | "idempotencyKey" | "paymentMethodToken" | "customerReference" | "cardBrand" | "cardLast4" | "provider" | "amount"
>;

export type NewRefund = Pick<StoredRefund, "id" | "paymentId" | "idempotencyKey" | "requestedMinor" | "amountMinor" | "reason">;

export interface PaymentTx {
  /** The payment under its row lock; undefined if there is none. */
  lock(id: string): Promise<StoredPayment | undefined>;
  update(id: string, change: PaymentChange, now: Date): Promise<StoredPayment>;
  refundByKey(key: string): Promise<StoredRefund | undefined>;
  /** Refunds of the payment still waiting for the provider, oldest first. */
  pendingRefunds(paymentId: string): Promise<StoredRefund[]>;
  /** False if the key was taken meanwhile (by a refund of another payment). */
  insertRefund(refund: NewRefund, now: Date): Promise<boolean>;
  settleRefund(id: string, outcome: { status: "succeeded"; providerReference: string } | { status: "failed"; failureReason: string }, now: Date): Promise<void>;
  /** Appends a movement of `payment` to the ledger. */
  record(payment: StoredPayment, movement: Movement, opts: { idempotencyKey: string; providerReference: string; id: string }, now: Date): Promise<void>;
  emit<D extends DescMessage>(schema: D, message: MessageInitShape<D>): Promise<void>;
}

function paymentTx(q: Queryable): PaymentTx {
  return {
    async lock(id) {
      const { rows } = await q.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1 FOR UPDATE`, [id]);
      return rows[0] && toPayment(rows[0]);
    },

    async update(id, change, now) {
      const sets: string[] = ["updated_at = $2"];
      const params: unknown[] = [id, now];
      for (const [key, value] of Object.entries(change) as [keyof PaymentChange, unknown][]) {
        if (value === undefined) continue;
        params.push(typeof value === "bigint" ? value.toString() : value);
        sets.push(`${changeColumns[key]} = $${params.length}`);
      }
      const { rows } = await q.query<PaymentRow>(`UPDATE payments SET ${sets.join(", ")} WHERE id = $1 RETURNING ${PAYMENT_COLUMNS}`, params);
      if (!rows[0]) throw new Error(`payment ${id} vanished under its lock`);
      return toPayment(rows[0]);
    },

    async refundByKey(key) {
      const { rows } = await q.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE idempotency_key = $1`, [key]);
      return rows[0] && toRefund(rows[0]);
    },

    async pendingRefunds(paymentId) {
      const { rows } = await q.query<RefundRow>(
        `SELECT ${REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 AND status = 'pending' ORDER BY created_at, id`,
        [paymentId],
      );
      return rows.map(toRefund);
    },

    async insertRefund(r, now) {
      const { rowCount } = await q.query(
        `INSERT INTO refunds (id, payment_id, idempotency_key, requested_minor, amount_minor, reason, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) ON CONFLICT (idempotency_key) DO NOTHING`,
        [r.id, r.paymentId, r.idempotencyKey, r.requestedMinor?.toString() ?? null, r.amountMinor.toString(), r.reason, now],
      );
      return rowCount > 0;
    },

    async settleRefund(id, outcome, now) {
      await q.query(
        `UPDATE refunds SET status = $2, provider_reference = $3, failure_reason = $4, updated_at = $5 WHERE id = $1 AND status = 'pending'`,
        [id, outcome.status, outcome.status === "succeeded" ? outcome.providerReference : "", outcome.status === "failed" ? outcome.failureReason : "", now],
      );
    },

    async record(payment, movement, opts, now) {
      await q.query(
        `INSERT INTO ledger_transactions (id, payment_id, order_id, kind, currency_code, amount_minor, provider_reference, idempotency_key, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [opts.id, payment.id, payment.orderId, movement.kind, payment.amount.currency, movement.amountMinor.toString(), opts.providerReference, opts.idempotencyKey, now],
      );
      if (movement.postings.length === 0) return;
      await q.query(
        `INSERT INTO ledger_postings (transaction_id, account, direction, amount_minor)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[])`,
        [opts.id, movement.postings.map((p) => p.account), movement.postings.map((p) => p.direction), movement.postings.map((p) => p.amountMinor.toString())],
      );
    },

    async emit(schema, message) {
      await enqueueEvent(q, schema, message);
    },
  };
}

export interface LedgerFilter {
  readonly paymentId?: string;
  readonly orderId?: string;
}

export interface PaymentStore {
  /**
   * Runs `fn` in one transaction. Waiting for a payment's lock gives up after `lockWaitMs`
   * with ABORTED (another request holds it, typically during a provider call).
   */
  transact<T>(fn: (tx: PaymentTx) => Promise<T>, lockWaitMs: number): Promise<T>;
  /** Records a new pending payment; undefined if its key or its order's live slot is taken. */
  insertPayment(p: NewPayment, now: Date): Promise<StoredPayment | undefined>;
  payment(id: string): Promise<StoredPayment | undefined>;
  paymentByKey(key: string): Promise<StoredPayment | undefined>;
  /** The live payment of an order (not failed or voided), if any. */
  livePaymentOfOrder(orderId: string): Promise<StoredPayment | undefined>;
  refund(id: string): Promise<StoredRefund | undefined>;
  /** Payments with an operation waiting for the provider since before `before`. */
  unresolved(before: Date, limit: number): Promise<string[]>;

  insertMethod(m: StoredMethod): Promise<void>;
  /** The user's customer record at the provider, if one was created. */
  customerOf(userId: string, provider: string): Promise<string | undefined>;
  /** Keeps the first reference saved for the user (concurrent first cards create one customer: the provider call is idempotent by user). */
  saveCustomer(userId: string, provider: string, reference: string, now: Date): Promise<void>;
  method(token: string): Promise<StoredMethod | undefined>;
  /** The user's methods, newest first, after the keyset position `after`. */
  listMethods(userId: string, after: { time: Date; token: string } | undefined, limit: number): Promise<StoredMethod[]>;
  deleteMethod(userId: string, token: string): Promise<boolean>;

  /** Ledger entries in order of recording, after sequence number `after`. */
  listLedger(filter: LedgerFilter, after: bigint, limit: number): Promise<StoredLedgerEntry[]>;
}

const LOCK_NOT_AVAILABLE = "55P03";

export function createPaymentStore(db: Db): PaymentStore {
  return {
    async transact(fn, lockWaitMs) {
      try {
        return await db.tx(async (q) => {
          await q.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockWaitMs))}`);
          return fn(paymentTx(q));
        });
      } catch (err) {
        if ((err as { code?: unknown }).code === LOCK_NOT_AVAILABLE) {
          throw aborted("the payment is busy with another request (a provider call in flight); retry");
        }
        throw err;
      }
    },

    async insertPayment(p, now) {
      // No conflict target: both the idempotency key and the one-live-payment-per-order index
      // turn a duplicate into "nothing inserted" instead of an aborted transaction.
      const { rows } = await db.query<PaymentRow>(
        `INSERT INTO payments (id, order_id, user_id, idempotency_key, payment_method_token, customer_reference, card_brand, card_last4,
                               provider, currency_code, amount_minor, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', $12, $12)
         ON CONFLICT DO NOTHING RETURNING ${PAYMENT_COLUMNS}`,
        [p.id, p.orderId, p.userId, p.idempotencyKey, p.paymentMethodToken, p.customerReference ?? null, p.cardBrand, p.cardLast4, p.provider, p.amount.currency, p.amount.amountMinor.toString(), now],
      );
      return rows[0] && toPayment(rows[0]);
    },

    async payment(id) {
      const { rows } = await db.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $1`, [id]);
      return rows[0] && toPayment(rows[0]);
    },

    async paymentByKey(key) {
      const { rows } = await db.query<PaymentRow>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE idempotency_key = $1`, [key]);
      return rows[0] && toPayment(rows[0]);
    },

    async livePaymentOfOrder(orderId) {
      const { rows } = await db.query<PaymentRow>(
        `SELECT ${PAYMENT_COLUMNS} FROM payments WHERE order_id = $1 AND status NOT IN ('failed', 'voided')`,
        [orderId],
      );
      return rows[0] && toPayment(rows[0]);
    },

    async refund(id) {
      const { rows } = await db.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE id = $1`, [id]);
      return rows[0] && toRefund(rows[0]);
    },

    async unresolved(before, limit) {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM payments WHERE (status = 'pending' OR pending_op IS NOT NULL) AND updated_at < $1
         UNION
         SELECT payment_id FROM refunds WHERE status = 'pending' AND updated_at < $1
         LIMIT $2`,
        [before, limit],
      );
      return rows.map((r) => r.id);
    },

    async insertMethod(m) {
      await db.query(
        `INSERT INTO payment_methods (token, user_id, provider, brand, last4, exp_month, exp_year, customer_reference, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [m.token, m.userId, m.provider, m.brand, m.last4, m.expMonth, m.expYear, m.customerReference ?? null, m.createdAt],
      );
    },

    async customerOf(userId, provider) {
      const { rows } = await db.query<{ reference: string }>("SELECT reference FROM provider_customers WHERE user_id = $1 AND provider = $2", [userId, provider]);
      return rows[0]?.reference;
    },

    async saveCustomer(userId, provider, reference, now) {
      await db.query(
        "INSERT INTO provider_customers (user_id, provider, reference, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        [userId, provider, reference, now],
      );
    },

    async method(token) {
      const { rows } = await db.query<MethodRow>("SELECT * FROM payment_methods WHERE token = $1", [token]);
      return rows[0] && toMethod(rows[0]);
    },

    async listMethods(userId, after, limit) {
      const { rows } = after
        ? await db.query<MethodRow>(
            `SELECT * FROM payment_methods WHERE user_id = $1 AND (created_at, token) < ($2, $3)
             ORDER BY created_at DESC, token DESC LIMIT $4`,
            [userId, after.time, after.token, limit],
          )
        : await db.query<MethodRow>("SELECT * FROM payment_methods WHERE user_id = $1 ORDER BY created_at DESC, token DESC LIMIT $2", [userId, limit]);
      return rows.map(toMethod);
    },

    async deleteMethod(userId, token) {
      const { rowCount } = await db.query("DELETE FROM payment_methods WHERE user_id = $1 AND token = $2", [userId, token]);
      return rowCount > 0;
    },

    async listLedger(filter, after, limit) {
      const { rows } = await db.query<{
        seq: string;
        id: string;
        payment_id: string;
        order_id: string;
        kind: Movement["kind"];
        currency_code: string;
        amount: string;
        provider_reference: string;
        idempotency_key: string;
        created_at: Date;
      }>(
        `SELECT seq::text AS seq, id, payment_id, order_id, kind, currency_code, amount_minor::text AS amount,
                provider_reference, idempotency_key, created_at
         FROM ledger_transactions
         WHERE seq > $1 AND ($2::uuid IS NULL OR payment_id = $2) AND ($3::uuid IS NULL OR order_id = $3)
         ORDER BY seq LIMIT $4`,
        [after.toString(), filter.paymentId ?? null, filter.orderId ?? null, limit],
      );
      return rows.map((r) => ({
        seq: BigInt(r.seq),
        id: r.id,
        paymentId: r.payment_id,
        orderId: r.order_id,
        kind: r.kind,
        amount: { amountMinor: BigInt(r.amount), currency: r.currency_code },
        providerReference: r.provider_reference,
        idempotencyKey: r.idempotency_key,
        createdAt: new Date(r.created_at),
      }));
    },
  };
}
