// Browsing: ListProducts, SearchProducts and ListRelatedProducts. Turns a request's filters
// into a ProductFilter (category with its descendants, price bounds in one currency, status
// forced to ACTIVE for shoppers), corrects typos before searching (search-terms.ts), and pages
// by keyset tokens bound to the list and its filters.
import { fieldError, notFound } from "../../platform/errors.js";
import type { Queryable } from "../../platform/db/db.js";
import type { Categories } from "./categories.js";
import { attrTagsOf, listProducts, relatedProducts, searchProducts, SEARCH_KEY_SHAPE, SORTS, type Listed, type ProductFilter, type ProductSortKind } from "./listing-store.js";
import { decodePageToken, isUuid, listFingerprint, pageOf, pageSize } from "./page-token.js";
import { visibleTo, type Money, type ProductRecord, type ProductStatus } from "./product-rules.js";
import { bestCorrection, correctQuery, maxEdits, queryWords } from "./search-terms.js";
import type { CatalogStore } from "./store.js";
import type { Viewer } from "./products.js";

export interface FilterInput {
  readonly categoryId: string;
  readonly minPrice: Money | undefined;
  readonly maxPrice: Money | undefined;
  readonly inStockOnly: boolean;
}

export interface ProductPage {
  readonly products: ProductRecord[];
  readonly nextPageToken: string;
}

/** Trigram similarity a vocabulary word needs to be considered as a correction (low: edit distance decides). */
const CORRECTION_SIMILARITY = 0.1;
const CORRECTION_CANDIDATES = 500;
/** Matches ranked together per search window (listing-store.ts searchProducts): five default pages. */
export const SEARCH_WINDOW = 100;

export type Browsing = ReturnType<typeof createBrowsing>;

export function createBrowsing({ store, categories, searchWindow = SEARCH_WINDOW }: { store: CatalogStore; categories: Categories; searchWindow?: number }) {
  const db = store.db;

  async function productFilter(f: FilterInput, status: ProductStatus, fields: { category: string; min: string; max: string }): Promise<ProductFilter> {
    const { minPrice: min, maxPrice: max } = f;
    if (min && max && min.currency !== max.currency) throw fieldError(`${fields.max}.currency_code`, `must be the currency of ${fields.min} (${min.currency})`);
    if (min && max && min.amountMinor > max.amountMinor) throw fieldError(`${fields.max}.amount_minor`, `must not be below ${fields.min}`);
    for (const [m, field] of [[min, fields.min], [max, fields.max]] as const) {
      if (m && m.currency === "") throw fieldError(`${field}.currency_code`, "must be set: prices compare within one currency");
    }
    const currency = min?.currency ?? max?.currency;
    return {
      status,
      categoryIds: f.categoryId ? await categories.withDescendants(f.categoryId, fields.category) : undefined,
      price: currency ? { currency, min: min?.amountMinor, max: max?.amountMinor } : undefined,
      inStockOnly: f.inStockOnly,
    };
  }

  const page = (rows: Listed[], limit: number, list: string): ProductPage => {
    const { page: shown, nextPageToken } = pageOf(rows, limit, list, (r) => r.key);
    return { products: shown.map((r) => r.product), nextPageToken };
  };

  /** The filters as asked (not as resolved: a subcategory added between two pages must not void the token). */
  const asked = (f: FilterInput) => [f.categoryId, f.minPrice, f.maxPrice, f.inStockOnly];

  const FILTER_FIELDS = { category: "category_id", min: "min_price", max: "max_price" };

  /** Corrections for the words of `words` that the vocabulary does not know. */
  async function corrections(q: Parameters<CatalogStore["knownWords"]>[0], words: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const known = await store.knownWords(q, words);
    const unknown = [...new Set(words)].filter((w) => !known.has(w) && maxEdits([...w].length) > 0);
    if (unknown.length === 0) return out;
    await store.setSimilarityThreshold(q, CORRECTION_SIMILARITY);
    for (const w of unknown) {
      const best = bestCorrection(w, await store.similarWords(q, w, maxEdits([...w].length), CORRECTION_CANDIDATES));
      if (best) out.set(w, best);
    }
    return out;
  }

  return {
    async list(req: FilterInput & { pageSize: number; pageToken: string; status: ProductStatus; sort: ProductSortKind }, viewer: Viewer): Promise<ProductPage> {
      const status = viewer.admin ? req.status : "active";
      const filter = await productFilter(req, status, FILTER_FIELDS);
      const limit = pageSize(req.pageSize);
      const list = `products:${req.sort}:${listFingerprint([status, ...asked(req)])}`;
      const after = decodePageToken(req.pageToken, list, SORTS[req.sort].shape);
      return page(await listProducts(db, filter, req.sort, after, limit), limit, list);
    },

    async search(req: FilterInput & { query: string; pageSize: number; pageToken: string }): Promise<ProductPage> {
      const words = queryWords(req.query);
      if (words.length === 0) throw fieldError("query", "must contain at least one word");
      const filter = await productFilter(req, "active", FILTER_FIELDS);
      const limit = pageSize(req.pageSize);
      const list = `search:${listFingerprint([words, ...asked(req)])}`;
      const after = decodePageToken(req.pageToken, list, SEARCH_KEY_SHAPE);
      if (after && !isUuid(String(after.key[1]))) throw fieldError("page_token", "not a page token from this list (with these filters and sort)");
      const run = (q: Queryable, text: string) => searchProducts(q, text, filter, after, limit, searchWindow);
      // Words are corrected only when the query as typed finds nothing: a word the vocabulary
      // lacks may still match by its stem ("shirts"), and most queries skip the vocabulary.
      const found = await run(db, words.join(" "));
      if (found.length > 0) return page(found, limit, list);
      // A transaction of its own: the similarity threshold (corrections) is set for it alone.
      const corrected = await store.tx(async (q) => {
        const fixes = await corrections(q, words);
        return fixes.size > 0 ? run(q, correctQuery(words, fixes).join(" ")) : found;
      });
      return page(corrected, limit, list);
    },

    /** Related to any product the viewer may see (an archived one's page still offers alternatives); the results are ACTIVE only. */
    async related(req: { productId: string; pageSize: number; pageToken: string }, viewer: Viewer): Promise<ProductPage> {
      const of = await store.productById(db, req.productId);
      if (!of || !visibleTo(of, viewer, "id")) throw notFound("product", req.productId);
      const attrTags = (await attrTagsOf(db, of.id)) ?? [];
      const limit = pageSize(req.pageSize);
      const list = `related:${of.id}`;
      const after = decodePageToken(req.pageToken, list, ["number"]);
      return page(await relatedProducts(db, { id: of.id, categoryIds: of.categoryIds, attrTags }, after, limit), limit, list);
    },
  };
}
