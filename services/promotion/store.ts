// All of the promotion service's SQL. Methods take the Queryable to run on, so a flow puts
// several of them and its outbox event into one transaction (`tx`). Money columns are read as
// text and turned into bigint, exact whatever the driver does with int8; times come from the
// caller (the service's clock).
//
// Usage limits hold under concurrency because every change of a promotion's redemption_count,
// and of a customer's uses, happens while the promotion's row is locked (`lockPromotions`, in
// id order so two orders redeeming the same promotions cannot deadlock): a redemption re-checks
// the counts it reads under that lock, and the UPDATE that follows is conditional as well.
import type { Db, Queryable } from "../../platform/db/db.js";
import { Code, ShopError, failedPrecondition } from "../../platform/errors.js";
import type { Candidate } from "./evaluate.js";
import type { PageKey } from "./page-token.js";
import type { Promotion, PromotionDraft, PromotionKind } from "./promotion.js";
import type { Redemption } from "./redemption-rules.js";

const COLUMNS = `id, name, coupon_code, kind, percent_bps,
  amount_off_minor::text AS amount_off_minor, amount_off_currency, starts_at, ends_at,
  min_spend_minor::text AS min_spend_minor, min_spend_currency, per_customer_limit, total_limit,
  redemption_count, stackable, disabled, applies_to_skus, applies_to_categories, created_at, updated_at`;

interface PromotionRow {
  id: string;
  name: string;
  coupon_code: string | null;
  kind: PromotionKind;
  percent_bps: number;
  amount_off_minor: string | null;
  amount_off_currency: string | null;
  starts_at: Date | null;
  ends_at: Date | null;
  min_spend_minor: string | null;
  min_spend_currency: string | null;
  per_customer_limit: number;
  total_limit: number;
  redemption_count: number;
  stackable: boolean;
  disabled: boolean;
  applies_to_skus: string[];
  applies_to_categories: string[];
  created_at: Date;
  updated_at: Date;
  [k: string]: unknown;
}

const money = (minor: string | null, currency: string | null) =>
  minor === null || currency === null ? undefined : { amountMinor: BigInt(minor), currency };
const date = (d: Date | null) => (d === null ? undefined : new Date(d));

function toPromotion(r: PromotionRow): Promotion {
  return {
    id: r.id,
    name: r.name,
    couponCode: r.coupon_code ?? undefined,
    kind: r.kind,
    percentBps: r.percent_bps,
    amountOff: money(r.amount_off_minor, r.amount_off_currency),
    startsAt: date(r.starts_at),
    endsAt: date(r.ends_at),
    minSpend: money(r.min_spend_minor, r.min_spend_currency),
    perCustomerLimit: r.per_customer_limit,
    totalLimit: r.total_limit,
    redemptionCount: r.redemption_count,
    stackable: r.stackable,
    disabled: r.disabled,
    appliesTo: { skus: r.applies_to_skus, categoryIds: r.applies_to_categories },
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** The draft as the parameters $1..$16 of an insert or update. */
function draftParams(d: PromotionDraft): unknown[] {
  return [
    d.name,
    d.couponCode ?? null,
    d.kind,
    d.percentBps,
    d.amountOff?.amountMinor.toString() ?? null,
    d.amountOff?.currency ?? null,
    d.startsAt ?? null,
    d.endsAt ?? null,
    d.minSpend?.amountMinor.toString() ?? null,
    d.minSpend?.currency ?? null,
    d.perCustomerLimit,
    d.totalLimit,
    d.stackable,
    d.disabled,
    [...d.appliesTo.skus],
    [...d.appliesTo.categoryIds],
  ];
}

const pgCode = (err: unknown) => (err as { code?: unknown }).code;

/** A taken coupon code is the admin's to fix: ALREADY_EXISTS naming the field. */
async function uniqueCode<T>(code: string | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (pgCode(err) === "23505" && code !== undefined) {
      const message = `coupon code ${code} is already taken`;
      throw new ShopError(Code.ALREADY_EXISTS, message, [{ field: "promotion.coupon_code", description: message }]);
    }
    throw err;
  }
}

export interface ListFilter {
  readonly after: PageKey | undefined;
  readonly limit: number;
  /** Active at this time: enabled, inside the window, total limit not reached. */
  readonly activeAt: Date | undefined;
}

/** An order's row: its redemptions, or a tombstone left by a release that came first. */
export interface OrderRedemptions {
  readonly orderId: string;
  readonly userId: string | undefined;
  readonly status: "redeemed" | "released";
  readonly redemptions: readonly Redemption[];
}

export type PromotionStore = ReturnType<typeof createPromotionStore>;

export function createPromotionStore(db: Db) {
  async function redemptionsOf(q: Queryable, orderId: string): Promise<Redemption[]> {
    const { rows } = await q.query<{ promotion_id: string; coupon_code: string; amount_minor: string; currency_code: string }>(
      "SELECT promotion_id, coupon_code, amount_minor::text AS amount_minor, currency_code FROM redemptions WHERE order_id = $1 ORDER BY position",
      [orderId],
    );
    return rows.map((r) => ({ promotionId: r.promotion_id, couponCode: r.coupon_code, amount: { amountMinor: BigInt(r.amount_minor), currency: r.currency_code } }));
  }

  async function orderRedemptions(q: Queryable, orderId: string, opts: { lock?: boolean } = {}): Promise<OrderRedemptions | undefined> {
    const { rows } = await q.query<{ order_id: string; user_id: string | null; status: "redeemed" | "released" }>(
      `SELECT order_id, user_id, status FROM order_redemptions WHERE order_id = $1${opts.lock ? " FOR UPDATE" : ""}`,
      [orderId],
    );
    const row = rows[0];
    if (!row) return undefined;
    return { orderId: row.order_id, userId: row.user_id ?? undefined, status: row.status, redemptions: await redemptionsOf(q, orderId) };
  }

  async function withUses(q: Queryable, where: string, params: unknown[], userId: string | undefined): Promise<Candidate[]> {
    const { rows } = await q.query<PromotionRow & { uses: number | null }>(
      `SELECT ${COLUMNS}, u.uses FROM promotions p
       LEFT JOIN customer_usage u ON u.promotion_id = p.id AND u.user_id = $1
       WHERE ${where}`,
      [userId ?? null, ...params],
    );
    return rows.map((r) => ({ promotion: toPromotion(r), customerUses: r.uses ?? 0 }));
  }

  return {
    db,
    tx: <T>(fn: (q: Queryable) => Promise<T>) => db.tx(fn),

    insertPromotion: (q: Queryable, d: PromotionDraft, now: Date) =>
      uniqueCode(d.couponCode, async () => {
        const { rows } = await q.query<PromotionRow>(
          `INSERT INTO promotions (name, coupon_code, kind, percent_bps, amount_off_minor, amount_off_currency, starts_at, ends_at,
             min_spend_minor, min_spend_currency, per_customer_limit, total_limit, stackable, disabled, applies_to_skus,
             applies_to_categories, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
           RETURNING ${COLUMNS}`,
          [...draftParams(d), now],
        );
        return toPromotion(rows[0]!);
      }),

    async promotionById(q: Queryable, id: string, opts: { lock?: boolean } = {}): Promise<Promotion | undefined> {
      const { rows } = await q.query<PromotionRow>(`SELECT ${COLUMNS} FROM promotions WHERE id = $1${opts.lock ? " FOR UPDATE" : ""}`, [id]);
      return rows[0] && toPromotion(rows[0]);
    },

    updatePromotion: (q: Queryable, id: string, d: PromotionDraft, now: Date) =>
      uniqueCode(d.couponCode, async () => {
        const { rows } = await q.query<PromotionRow>(
          `UPDATE promotions SET name = $1, coupon_code = $2, kind = $3, percent_bps = $4, amount_off_minor = $5,
             amount_off_currency = $6, starts_at = $7, ends_at = $8, min_spend_minor = $9, min_spend_currency = $10,
             per_customer_limit = $11, total_limit = $12, stackable = $13, disabled = $14, applies_to_skus = $15,
             applies_to_categories = $16, updated_at = $17
           WHERE id = $18 RETURNING ${COLUMNS}`,
          [...draftParams(d), now, id],
        );
        return rows[0] && toPromotion(rows[0]);
      }),

    /** Newest first; one row more than `limit` tells the caller there is a next page. */
    async listPromotions(q: Queryable, f: ListFilter): Promise<Promotion[]> {
      const params: unknown[] = [f.limit + 1];
      const where: string[] = [];
      if (f.after) {
        params.push(f.after.time, f.after.id);
        where.push(`(created_at, id) < ($${params.length - 1}, $${params.length})`);
      }
      if (f.activeAt) {
        params.push(f.activeAt);
        const now = `$${params.length}`;
        where.push(`NOT disabled AND (starts_at IS NULL OR starts_at <= ${now}) AND (ends_at IS NULL OR ends_at > ${now})
          AND (total_limit = 0 OR redemption_count < total_limit)`);
      }
      const { rows } = await q.query<PromotionRow>(
        `SELECT ${COLUMNS} FROM promotions ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
         ORDER BY created_at DESC, id DESC LIMIT $1`,
        params,
      );
      return rows.map(toPromotion);
    },

    /** False if there is no such promotion; FAILED_PRECONDITION if it was ever redeemed. */
    async deletePromotion(q: Queryable, id: string): Promise<boolean> {
      try {
        const { rowCount } = await q.query("DELETE FROM promotions WHERE id = $1", [id]);
        return rowCount > 0;
      } catch (err) {
        // redemptions.promotion_id is ON DELETE RESTRICT: the database decides, race-free.
        if (pgCode(err) === "23503") throw failedPrecondition(`promotion ${id} has been redeemed; end it by setting end_time or disabled instead`);
        throw err;
      }
    },

    /** Automatic promotions enabled and inside their window at `now`, with the customer's uses. */
    automaticCandidates: (q: Queryable, now: Date, userId: string | undefined) =>
      withUses(q, "p.coupon_code IS NULL AND NOT p.disabled AND (p.starts_at IS NULL OR p.starts_at <= $2) AND (p.ends_at IS NULL OR p.ends_at > $2)", [now], userId),

    /** The promotions behind these (normalized) codes, whatever their state, with the customer's uses. */
    async couponCandidates(q: Queryable, codes: readonly string[], userId: string | undefined): Promise<Map<string, Candidate>> {
      if (codes.length === 0) return new Map();
      const found = await withUses(q, "p.coupon_code = ANY($2::text[])", [[...codes]], userId);
      return new Map(found.map((c) => [c.promotion.couponCode!, c]));
    },

    /**
     * Locks the promotions (in id order) and returns them by id with the customer's uses; ids
     * that name no promotion are absent.
     */
    async lockPromotions(q: Queryable, ids: readonly string[], userId: string): Promise<Map<string, Candidate>> {
      const { rows } = await q.query<PromotionRow>(`SELECT ${COLUMNS} FROM promotions WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [[...ids]]);
      const { rows: uses } = await q.query<{ promotion_id: string; uses: number }>(
        "SELECT promotion_id, uses FROM customer_usage WHERE user_id = $1 AND promotion_id = ANY($2::uuid[])",
        [userId, [...ids]],
      );
      const usesById = new Map(uses.map((u) => [u.promotion_id, u.uses]));
      return new Map(rows.map((r) => [r.id, { promotion: toPromotion(r), customerUses: usesById.get(r.id) ?? 0 }]));
    },

    /**
     * Takes one use of the promotion for the customer: "total" or "customer" if that limit
     * leaves none, undefined when taken. The caller holds the promotion's row lock and has
     * checked the limits; the UPDATEs are conditional anyway, so a count can never pass a limit.
     */
    async takeUse(q: Queryable, promotion: Promotion, userId: string): Promise<"total" | "customer" | undefined> {
      const total = await q.query(
        `UPDATE promotions SET redemption_count = redemption_count + 1
         WHERE id = $1 AND (total_limit = 0 OR redemption_count < total_limit)`,
        [promotion.id],
      );
      if (total.rowCount === 0) return "total";
      const customer = await q.query(
        `INSERT INTO customer_usage AS u (promotion_id, user_id, uses) VALUES ($1, $2, 1)
         ON CONFLICT (promotion_id, user_id) DO UPDATE SET uses = u.uses + 1
         WHERE $3::int = 0 OR u.uses < $3::int`,
        [promotion.id, userId, promotion.perCustomerLimit],
      );
      return customer.rowCount === 0 ? "customer" : undefined;
    },

    /** Gives one use back (release); the caller holds the promotion's row lock. */
    async returnUse(q: Queryable, promotionId: string, userId: string): Promise<void> {
      await q.query("UPDATE promotions SET redemption_count = greatest(redemption_count - 1, 0) WHERE id = $1", [promotionId]);
      await q.query("UPDATE customer_usage SET uses = greatest(uses - 1, 0) WHERE promotion_id = $1 AND user_id = $2", [promotionId, userId]);
    },

    /**
     * Claims the order id for a redemption. Returns undefined if this transaction claimed it
     * (a concurrent claim of the same id waits here for ours to commit or roll back), or the row
     * that already holds it.
     */
    async claimOrder(q: Queryable, orderId: string, userId: string, now: Date): Promise<OrderRedemptions | undefined> {
      const { rowCount } = await q.query(
        `INSERT INTO order_redemptions (order_id, user_id, status, redeemed_at) VALUES ($1, $2, 'redeemed', $3)
         ON CONFLICT (order_id) DO NOTHING`,
        [orderId, userId, now],
      );
      if (rowCount > 0) return undefined;
      return orderRedemptions(q, orderId, { lock: true });
    },

    orderRedemptions,

    async insertRedemptions(q: Queryable, orderId: string, redemptions: readonly Redemption[]): Promise<void> {
      let position = 0;
      for (const r of redemptions) {
        await q.query(
          "INSERT INTO redemptions (order_id, promotion_id, position, coupon_code, amount_minor, currency_code) VALUES ($1, $2, $3, $4, $5, $6)",
          [orderId, r.promotionId, position++, r.couponCode, r.amount.amountMinor.toString(), r.amount.currency],
        );
      }
    },

    /** A release that finds nothing leaves a tombstone; returns false if the order already has a row. */
    async tombstone(q: Queryable, orderId: string, reason: string, now: Date): Promise<boolean> {
      const { rowCount } = await q.query(
        `INSERT INTO order_redemptions (order_id, status, released_at, release_reason) VALUES ($1, 'released', $2, $3)
         ON CONFLICT (order_id) DO NOTHING`,
        [orderId, now, reason],
      );
      return rowCount > 0;
    },

    async markReleased(q: Queryable, orderId: string, reason: string, now: Date): Promise<void> {
      await q.query("UPDATE order_redemptions SET status = 'released', released_at = $2, release_reason = $3 WHERE order_id = $1", [orderId, now, reason]);
    },
  };
}
