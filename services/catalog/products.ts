// The product operations, between the thin gRPC handlers (service.ts) and the stores: admin
// writes with their outbox events in the same transaction, and the reads with the visibility
// rule (shoppers see ACTIVE products only; see product-rules.ts).
import { randomUUID } from "node:crypto";
import { PriceChangedSchema, ProductArchivedSchema, ProductCreatedSchema, ProductDeletedSchema, ProductUpdatedSchema } from "../../gen/shop/catalog/v1/events_pb.js";
import type { Queryable } from "../../platform/db/db.js";
import { Code, fieldError, notFound, ShopError } from "../../platform/errors.js";
import { enqueueEvent } from "../../platform/events/index.js";
import { categoryStore } from "./category-store.js";
import { moneyProto, productProto } from "./product-proto.js";
import {
  changedFields,
  checkCreateStatus,
  checkDeletable,
  checkProduct,
  checkStatusChange,
  priceChanges,
  replaceSkus,
  visibleTo,
  type ProductFields,
  type ProductRecord,
  type SkuFields,
  type UpdatableField,
} from "./product-rules.js";
import type { CatalogStore } from "./store.js";

export interface Viewer {
  readonly admin: boolean;
}

export interface ProductsDeps {
  readonly store: CatalogStore;
  readonly clock: () => Date;
}

export type Products = ReturnType<typeof createProducts>;

export function createProducts({ store, clock }: ProductsDeps) {
  /** Every category named must exist (share-locked for the rest of the transaction). */
  async function checkCategories(q: Queryable, ids: readonly string[], field: string): Promise<void> {
    const existing = await categoryStore.lockExisting(q, ids);
    const i = ids.findIndex((id) => !existing.has(id));
    if (i >= 0) throw fieldError(`${field}[${i}]`, "no such category");
  }

  /** No SKU code may belong to another product. */
  async function checkSkuCodes(q: Queryable, productId: string, skus: readonly SkuFields[], field: string): Promise<void> {
    const owners = await store.skuOwners(q, skus.map((s) => s.code));
    const i = skus.findIndex((s) => (owners.get(s.code) ?? productId) !== productId);
    if (i >= 0) {
      throw new ShopError(Code.ALREADY_EXISTS, `SKU code ${skus[i]!.code} is already used by another product`, [
        { field: `${field}[${i}].code`, description: "already used by another product" },
      ]);
    }
  }

  async function mustGet(q: Queryable, id: string, lock = false): Promise<ProductRecord> {
    const p = await store.productById(q, id, { lock });
    if (!p) throw notFound("product", id);
    return p;
  }

  return {
    async get(by: { id: string } | { slug: string }, viewer: Viewer): Promise<ProductRecord> {
      const p = "id" in by ? await store.productById(store.db, by.id) : await store.productBySlug(store.db, by.slug);
      // Invisible is the same answer as absent: a draft's existence is not public.
      if (!p || !visibleTo(p, viewer, "id" in by ? "id" : "slug")) throw notFound("product");
      return p;
    },

    async create(input: ProductFields): Promise<ProductRecord> {
      checkCreateStatus(input.status);
      const fields = { ...input, name: input.name.trim() };
      checkProduct(fields);
      const id = randomUUID();
      return store.tx(async (q) => {
        await checkCategories(q, fields.categoryIds, "category_ids");
        await checkSkuCodes(q, id, fields.skus, "skus");
        await store.insertProduct(q, { ...fields, id, now: clock() });
        const created = await mustGet(q, id);
        await enqueueEvent(q, ProductCreatedSchema, { product: productProto(created) });
        return created;
      });
    },

    /** Changes the masked fields; emits ProductUpdated (and PriceChanged per repriced SKU) only if something changed. */
    async update(id: string, patch: ProductFields, mask: readonly UpdatableField[]): Promise<ProductRecord> {
      const has = (f: UpdatableField) => mask.includes(f);
      return store.tx(async (q) => {
        const current = await mustGet(q, id, true);
        const given: ProductFields = {
          slug: has("slug") ? patch.slug : current.slug,
          name: has("name") ? patch.name.trim() : current.name,
          description: has("description") ? patch.description : current.description,
          categoryIds: has("category_ids") ? patch.categoryIds : current.categoryIds,
          imageUrls: has("image_urls") ? patch.imageUrls : current.imageUrls,
          status: has("status") ? patch.status : current.status,
          skus: has("skus") ? patch.skus : current.skus,
        };
        checkStatusChange(current.status, given.status);
        checkProduct(given, "product.", { skus: has("skus") });
        const next = { ...given, skus: has("skus") ? replaceSkus(current.skus, patch.skus) : current.skus };
        const changed = changedFields(current, next);
        if (changed.length === 0) return current;
        if (changed.includes("category_ids")) await checkCategories(q, next.categoryIds, "product.category_ids");
        if (changed.includes("skus")) await checkSkuCodes(q, id, patch.skus, "product.skus");
        await store.updateProduct(q, id, next, clock());
        const updated = await mustGet(q, id);
        await enqueueEvent(q, ProductUpdatedSchema, { product: productProto(updated), changedFields: changed });
        for (const c of priceChanges(current.skus, next.skus)) {
          await enqueueEvent(q, PriceChangedSchema, { productId: id, sku: c.sku, oldPrice: moneyProto(c.oldPrice), newPrice: moneyProto(c.newPrice) });
        }
        return updated;
      });
    },

    /** Idempotent: archiving an archived product changes nothing and emits nothing. */
    async archive(id: string): Promise<ProductRecord> {
      return store.tx(async (q) => {
        const current = await mustGet(q, id, true);
        if (current.status === "archived") return current;
        await store.setStatus(q, id, "archived", clock());
        await enqueueEvent(q, ProductArchivedSchema, { productId: id, skus: current.skus.map((s) => s.code) });
        return mustGet(q, id);
      });
    },

    async remove(id: string): Promise<void> {
      await store.tx(async (q) => {
        const current = await mustGet(q, id, true);
        checkDeletable(current);
        await store.deleteProduct(q, id);
        await enqueueEvent(q, ProductDeletedSchema, { productId: id, skus: current.skus.map((s) => s.code) });
      });
    },

    /** BatchGetSkus: found ones in request order, and the codes nobody has. */
    async skus(codes: readonly string[]) {
      const found = new Map((await store.skuDetails(store.db, codes)).map((d) => [d.sku.code, d]));
      return {
        found: codes.flatMap((c) => found.get(c) ?? []),
        missing: codes.filter((c) => !found.has(c)),
      };
    },
  };
}
