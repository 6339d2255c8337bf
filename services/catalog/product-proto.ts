// The catalog's records as contract messages, for responses and events alike.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ProductStatus, type CategorySchema, type ProductSchema, type SkuSchema } from "../../gen/shop/catalog/v1/product_pb.js";
import type { CategoryRecord } from "./category-store.js";
import type { Money, ProductRecord, ProductStatus as Status, SkuFields, SkuRecord } from "./product-rules.js";

export const statusToProto: Record<Status, ProductStatus> = {
  draft: ProductStatus.DRAFT,
  active: ProductStatus.ACTIVE,
  archived: ProductStatus.ARCHIVED,
};

/** UNSPECIFIED is whatever the RPC says it means (`fallback`). */
export function statusFromProto(s: ProductStatus, fallback: Status): Status {
  switch (s) {
    case ProductStatus.DRAFT:
      return "draft";
    case ProductStatus.ACTIVE:
      return "active";
    case ProductStatus.ARCHIVED:
      return "archived";
    default:
      return fallback;
  }
}

export const moneyProto = (m: Money) => ({ amountMinor: m.amountMinor, currencyCode: m.currency });

export function skuProto(s: SkuRecord): MessageInitShape<typeof SkuSchema> {
  return {
    code: s.code,
    name: s.name,
    price: moneyProto(s.price),
    attributes: { ...s.attributes },
    weightGrams: s.weightGrams,
    active: s.active,
    inStock: s.inStock,
  };
}

export function productProto(p: ProductRecord): MessageInitShape<typeof ProductSchema> {
  return {
    id: p.id,
    slug: p.slug,
    name: p.name,
    description: p.description,
    categoryIds: [...p.categoryIds],
    imageUrls: [...p.imageUrls],
    status: statusToProto[p.status],
    skus: p.skus.map(skuProto),
    createTime: timestampFromDate(p.createdAt),
    updateTime: timestampFromDate(p.updatedAt),
  };
}

export function categoryProto(c: CategoryRecord): MessageInitShape<typeof CategorySchema> {
  return { id: c.id, slug: c.slug, name: c.name, parentId: c.parentId ?? "", description: c.description };
}

/** A SKU as a request carries it; `price` is required by the contract, so validation has ensured it. */
export function skuFromProto(s: { code: string; name: string; price?: { amountMinor: bigint; currencyCode: string } | undefined; attributes: Record<string, string>; weightGrams: number; active: boolean }): SkuFields {
  return {
    code: s.code,
    name: s.name.trim(),
    price: { amountMinor: s.price!.amountMinor, currency: s.price!.currencyCode },
    attributes: { ...s.attributes },
    weightGrams: s.weightGrams,
    active: s.active,
  };
}
