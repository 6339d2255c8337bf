// All of the cart service's SQL. Every statement names the cart by owner_key (see
// migrations/001_carts.sql), and every time comes from the caller (the service's clock).
//
// Writes go through `CartTx`, bound to one transaction: `lock` takes the cart's row lock first,
// so concurrent changes to one cart are serialized and the rules in cart-rules.ts see the lines
// as they will be committed. `clearCartIn` takes a bare Queryable so an event consumer (the
// order service's OrderPlaced, later) can clear a cart inside its own inbox transaction.
import { CartClearedSchema, CartCleared_Reason, CartMergedSchema } from "../../gen/shop/cart/v1/events_pb.js";
import type { Db, Queryable } from "../../platform/db/db.js";
import { enqueueEvent } from "../../platform/events/index.js";
import type { StoredCart, StoredLine } from "./cart-view.js";

export { CartCleared_Reason };

export interface LockedCart extends StoredCart {
  readonly key: string;
}

/** A line as AddItem writes it: quantity decided by the rules, snapshot from the catalog. */
export type LineWrite = Omit<StoredLine, "addedAt">;

interface CartRow {
  owner_key: string;
  id: string;
  user_id: string | null;
  updated_at: Date;
  expires_at: Date;
  [k: string]: unknown;
}

interface LineRow {
  sku: string;
  quantity: number;
  product_id: string;
  product_name: string;
  sku_name: string;
  image_url: string;
  added_price: string;
  currency_code: string;
  added_at: Date;
  [k: string]: unknown;
}

const LINE_COLUMNS = `sku, quantity, product_id, product_name, sku_name, image_url,
  added_price_minor::text AS added_price, currency_code, added_at`;

function toLine(r: LineRow): StoredLine {
  return {
    sku: r.sku,
    quantity: r.quantity,
    productId: r.product_id,
    productName: r.product_name,
    skuName: r.sku_name,
    imageUrl: r.image_url,
    // Read as text: exact whatever the driver does with int8.
    addedPrice: { amountMinor: BigInt(r.added_price), currency: r.currency_code },
    addedAt: new Date(r.added_at),
  };
}

function toCart(row: CartRow, lines: StoredLine[]): LockedCart {
  return {
    key: row.owner_key,
    id: row.id,
    userId: row.user_id ?? undefined,
    updatedAt: new Date(row.updated_at),
    expiresAt: new Date(row.expires_at),
    lines,
  };
}

async function linesOf(q: Queryable, key: string): Promise<StoredLine[]> {
  const { rows } = await q.query<LineRow>(`SELECT ${LINE_COLUMNS} FROM cart_lines WHERE owner_key = $1 ORDER BY position, sku`, [key]);
  return rows.map(toLine);
}

export interface ClearCause {
  readonly reason: CartCleared_Reason;
  /** With REASON_ORDER_PLACED. */
  readonly orderId?: string;
}

/**
 * Deletes the lines of the owner's cart and, if there were any, enqueues CartCleared, all in
 * the caller's transaction. The cart row stays (a guest's token keeps working); its times are
 * the caller's to move. Returns how many lines went.
 */
export async function clearCartIn(q: Queryable, key: string, cause: ClearCause): Promise<number> {
  const { rows } = await q.query<{ id: string; user_id: string | null; n: number }>(
    `WITH gone AS (DELETE FROM cart_lines WHERE owner_key = $1 RETURNING 1)
     SELECT c.id, c.user_id, (SELECT count(*) FROM gone)::int AS n FROM carts c WHERE c.owner_key = $1`,
    [key],
  );
  const row = rows[0];
  if (!row || row.n === 0) return 0;
  await enqueueEvent(q, CartClearedSchema, { cartId: row.id, userId: row.user_id ?? "", reason: cause.reason, orderId: cause.orderId ?? "" });
  return row.n;
}

/** Deletes carts (with their lines) and enqueues CartCleared(EXPIRED) for those that held lines. */
async function deleteCartsIn(q: Queryable, where: string, params: unknown[]): Promise<number> {
  const { rows } = await q.query<{ id: string; user_id: string | null; had_lines: boolean }>(
    `WITH doomed AS (
       SELECT owner_key, id, user_id, EXISTS (SELECT 1 FROM cart_lines l WHERE l.owner_key = c.owner_key) AS had_lines
       FROM carts c WHERE ${where} FOR UPDATE SKIP LOCKED)
     DELETE FROM carts c USING doomed d WHERE c.owner_key = d.owner_key
     RETURNING d.id, d.user_id, d.had_lines`,
    params,
  );
  for (const r of rows) {
    if (r.had_lines) await enqueueEvent(q, CartClearedSchema, { cartId: r.id, userId: r.user_id ?? "", reason: CartCleared_Reason.EXPIRED });
  }
  return rows.length;
}

export interface CartTx {
  /**
   * Locks the owner's cart and returns it with its lines; undefined if there is none. A cart
   * found expired is deleted here (as the cleanup would) and reported as none, so it can
   * never come back to life.
   */
  lock(key: string, now: Date): Promise<LockedCart | undefined>;
  /** The owner's cart, created empty if there is none (or it had expired), locked. */
  lockOrCreate(key: string, userId: string | undefined, now: Date, expiresAt: Date): Promise<LockedCart>;
  /** Inserts the line (at the end) or replaces an existing line's quantity and snapshot. */
  putLine(key: string, line: LineWrite, now: Date): Promise<void>;
  setQuantity(key: string, sku: string, quantity: number): Promise<void>;
  removeLine(key: string, sku: string): Promise<boolean>;
  /** Moves a line of one cart to the end of another with a new quantity (merge). */
  moveLine(fromKey: string, toKey: string, sku: string, quantity: number): Promise<void>;
  deleteCart(key: string): Promise<void>;
  touch(key: string, now: Date, expiresAt: Date): Promise<void>;
  clear(key: string, cause: ClearCause): Promise<number>;
  cartMerged(guestCartId: string, cart: LockedCart): Promise<void>;
}

function cartTx(q: Queryable): CartTx {
  const tx: CartTx = {
    async lock(key, now) {
      const { rows } = await q.query<CartRow>(
        "SELECT owner_key, id, user_id, updated_at, expires_at FROM carts WHERE owner_key = $1 FOR UPDATE",
        [key],
      );
      const row = rows[0];
      if (!row) return undefined;
      if (new Date(row.expires_at).getTime() <= now.getTime()) {
        await deleteCartsIn(q, "c.owner_key = $1", [key]);
        return undefined;
      }
      return toCart(row, await linesOf(q, key));
    },

    async lockOrCreate(key, userId, now, expiresAt) {
      const existing = await tx.lock(key, now);
      if (existing) return existing;
      // A concurrent creator wins the insert; we then lock its row.
      await q.query(
        `INSERT INTO carts (owner_key, user_id, created_at, updated_at, expires_at) VALUES ($1, $2, $3, $3, $4)
         ON CONFLICT (owner_key) DO NOTHING`,
        [key, userId ?? null, now, expiresAt],
      );
      const created = await tx.lock(key, now);
      if (!created) throw new Error("cart vanished right after it was created");
      return created;
    },

    async putLine(key, line, now) {
      await q.query(
        `INSERT INTO cart_lines (owner_key, sku, position, quantity, product_id, product_name, sku_name, image_url, added_price_minor, currency_code, added_at)
         VALUES ($1, $2, (SELECT coalesce(max(position), 0) + 1 FROM cart_lines WHERE owner_key = $1), $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (owner_key, sku) DO UPDATE SET
           quantity = EXCLUDED.quantity, product_id = EXCLUDED.product_id, product_name = EXCLUDED.product_name,
           sku_name = EXCLUDED.sku_name, image_url = EXCLUDED.image_url,
           added_price_minor = EXCLUDED.added_price_minor, currency_code = EXCLUDED.currency_code`,
        [key, line.sku, line.quantity, line.productId, line.productName, line.skuName, line.imageUrl, line.addedPrice.amountMinor.toString(), line.addedPrice.currency, now],
      );
    },

    async setQuantity(key, sku, quantity) {
      await q.query("UPDATE cart_lines SET quantity = $3 WHERE owner_key = $1 AND sku = $2", [key, sku, quantity]);
    },

    async removeLine(key, sku) {
      const { rowCount } = await q.query("DELETE FROM cart_lines WHERE owner_key = $1 AND sku = $2", [key, sku]);
      return rowCount > 0;
    },

    async moveLine(fromKey, toKey, sku, quantity) {
      await q.query(
        `INSERT INTO cart_lines (owner_key, sku, position, quantity, product_id, product_name, sku_name, image_url, added_price_minor, currency_code, added_at)
         SELECT $2, sku, (SELECT coalesce(max(position), 0) + 1 FROM cart_lines WHERE owner_key = $2), $4,
                product_id, product_name, sku_name, image_url, added_price_minor, currency_code, added_at
         FROM cart_lines WHERE owner_key = $1 AND sku = $3`,
        [fromKey, toKey, sku, quantity],
      );
    },

    async deleteCart(key) {
      await q.query("DELETE FROM carts WHERE owner_key = $1", [key]);
    },

    async touch(key, now, expiresAt) {
      await q.query("UPDATE carts SET updated_at = $2, expires_at = $3 WHERE owner_key = $1", [key, now, expiresAt]);
    },

    clear: (key, cause) => clearCartIn(q, key, cause),

    async cartMerged(guestCartId, cart) {
      await enqueueEvent(q, CartMergedSchema, { guestCartId, cartId: cart.id, userId: cart.userId ?? "" });
    },
  };
  return tx;
}

export interface CartStore {
  /** The owner's cart if it has one that has not expired at `now`. */
  read(key: string, now: Date): Promise<StoredCart | undefined>;
  /** Runs `fn` in one transaction. */
  transact<T>(fn: (tx: CartTx) => Promise<T>): Promise<T>;
  /** Deletes up to `limit` carts expired at `now`; returns how many. */
  deleteExpired(now: Date, limit: number): Promise<number>;
}

export function createCartStore(db: Db): CartStore {
  return {
    async read(key, now) {
      const { rows } = await db.query<CartRow & Partial<LineRow>>(
        `SELECT c.owner_key, c.id, c.user_id, c.updated_at, c.expires_at,
                l.sku, l.quantity, l.product_id, l.product_name, l.sku_name, l.image_url,
                l.added_price_minor::text AS added_price, l.currency_code, l.added_at
         FROM carts c LEFT JOIN cart_lines l ON l.owner_key = c.owner_key
         WHERE c.owner_key = $1 AND c.expires_at > $2
         ORDER BY l.position, l.sku`,
        [key, now],
      );
      const first = rows[0];
      if (!first) return undefined;
      const lines = rows.filter((r) => r.sku != null).map((r) => toLine(r as LineRow));
      return toCart(first, lines);
    },

    transact: (fn) => db.tx((q) => fn(cartTx(q))),

    deleteExpired: (now, limit) =>
      // expires_at is checked again on the locked row: a cart renewed since the scan survives.
      db.tx((q) =>
        deleteCartsIn(q, "c.expires_at <= $1 AND c.owner_key IN (SELECT owner_key FROM carts WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)", [now, limit]),
      ),
  };
}
