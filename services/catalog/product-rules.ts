// The catalog's product rules as plain functions: what a well-formed product is beyond the
// contract's field rules, which status changes are allowed, what an update changed, and the
// values derived from the SKUs that lists and search filter on. No I/O here.
import { failedPrecondition, fieldError, invalidArgument, type FieldViolation } from "../../platform/errors.js";
import { searchWords } from "./search-terms.js";

export type ProductStatus = "draft" | "active" | "archived";

export interface Money {
  readonly amountMinor: bigint;
  /** ISO 4217, e.g. "EUR". */
  readonly currency: string;
}

export interface SkuFields {
  readonly code: string;
  readonly name: string;
  readonly price: Money;
  readonly attributes: Readonly<Record<string, string>>;
  readonly weightGrams: number;
  readonly active: boolean;
}

export interface SkuRecord extends SkuFields {
  /** From the stock projection: active and available > 0. */
  readonly inStock: boolean;
}

/** What an admin writes; the service adds id, times and stock. */
export interface ProductFields {
  readonly slug: string;
  readonly name: string;
  readonly description: string;
  readonly categoryIds: readonly string[];
  readonly imageUrls: readonly string[];
  readonly status: ProductStatus;
  readonly skus: readonly SkuFields[];
}

export interface ProductRecord extends Omit<ProductFields, "skus"> {
  readonly id: string;
  readonly skus: readonly SkuRecord[];
  /** First time ACTIVE; undefined for a product that never was (the only kind that may be deleted). */
  readonly publishedAt: Date | undefined;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The fields UpdateProduct's mask may name, as the contract spells them. */
export const UPDATABLE_FIELDS = ["slug", "name", "description", "category_ids", "image_urls", "status", "skus"] as const;
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

/** Values kept on the product row, derived from its SKUs on every write. */
export interface ProductFacets {
  readonly currency: string;
  /** Lowest price of the active SKUs; of all SKUs when none is active. */
  readonly minPriceMinor: bigint;
  /** `key=value` of every attribute of every SKU, lower-case, sorted, distinct. */
  readonly attrTags: string[];
  /** SKU names and attribute values, searchable. */
  readonly searchExtra: string;
}

export function productFacets(skus: readonly SkuFields[]): ProductFacets {
  const first = skus[0];
  if (!first) throw new Error("a product has at least one SKU");
  // SKUs an update left out keep their old price, possibly in an old currency: not counted.
  const same = skus.filter((s) => s.price.currency === first.price.currency);
  const priced = same.some((s) => s.active) ? same.filter((s) => s.active) : same;
  const minPriceMinor = priced.reduce((min, s) => (s.price.amountMinor < min ? s.price.amountMinor : min), priced[0]!.price.amountMinor);
  const tags = new Set<string>();
  const extra: string[] = [];
  for (const s of skus) {
    if (s.name) extra.push(s.name);
    for (const [k, v] of Object.entries(s.attributes)) {
      tags.add(`${k.trim().toLowerCase()}=${v.trim().toLowerCase()}`);
      extra.push(v);
    }
  }
  return { currency: first.price.currency, minPriceMinor, attrTags: [...tags].sort(), searchExtra: [...new Set(extra)].join(" ") };
}

/** The words of a product that search may correct a typo to. */
export function productVocabulary(p: Pick<ProductFields, "name" | "description" | "skus">): string[] {
  return searchWords([p.name, p.description, productFacets(p.skus).searchExtra].join(" "));
}

/**
 * Rules the contract's annotations cannot say, for a product as the request gives it (for an
 * update: the current product with the masked fields replaced, SKUs as given). `prefix` is how the request names the product ("" for CreateProduct,
 * "product." for UpdateProduct), so every violation names the request's field.
 */
export function checkProduct(p: ProductFields, prefix = "", opts: { skus: boolean } = { skus: true }): void {
  const violations: FieldViolation[] = [];
  const bad = (field: string, description: string) => violations.push({ field: `${prefix}${field}`, description });
  if (p.name.trim() === "") bad("name", "must not be blank");
  p.imageUrls.forEach((url, i) => {
    if (!/^https:\/\//i.test(url)) bad(`image_urls[${i}]`, "must be an absolute https URL");
  });
  const skus = opts.skus ? p.skus : [];
  if (opts.skus && skus.length === 0) bad("skus", "a product needs at least one SKU");
  const seen = new Map<string, number>();
  const currency = skus[0]?.price.currency;
  skus.forEach((s, i) => {
    const earlier = seen.get(s.code);
    if (earlier !== undefined) bad(`skus[${i}].code`, `duplicates skus[${earlier}].code`);
    seen.set(s.code, i);
    if (s.price.currency !== currency) bad(`skus[${i}].price.currency_code`, `every SKU of a product has one currency (skus[0] is ${currency})`);
    Object.keys(s.attributes).forEach((k) => {
      if (k.trim() === "" || k.includes("=")) bad(`skus[${i}].attributes`, `attribute name "${k}" must not be blank or contain "="`);
    });
  });
  if (violations.length === 1) throw fieldError(violations[0]!.field, violations[0]!.description);
  if (violations.length > 1) throw invalidArgument(violations.map((v) => `${v.field}: ${v.description}`).join("; "), violations);
}

/** CreateProduct takes DRAFT or ACTIVE only (UNSPECIFIED is DRAFT, decided by the caller). */
export function checkCreateStatus(status: ProductStatus): void {
  if (status === "archived") throw fieldError("status", "a product is created as DRAFT or ACTIVE");
}

/**
 * The contract's "status" path of UpdateProduct: DRAFT <-> ACTIVE. Archiving has its own RPC
 * (it emits ProductArchived), and an archived product stays archived.
 */
export function checkStatusChange(from: ProductStatus, to: ProductStatus): void {
  if (from === to) return;
  if (to === "archived") throw fieldError("product.status", "archive with ArchiveProduct");
  if (from === "archived") throw failedPrecondition("an archived product cannot change status");
}

/**
 * The SKU list after an update's "skus" path: the given SKUs in the given order, then every
 * existing SKU the update left out, deactivated (orders and carts refer to them).
 */
export function replaceSkus(existing: readonly SkuFields[], given: readonly SkuFields[]): SkuFields[] {
  const kept = new Set(given.map((s) => s.code));
  return [...given, ...existing.filter((s) => !kept.has(s.code)).map((s) => ({ ...s, active: false }))];
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function sameSku(a: SkuFields, b: SkuFields): boolean {
  const ka = Object.keys(a.attributes).sort();
  const kb = Object.keys(b.attributes).sort();
  return (
    a.code === b.code &&
    a.name === b.name &&
    a.price.amountMinor === b.price.amountMinor &&
    a.price.currency === b.price.currency &&
    a.weightGrams === b.weightGrams &&
    a.active === b.active &&
    sameList(ka, kb) &&
    ka.every((k) => a.attributes[k] === b.attributes[k])
  );
}

/** The mask paths whose values differ between `before` and `after`, in the contract's order. */
export function changedFields(before: ProductFields, after: ProductFields): UpdatableField[] {
  const differs: Record<UpdatableField, boolean> = {
    slug: before.slug !== after.slug,
    name: before.name !== after.name,
    description: before.description !== after.description,
    category_ids: !sameList(before.categoryIds, after.categoryIds),
    image_urls: !sameList(before.imageUrls, after.imageUrls),
    status: before.status !== after.status,
    skus: before.skus.length !== after.skus.length || before.skus.some((s, i) => !sameSku(s, after.skus[i]!)),
  };
  return UPDATABLE_FIELDS.filter((f) => differs[f]);
}

export interface PriceChange {
  readonly sku: string;
  readonly oldPrice: Money;
  readonly newPrice: Money;
}

/** SKUs present before and after whose unit price changed (new SKUs have no old price). */
export function priceChanges(before: readonly SkuFields[], after: readonly SkuFields[]): PriceChange[] {
  const old = new Map(before.map((s) => [s.code, s.price]));
  return after.flatMap((s) => {
    const was = old.get(s.code);
    if (!was || (was.amountMinor === s.price.amountMinor && was.currency === s.price.currency)) return [];
    return [{ sku: s.code, oldPrice: was, newPrice: s.price }];
  });
}

/** DeleteProduct: only a DRAFT that was never ACTIVE (so never sold); anything else is archived. */
export function checkDeletable(p: Pick<ProductRecord, "status" | "publishedAt">): void {
  if (p.status !== "draft") throw failedPrecondition("only DRAFT products can be deleted; archive it instead");
  if (p.publishedAt) throw failedPrecondition("this product was ACTIVE before and may have been sold; archive it instead");
}

/** Shoppers see ACTIVE products; an ARCHIVED one still resolves by id (order history, reviews); admins see all. */
export function visibleTo(p: Pick<ProductRecord, "status">, viewer: { admin: boolean }, by: "id" | "slug"): boolean {
  if (viewer.admin || p.status === "active") return true;
  return p.status === "archived" && by === "id";
}

/** A SKU can be sold when it and its product are active. */
export const purchasable = (p: Pick<ProductRecord, "status">, s: Pick<SkuFields, "active">) => p.status === "active" && s.active;
