// Seeders: the demo catalog that `npm start` shows (a few hundred products, idempotent), and
// large generated catalogs for benchmarks (100k+ products in bulk statements). Both write
// through the catalog's own tables on a catalog Db (pinned to the catalog's schema), with the
// same derived columns the service writes (product-rules.ts), so seeded products behave like
// any other. Data comes from seed-data.ts: deterministic, so ids and SKU codes are the same on
// every machine (an inventory seeder can stock `demoSkuCodes()` without asking the catalog).
import type { Db, Queryable } from "../../platform/db/db.js";
import { enqueueEvent } from "../../platform/events/index.js";
import { ProductCreatedSchema } from "../../gen/shop/catalog/v1/events_pb.js";
import { categoryStore } from "./category-store.js";
import { productProto } from "./product-proto.js";
import { productFacets, productVocabulary } from "./product-rules.js";
import { generateProduct, seedCategories, seedUuid, type SeedProduct } from "./seed-data.js";
import { addWords, skusJson, SKU_RECORDSET } from "./store.js";

/** Products in the demo catalog. */
export const DEMO_PRODUCT_COUNT = 300;

export interface SeedResult {
  /** Products inserted by this call (0 when there was nothing to do). */
  readonly products: number;
  readonly skus: number;
}

/** Inserts the demo category tree (by slug; existing slugs are left alone) and returns slug → id. */
async function ensureCategories(q: Queryable, now: Date): Promise<Map<string, string>> {
  const ids = await categoryStore.idsBySlug(q);
  for (const c of seedCategories) {
    if (ids.has(c.slug)) continue;
    const parentId = c.parent ? ids.get(c.parent) : undefined;
    const id = seedUuid(`category:${c.slug}`);
    await q.query(
      `INSERT INTO categories (id, slug, name, parent_id, description, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING`,
      [id, c.slug, c.name, parentId ?? null, c.description, now],
    );
    ids.set(c.slug, id);
  }
  return ids;
}

/**
 * Inserts `products` with their SKUs in a few statements; products whose id or slug exists
 * are skipped (with their SKUs). Returns the products inserted.
 */
async function insertBatch(q: Queryable, products: readonly SeedProduct[]): Promise<SeedProduct[]> {
  if (products.length === 0) return [];
  const rows = products.map((p) => {
    const f = productFacets(p.skus);
    return {
      id: p.id,
      slug: p.slug,
      name: p.name,
      description: p.description,
      category_ids: p.categoryIds,
      image_urls: p.imageUrls,
      status: p.status,
      currency_code: f.currency,
      min_price_minor: f.minPriceMinor.toString(),
      attr_tags: f.attrTags,
      search_extra: f.searchExtra,
      published_at: p.status === "draft" ? null : p.createdAt.toISOString(),
      created_at: p.createdAt.toISOString(),
    };
  });
  const { rows: inserted } = await q.query<{ id: string }>(
    `INSERT INTO products (id, slug, name, description, category_ids, image_urls, status, currency_code, min_price_minor,
       attr_tags, search_extra, published_at, created_at, updated_at)
     SELECT id, slug, name, description, category_ids, image_urls, status, currency_code, min_price_minor,
       attr_tags, search_extra, published_at, created_at, created_at
     FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, slug text, name text, description text, category_ids uuid[], image_urls text[],
       status text, currency_code text, min_price_minor bigint, attr_tags text[], search_extra text, published_at timestamptz, created_at timestamptz)
     ON CONFLICT DO NOTHING RETURNING id`,
    [JSON.stringify(rows)],
  );
  const fresh = new Set(inserted.map((r) => r.id));
  const added = products.filter((p) => fresh.has(p.id));
  if (added.length === 0) return [];
  const skus = added.flatMap((p) => JSON.parse(skusJson(p.id, p.skus)) as unknown[]);
  await q.query(
    `INSERT INTO skus (code, product_id, position, name, price_minor, currency_code, attributes, weight_grams, active)
     SELECT code, product_id, position, name, price_minor, currency_code, attributes, weight_grams, active FROM ${SKU_RECORDSET}
     ON CONFLICT DO NOTHING`,
    [JSON.stringify(skus)],
  );
  // Stock may already be known (inventory's events can come first).
  await q.query(
    `UPDATE products p SET in_stock = true WHERE p.id = ANY($1::uuid[]) AND EXISTS (
       SELECT 1 FROM skus s JOIN sku_stock st ON st.sku = s.code WHERE s.product_id = p.id AND s.active AND st.available > 0)`,
    [added.map((p) => p.id)],
  );
  return added;
}

/** The demo catalog as data, without a database: for other seeders (inventory stock) and tests. */
export function demoCatalog(now = new Date()): SeedProduct[] {
  const ids = new Map(seedCategories.map((c) => [c.slug, seedUuid(`category:${c.slug}`)]));
  return Array.from({ length: DEMO_PRODUCT_COUNT }, (_, n) => generateProduct("demo", n, ids, now));
}

/** Every SKU code of the demo catalog. */
export function demoSkuCodes(): string[] {
  return demoCatalog().flatMap((p) => p.skus.map((s) => s.code));
}

/**
 * Loads the demo catalog (categories, ~300 ACTIVE products in EUR, several SKUs each) unless
 * the catalog already has products; emits ProductCreated for each, like the admin RPC would.
 * Safe to call from several processes at once (an advisory lock serializes them).
 */
export async function seedDemoCatalog(db: Db, now = new Date()): Promise<SeedResult> {
  return db.tx(async (q) => {
    await q.query("SELECT pg_advisory_xact_lock(hashtext('catalog:seed-demo'))");
    const { rows } = await q.query<{ any: boolean }>("SELECT EXISTS (SELECT 1 FROM products) AS any");
    if (rows[0]?.any) return { products: 0, skus: 0 };
    const ids = await ensureCategories(q, now);
    const products = Array.from({ length: DEMO_PRODUCT_COUNT }, (_, n) => generateProduct("demo", n, ids, now));
    const added = await insertBatch(q, products);
    await addWords(q, added.flatMap(productVocabulary));
    for (const p of added) {
      await enqueueEvent(q, ProductCreatedSchema, {
        product: productProto({ ...p, skus: p.skus.map((s) => ({ ...s, inStock: false })), publishedAt: p.createdAt, updatedAt: p.createdAt }),
      });
    }
    return { products: added.length, skus: added.reduce((n, p) => n + p.skus.length, 0) };
  });
}

export interface LargeSeedOptions {
  /** Products per transaction (default 2000). */
  readonly batchSize?: number;
  /** Called after each batch with the number of products generated so far. */
  readonly onProgress?: (done: number) => void;
  readonly now?: Date;
}

/**
 * Makes sure the generated products 0..count-1 of the benchmark series exist (about 92%
 * ACTIVE, the rest draft or archived; 1 to 4 SKUs each), inserting the missing ones in bulk,
 * without events (a benchmark load is not a stream of admin actions). Running it again with
 * the same count does nothing; with a larger one, adds the rest.
 */
export async function seedLargeCatalog(db: Db, count: number, opts: LargeSeedOptions = {}): Promise<SeedResult> {
  const batchSize = opts.batchSize ?? 2000;
  const now = opts.now ?? new Date();
  const ids = await db.tx((q) => ensureCategories(q, now));
  let products = 0;
  let skus = 0;
  const words = new Set<string>();
  for (let start = 0; start < count; start += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => generateProduct("large", start + i, ids, now));
    const added = await db.tx((q) => insertBatch(q, batch));
    products += added.length;
    for (const p of added) {
      skus += p.skus.length;
      for (const w of productVocabulary(p)) words.add(w);
    }
    opts.onProgress?.(start + batch.length);
  }
  await db.tx((q) => addWords(q, [...words]));
  // A bulk load leaves GIN pending lists and stale statistics behind; searches right after
  // would pay for both (measured: twice the latency of related products at 100k). Outside a
  // transaction, as VACUUM must be.
  if (products > 0) await db.query("VACUUM (ANALYZE) products, skus, search_words");
  return { products, skus };
}
