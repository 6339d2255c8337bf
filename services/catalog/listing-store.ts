// The SQL of the catalog's lists: browse (ListProducts), full-text search and related products.
// Each is a keyset query: filters, then "after the last key" as one row comparison in the
// sort's direction, ordered by (key, id), one row more than the page to know if another follows.
import type { Queryable } from "../../platform/db/db.js";
import type { KeyPart, PageKey } from "./page-token.js";
import type { ProductRecord, ProductStatus } from "./product-rules.js";
import { PRODUCT_COLUMNS, PRODUCT_SELECT, skusOf, toProductRecord, type ProductRow } from "./store.js";

export type ProductSortKind = "newest" | "price_asc" | "price_desc" | "name";

export interface ProductFilter {
  readonly status: ProductStatus;
  /** A category and its descendants; undefined for every category. */
  readonly categoryIds: readonly string[] | undefined;
  /** Inclusive bounds on the lowest SKU price; only products in `currency` match. */
  readonly price: { readonly currency: string; readonly min: bigint | undefined; readonly max: bigint | undefined } | undefined;
  readonly inStockOnly: boolean;
}

/** A product as a list returns it, with the sort key of its row (for the next page's token). */
export interface Listed {
  readonly id: string;
  readonly product: ProductRecord;
  readonly key: readonly KeyPart[];
}

/** Collects SQL conditions and their parameters, numbering the placeholders. */
class Conditions {
  readonly params: unknown[] = [];
  readonly parts: string[] = [];
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
  add(sql: string): void {
    this.parts.push(sql);
  }
  get where(): string {
    return this.parts.length > 0 ? `WHERE ${this.parts.join(" AND ")}` : "";
  }
}

function filter(c: Conditions, f: ProductFilter): void {
  c.add(`p.status = ${c.param(f.status)}`);
  if (f.categoryIds) c.add(`p.category_ids && ${c.param(f.categoryIds)}::uuid[]`);
  if (f.price) {
    c.add(`p.currency_code = ${c.param(f.price.currency)}`);
    if (f.price.min !== undefined) c.add(`p.min_price_minor >= ${c.param(f.price.min.toString())}::bigint`);
    if (f.price.max !== undefined) c.add(`p.min_price_minor <= ${c.param(f.price.max.toString())}::bigint`);
  }
  if (f.inStockOnly) c.add("p.in_stock");
}

interface SortSpec {
  /** The key column(s) as SQL, and the same as output columns of the row. */
  readonly key: string;
  readonly keyCast: string;
  readonly descending: boolean;
  readonly keyOf: (r: ProductRow) => KeyPart[];
}

export const SORTS: Record<ProductSortKind, SortSpec & { readonly shape: readonly ("number" | "string")[] }> = {
  newest: { key: "p.created_at", keyCast: "timestamptz", descending: true, shape: ["number"], keyOf: (r) => [new Date(r.created_at).getTime()] },
  price_asc: { key: "p.min_price_minor", keyCast: "bigint", descending: false, shape: ["string"], keyOf: (r) => [String(r["min_price"])] },
  price_desc: { key: "p.min_price_minor", keyCast: "bigint", descending: true, shape: ["string"], keyOf: (r) => [String(r["min_price"])] },
  name: { key: "p.name_key", keyCast: "text", descending: false, shape: ["string"], keyOf: (r) => [String(r["name_key"])] },
};

const keyParam = (sort: ProductSortKind, part: KeyPart): unknown => (sort === "newest" ? new Date(part) : part);

export async function listProducts(q: Queryable, f: ProductFilter, sort: ProductSortKind, after: PageKey | undefined, limit: number): Promise<Listed[]> {
  const spec = SORTS[sort];
  const c = new Conditions();
  filter(c, f);
  if (after) {
    const op = spec.descending ? "<" : ">";
    c.add(`(${spec.key}, p.id) ${op} (${c.param(keyParam(sort, after.key[0]!))}::${spec.keyCast}, ${c.param(after.id)}::uuid)`);
  }
  const dir = spec.descending ? "DESC" : "ASC";
  const { rows } = await q.query<ProductRow>(
    `SELECT ${PRODUCT_SELECT}, p.min_price_minor::text AS min_price, p.name_key FROM products p ${c.where}
     ORDER BY ${spec.key} ${dir}, p.id ${dir} LIMIT ${c.param(limit + 1)}`,
    c.params,
  );
  return listed(rows, spec.keyOf);
}

function listed<R extends ProductRow>(rows: R[], keyOf: (r: R) => KeyPart[]): Listed[] {
  return rows.map((r) => ({ id: r.id, product: toProductRecord(r), key: keyOf(r) }));
}

/** Where a search window starts: before this (created_at, id), newest first. */
export interface WindowStart {
  readonly createdMs: number;
  readonly id: string;
}

/** The first window starts after the last millisecond of year 9999 (every driver writes it as plain ISO) and the greatest uuid. */
export const FIRST_WINDOW: WindowStart = { createdMs: Date.UTC(9999, 11, 31, 23, 59, 59, 999), id: "ffffffff-ffff-ffff-ffff-ffffffffffff" };

/** Search results carry [window start ms, window start id, rank, created ms] as their key (see searchProducts). */
export const SEARCH_KEY_SHAPE = ["number", "string", "number", "number"] as const;

interface WindowRow extends ProductRow {
  rank: number | null;
  window_size: number;
  window_end_at: Date | null;
  window_end_id: string | null;
}

/**
 * ACTIVE products matching every word of `text` (stemmed, English), best match first, in
 * windows: the matches are taken newest first, `windowSize` at a time (an index-ordered scan
 * that stops early, or the GIN index when the matches are few: the planner picks), and each
 * window is ranked by ts_rank over the name (weight A), SKU names and attribute values (B) and
 * the description (C), ties newest first. So a broad query ranks a bounded set per page instead
 * of every match, and a query with fewer matches than a window is ranked exactly. Keys are
 * [window start, rank, created_at] + id: a page resumes inside its window, then moves on to the
 * next, so pages neither repeat nor skip a product. The rank is a float4 whose text form
 * round-trips exactly.
 *
 * The index-ordered scan is cheap because products are stored roughly in created_at order (a
 * table filled by inserts over time is; the planner reads that from the column's correlation):
 * the newest matches sit on the last pages. A catalog bulk-loaded out of that order pays a heap
 * page per row the scan visits; `CLUSTER products USING products_newest_idx` restores the order.
 */
export async function searchProducts(
  q: Queryable,
  text: string,
  f: ProductFilter,
  after: PageKey | undefined,
  limit: number,
  windowSize: number,
): Promise<Listed[]> {
  let start: WindowStart = after ? { createdMs: Number(after.key[0]), id: String(after.key[1]) } : FIRST_WINDOW;
  let within = after ? { rank: Number(after.key[2]), createdMs: Number(after.key[3]), id: after.id } : undefined;
  const rows: (ProductRow & { key: KeyPart[] })[] = [];
  for (;;) {
    const w = await searchWindow(q, text, f, start, within, limit + 1 - rows.length, windowSize);
    for (const r of w.rows) rows.push({ ...r, key: [start.createdMs, start.id, r.rank, new Date(r.created_at).getTime()] });
    if (rows.length > limit || !w.next) break;
    start = w.next;
    within = undefined;
  }
  return listed(rows, (r) => r.key);
}

/** One window's rows after `within` (up to `limit`), and where the next window starts if this one was full. */
async function searchWindow(
  q: Queryable,
  text: string,
  f: ProductFilter,
  start: WindowStart,
  within: { rank: number; createdMs: number; id: string } | undefined,
  limit: number,
  windowSize: number,
): Promise<{ rows: (ProductRow & { rank: number })[]; next: WindowStart | undefined }> {
  const c = new Conditions();
  const query = `plainto_tsquery('english', ${c.param(text)})`;
  filter(c, f);
  c.add(`p.search_vector @@ ${query}`);
  c.add(`(p.created_at, p.id) < (${c.param(new Date(start.createdMs))}::timestamptz, ${c.param(start.id)}::uuid)`);
  const windowed = `${c.where} ORDER BY p.created_at DESC, p.id DESC LIMIT ${c.param(windowSize)}`;
  const resume = within
    ? `WHERE (w.rank, w.created_at, w.id) < (${c.param(within.rank)}::real, ${c.param(new Date(within.createdMs))}::timestamptz, ${c.param(within.id)}::uuid)`
    : "";
  // One row even when the window is empty or exhausted: its size and oldest key say whether another follows.
  const { rows } = await q.query<WindowRow>(
    `WITH w AS MATERIALIZED (SELECT ${PRODUCT_COLUMNS}, ts_rank(p.search_vector, ${query}) AS rank FROM products p ${windowed})
     SELECT e.window_size, l.created_at AS window_end_at, l.id AS window_end_id, r.*
     FROM (SELECT count(*)::int AS window_size FROM w) e
     LEFT JOIN LATERAL (SELECT created_at, id FROM w ORDER BY created_at, id LIMIT 1) l ON true
     LEFT JOIN LATERAL (SELECT w.*, ${skusOf("w")} FROM w ${resume} ORDER BY w.rank DESC, w.created_at DESC, w.id DESC LIMIT ${c.param(limit)}) r ON true`,
    c.params,
  );
  const head = rows[0]!;
  const full = head.window_size === windowSize && head.window_end_at !== null && head.window_end_id !== null;
  return {
    rows: rows.filter((r): r is WindowRow & { rank: number } => r.rank !== null),
    next: full ? { createdMs: new Date(head.window_end_at!).getTime(), id: head.window_end_id! } : undefined,
  };
}

/**
 * ACTIVE products related to `of`, most related first: ten points per shared category, one per
 * shared SKU attribute (same name and value). Candidates share a category; for a product
 * without categories, an attribute.
 */
export async function relatedProducts(
  q: Queryable,
  of: { readonly id: string; readonly categoryIds: readonly string[]; readonly attrTags: readonly string[] },
  after: PageKey | undefined,
  limit: number,
): Promise<Listed[]> {
  const c = new Conditions();
  const cats = `${c.param(of.categoryIds)}::uuid[]`;
  const tags = `${c.param(of.attrTags)}::text[]`;
  const overlap = of.categoryIds.length > 0 ? `p.category_ids && ${cats}` : `p.attr_tags && ${tags}`;
  const outer = after ? `WHERE (score, id) < (${c.param(after.key[0])}::int, ${c.param(after.id)}::uuid)` : "";
  const { rows } = await q.query<ProductRow & { score: number }>(
    `SELECT r.*, ${skusOf("r")} FROM (
       SELECT ${PRODUCT_COLUMNS},
         (10 * (SELECT count(*) FROM unnest(p.category_ids) x WHERE x = ANY (${cats}))
           + (SELECT count(*) FROM unnest(p.attr_tags) x WHERE x = ANY (${tags})))::int AS score
       FROM products p
       WHERE p.status = 'active' AND p.id <> ${c.param(of.id)}::uuid AND ${overlap}) r
     ${outer}
     ORDER BY score DESC, id DESC LIMIT ${c.param(limit + 1)}`,
    c.params,
  );
  return listed(rows, (r) => [Number(r.score)]);
}

/** The attribute tags of a product (for related products), or undefined if there is no such product. */
export async function attrTagsOf(q: Queryable, id: string): Promise<string[] | undefined> {
  const { rows } = await q.query<{ attr_tags: string[] }>("SELECT attr_tags FROM products WHERE id = $1", [id]);
  return rows[0]?.attr_tags;
}
