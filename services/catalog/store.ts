// All SQL for products, their SKUs, the stock projection and the search vocabulary (categories
// are in category-store.ts). Methods take the Queryable to run on, so a flow puts several of
// them and its outbox event into one transaction (`tx`). Lists and search are in listing-store.ts.
import type { Db, Queryable } from "../../platform/db/db.js";
import { alreadyExists, ShopError, Code } from "../../platform/errors.js";
import { productFacets, productVocabulary, type ProductFields, type ProductRecord, type ProductStatus, type SkuFields, type SkuRecord } from "./product-rules.js";

export interface ProductRow {
  id: string;
  /** Its SKUs in order, as JSON objects shaped like SkuRow (PRODUCT_SELECT's `skus`). */
  skus: SkuRow[];
  slug: string;
  name: string;
  description: string;
  category_ids: string[];
  image_urls: string[];
  status: ProductStatus;
  published_at: Date | null;
  created_at: Date;
  updated_at: Date;
  [k: string]: unknown;
}

interface SkuRow {
  code: string;
  name: string;
  price: string;
  currency_code: string;
  attributes: Record<string, string>;
  weight_grams: number;
  active: boolean;
  in_stock: boolean;
  [k: string]: unknown;
}

export const PRODUCT_COLUMNS = "p.id, p.slug, p.name, p.description, p.category_ids, p.image_urls, p.status, p.published_at, p.created_at, p.updated_at";

/** A SkuRow's columns as SQL over `skus s LEFT JOIN sku_stock st`: one spelling for a row of its own and for JSON. */
const SKU_FIELDS: readonly (readonly [keyof SkuRow & string, string])[] = [
  ["code", "s.code"],
  ["name", "s.name"],
  // As text: exact whatever the driver does with int8.
  ["price", "s.price_minor::text"],
  ["currency_code", "s.currency_code"],
  ["attributes", "s.attributes"],
  ["weight_grams", "s.weight_grams"],
  ["active", "s.active"],
  ["in_stock", "COALESCE(st.available > 0, false)"],
];
const SKU_COLUMNS = SKU_FIELDS.map(([key, sql]) => `${sql} AS ${key}`).join(", ");
const SKU_JSON = `json_build_object(${SKU_FIELDS.map(([key, sql]) => `'${key}', ${sql}`).join(", ")})`;

/**
 * The SKUs of the product row `alias`, in order, as one JSON array column `skus` (a SkuRow per
 * element): a product read or a page of them is one statement, not one more for the SKUs. In a
 * select list above an ORDER BY ... LIMIT, PostgreSQL runs it for the rows returned only.
 */
export function skusOf(alias: string): string {
  return `(SELECT COALESCE(json_agg(${SKU_JSON} ORDER BY s.position), '[]')
    FROM skus s LEFT JOIN sku_stock st ON st.sku = s.code WHERE s.product_id = ${alias}.id) AS skus`;
}

/** A product row with its SKUs, for toProductRecord. */
export const PRODUCT_SELECT = `${PRODUCT_COLUMNS}, ${skusOf("p")}`;

const toSku = (r: SkuRow): SkuRecord => ({
  code: r.code,
  name: r.name,
  // Read as text: exact whatever the driver does with int8.
  price: { amountMinor: BigInt(r.price), currency: r.currency_code },
  attributes: r.attributes,
  weightGrams: r.weight_grams,
  active: r.active,
  inStock: r.in_stock,
});

/** A row of PRODUCT_SELECT (or with skusOf) as the product it is. */
export const toProductRecord = (r: ProductRow): ProductRecord => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  description: r.description,
  categoryIds: r.category_ids,
  imageUrls: r.image_urls,
  status: r.status,
  skus: r.skus.map(toSku),
  publishedAt: r.published_at ? new Date(r.published_at) : undefined,
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

/** SKUs as one JSON parameter for jsonb_to_recordset: any number of rows in one statement. */
export function skusJson(productId: string, skus: readonly SkuFields[]): string {
  return JSON.stringify(
    skus.map((s, position) => ({
      code: s.code,
      product_id: productId,
      position,
      name: s.name,
      price_minor: s.price.amountMinor.toString(),
      currency_code: s.price.currency,
      attributes: s.attributes,
      weight_grams: s.weightGrams,
      active: s.active,
    })),
  );
}

export const SKU_RECORDSET = `jsonb_to_recordset($1::jsonb) AS r(code text, product_id uuid, position integer, name text,
  price_minor bigint, currency_code text, attributes jsonb, weight_grams integer, active boolean)`;

/** Adds `words` to the vocabulary. Sorted, so concurrent writers lock the same words in one order. */
export async function addWords(q: Queryable, words: readonly string[]): Promise<void> {
  if (words.length === 0) return;
  await q.query("INSERT INTO search_words (word) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", [[...new Set(words)].sort()]);
}

/** A unique violation as the error the caller should see; anything else unchanged. */
function conflict(err: unknown, slugField: string): unknown {
  const e = err as { code?: unknown; constraint?: unknown; detail?: unknown };
  if (e.code !== "23505") return err;
  if (e.constraint === "products_slug_key") {
    return new ShopError(Code.ALREADY_EXISTS, "a product with this slug already exists", [{ field: slugField, description: "already used by another product" }]);
  }
  if (e.constraint === "skus_pkey") return alreadyExists("a SKU code is already used by another product");
  return err;
}

export interface NewProduct extends ProductFields {
  readonly id: string;
  readonly now: Date;
}

export type CatalogStore = ReturnType<typeof createCatalogStore>;

export function createCatalogStore(db: Db) {
  /**
   * Inserts or rewrites the product's SKUs. A code that belongs to another product is left
   * alone by the upsert and makes this ALREADY_EXISTS: the caller checked the codes before,
   * but a concurrent writer may have taken one since (its insert commits first, ours waits).
   */
  async function writeSkus(q: Queryable, productId: string, skus: readonly SkuFields[]): Promise<void> {
    const { rowCount } = await q.query(
      `INSERT INTO skus (code, product_id, position, name, price_minor, currency_code, attributes, weight_grams, active)
       SELECT code, product_id, position, name, price_minor, currency_code, attributes, weight_grams, active FROM ${SKU_RECORDSET}
       ON CONFLICT (code) DO UPDATE SET position = EXCLUDED.position, name = EXCLUDED.name, price_minor = EXCLUDED.price_minor,
         currency_code = EXCLUDED.currency_code, attributes = EXCLUDED.attributes, weight_grams = EXCLUDED.weight_grams, active = EXCLUDED.active
       WHERE skus.product_id = EXCLUDED.product_id`,
      [skusJson(productId, skus)],
    );
    if (rowCount !== skus.length) throw alreadyExists("a SKU code is already used by another product");
    await refreshInStock(q, [productId]);
  }

  async function refreshInStock(q: Queryable, productIds: readonly string[]): Promise<void> {
    await q.query(
      `UPDATE products p SET in_stock = EXISTS (
         SELECT 1 FROM skus s JOIN sku_stock st ON st.sku = s.code WHERE s.product_id = p.id AND s.active AND st.available > 0)
       WHERE p.id = ANY($1::uuid[])`,
      [productIds],
    );
  }

  return {
    db,
    tx: <T>(fn: (q: Queryable) => Promise<T>) => db.tx(fn),

    async productById(q: Queryable, id: string, opts: { lock?: boolean } = {}): Promise<ProductRecord | undefined> {
      const { rows } = await q.query<ProductRow>(`SELECT ${PRODUCT_SELECT} FROM products p WHERE p.id = $1${opts.lock ? " FOR UPDATE" : ""}`, [id]);
      return rows[0] && toProductRecord(rows[0]);
    },

    async productBySlug(q: Queryable, slug: string): Promise<ProductRecord | undefined> {
      const { rows } = await q.query<ProductRow>(`SELECT ${PRODUCT_SELECT} FROM products p WHERE p.slug = $1`, [slug]);
      return rows[0] && toProductRecord(rows[0]);
    },

    /** Which product each of `codes` belongs to now (codes nobody uses are absent). */
    async skuOwners(q: Queryable, codes: readonly string[]): Promise<Map<string, string>> {
      const { rows } = await q.query<{ code: string; product_id: string }>("SELECT code, product_id FROM skus WHERE code = ANY($1::text[])", [codes]);
      return new Map(rows.map((r) => [r.code, r.product_id]));
    },

    /** ALREADY_EXISTS (naming `slug`) when the slug is taken. */
    async insertProduct(q: Queryable, p: NewProduct): Promise<void> {
      const f = productFacets(p.skus);
      try {
        await q.query(
          `INSERT INTO products (id, slug, name, description, category_ids, image_urls, status, currency_code, min_price_minor,
             attr_tags, search_extra, published_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5::uuid[], $6::text[], $7, $8, $9, $10::text[], $11, $12, $13, $13)`,
          [p.id, p.slug, p.name, p.description, p.categoryIds, p.imageUrls, p.status, f.currency, f.minPriceMinor.toString(), f.attrTags, f.searchExtra,
            p.status === "active" ? p.now : null, p.now],
        );
        await writeSkus(q, p.id, p.skus);
      } catch (err) {
        throw conflict(err, "slug");
      }
      await addWords(q, productVocabulary(p));
    },

    /** Rewrites every field; the SKU list is the complete new one (see replaceSkus). ALREADY_EXISTS (naming `product.slug`) when the slug is taken. */
    async updateProduct(q: Queryable, id: string, p: ProductFields, now: Date): Promise<void> {
      const f = productFacets(p.skus);
      try {
        await q.query(
          `UPDATE products SET slug = $2, name = $3, description = $4, category_ids = $5::uuid[], image_urls = $6::text[], status = $7,
             currency_code = $8, min_price_minor = $9, attr_tags = $10::text[], search_extra = $11,
             published_at = COALESCE(published_at, CASE WHEN $7 = 'active' THEN $12::timestamptz END), updated_at = $12
           WHERE id = $1`,
          [id, p.slug, p.name, p.description, p.categoryIds, p.imageUrls, p.status, f.currency, f.minPriceMinor.toString(), f.attrTags, f.searchExtra, now],
        );
        await writeSkus(q, id, p.skus);
      } catch (err) {
        throw conflict(err, "product.slug");
      }
      await addWords(q, productVocabulary(p));
    },

    async setStatus(q: Queryable, id: string, status: ProductStatus, now: Date): Promise<void> {
      await q.query("UPDATE products SET status = $2, updated_at = $3 WHERE id = $1", [id, status, now]);
    },

    async deleteProduct(q: Queryable, id: string): Promise<void> {
      await q.query("DELETE FROM products WHERE id = $1", [id]);
    },

    /** Details of `codes` with their products' facts, in no particular order. */
    async skuDetails(q: Queryable, codes: readonly string[]) {
      const { rows } = await q.query<SkuRow & { product_id: string; product_name: string; product_slug: string; image_url: string | null; category_ids: string[]; status: ProductStatus }>(
        `SELECT s.product_id, ${SKU_COLUMNS},
           p.name AS product_name, p.slug AS product_slug, p.image_urls[1] AS image_url, p.category_ids, p.status
         FROM skus s JOIN products p ON p.id = s.product_id LEFT JOIN sku_stock st ON st.sku = s.code
         WHERE s.code = ANY($1::text[])`,
        [codes],
      );
      return rows.map((r) => ({
        sku: toSku(r),
        productId: r.product_id,
        productName: r.product_name,
        productSlug: r.product_slug,
        imageUrl: r.image_url ?? "",
        categoryIds: r.category_ids,
        status: r.status,
      }));
    },

    /**
     * Records a stock level unless a newer one is already known, and refreshes the in-stock
     * flag of the product owning the SKU. False when the level was older than the one stored.
     */
    async applyStock(q: Queryable, sku: string, available: number, asOf: Date): Promise<boolean> {
      const { rowCount } = await q.query(
        `INSERT INTO sku_stock (sku, available, as_of) VALUES ($1, $2, $3)
         ON CONFLICT (sku) DO UPDATE SET available = EXCLUDED.available, as_of = EXCLUDED.as_of
         WHERE sku_stock.as_of <= EXCLUDED.as_of`,
        [sku, available, asOf],
      );
      if (rowCount === 0) return false;
      const { rows } = await q.query<{ product_id: string }>("SELECT product_id FROM skus WHERE code = $1", [sku]);
      if (rows[0]) await refreshInStock(q, [rows[0].product_id]);
      return true;
    },

    /** The words of `words` that are in the vocabulary. */
    async knownWords(q: Queryable, words: readonly string[]): Promise<Set<string>> {
      const { rows } = await q.query<{ word: string }>("SELECT word FROM search_words WHERE word = ANY($1::text[])", [words]);
      return new Set(rows.map((r) => r.word));
    },

    /**
     * Vocabulary words trigram-similar to `word` (at least the transaction's threshold, see
     * setSimilarityThreshold; the % operator is what the GIN index serves) and of a length within
     * `lengthSlack`, most similar first.
     */
    async similarWords(q: Queryable, word: string, lengthSlack: number, limit: number): Promise<string[]> {
      const { rows } = await q.query<{ word: string }>(
        `SELECT word FROM search_words
         WHERE word % $1 AND char_length(word) BETWEEN char_length($1) - $2 AND char_length($1) + $2
         ORDER BY similarity(word, $1) DESC, word LIMIT $3`,
        [word, lengthSlack, limit],
      );
      return rows.map((r) => r.word);
    },

    /** pg_trgm's threshold for %, for the rest of the transaction `q` only. */
    async setSimilarityThreshold(q: Queryable, threshold: number): Promise<void> {
      await q.query("SELECT set_config('pg_trgm.similarity_threshold', $1, true)", [String(threshold)]);
    },
  };
}
