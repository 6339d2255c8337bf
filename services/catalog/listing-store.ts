// The SQL of the catalog's lists: browse (ListProducts), full-text search and related products.
// Each is a keyset query: filters, then "after the last key" as one row comparison in the
// sort's direction, ordered by (key, id), one row more than the page to know if another follows.
import type { Queryable } from "../../platform/db/db.js";
import type { KeyPart, PageKey } from "./page-token.js";
import type { ProductRecord, ProductStatus } from "./product-rules.js";
import { PRODUCT_COLUMNS, withSkus, type ProductRow } from "./store.js";

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
    `SELECT ${PRODUCT_COLUMNS}, p.min_price_minor::text AS min_price, p.name_key FROM products p ${c.where}
     ORDER BY ${spec.key} ${dir}, p.id ${dir} LIMIT ${c.param(limit + 1)}`,
    c.params,
  );
  return listed(q, rows, spec.keyOf);
}

async function listed(q: Queryable, rows: ProductRow[], keyOf: (r: ProductRow) => KeyPart[]): Promise<Listed[]> {
  const products = await withSkus(q, rows);
  return products.map((product, i) => ({ id: product.id, product, key: keyOf(rows[i]!) }));
}

/**
 * ACTIVE products matching every word of `text` (stemmed, English), best match first: ts_rank
 * over the name (weight A), SKU names and attribute values (B) and the description (C). The
 * rank is a float4 and its text form round-trips exactly, so it can be a keyset key.
 */
export async function searchProducts(q: Queryable, text: string, f: ProductFilter, after: PageKey | undefined, limit: number): Promise<Listed[]> {
  const c = new Conditions();
  const query = `plainto_tsquery('english', ${c.param(text)})`;
  filter(c, f);
  c.add(`p.search_vector @@ ${query}`);
  const rank = `ts_rank(p.search_vector, ${query})`;
  if (after) c.add(`(${rank}, p.id) < (${c.param(after.key[0])}::real, ${c.param(after.id)}::uuid)`);
  const { rows } = await q.query<ProductRow & { rank: number }>(
    `SELECT ${PRODUCT_COLUMNS}, ${rank} AS rank FROM products p ${c.where}
     ORDER BY rank DESC, p.id DESC LIMIT ${c.param(limit + 1)}`,
    c.params,
  );
  return listed(q, rows, (r) => [Number(r.rank)]);
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
    `SELECT * FROM (
       SELECT ${PRODUCT_COLUMNS},
         (10 * (SELECT count(*) FROM unnest(p.category_ids) x WHERE x = ANY (${cats}))
           + (SELECT count(*) FROM unnest(p.attr_tags) x WHERE x = ANY (${tags})))::int AS score
       FROM products p
       WHERE p.status = 'active' AND p.id <> ${c.param(of.id)}::uuid AND ${overlap}) r
     ${outer}
     ORDER BY score DESC, id DESC LIMIT ${c.param(limit + 1)}`,
    c.params,
  );
  return listed(q, rows, (r) => [Number(r.score)]);
}

/** The attribute tags of a product (for related products), or undefined if there is no such product. */
export async function attrTagsOf(q: Queryable, id: string): Promise<string[] | undefined> {
  const { rows } = await q.query<{ attr_tags: string[] }>("SELECT attr_tags FROM products WHERE id = $1", [id]);
  return rows[0]?.attr_tags;
}
