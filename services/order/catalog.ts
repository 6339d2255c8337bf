// The order service's port to the catalog: what each SKU costs now, weighs, and is called.
// Every price an order is charged comes from here, never from the cart or the client.
import { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import type { ServiceClient } from "../../platform/grpc/index.js";
import type { SkuPrice } from "./pricing.js";

export interface Catalog {
  /** Purchasable, priced SKUs only: anything missing from the map cannot be sold now. */
  prices(skus: readonly string[]): Promise<ReadonlyMap<string, SkuPrice>>;
}

export type CatalogClient = ServiceClient<typeof CatalogService>;

export function createGrpcCatalog(client: CatalogClient): Catalog {
  return {
    async prices(skus) {
      const out = new Map<string, SkuPrice>();
      if (skus.length === 0) return out;
      const res = await client.batchGetSkus({ skus: [...new Set(skus)] });
      for (const d of res.skus) {
        const s = d.sku;
        if (!s?.price || !d.purchasable) continue;
        out.set(s.code, {
          sku: s.code,
          productId: d.productId,
          productName: d.productName,
          skuName: s.name,
          imageUrl: d.imageUrl,
          unitPrice: { amountMinor: s.price.amountMinor, currency: s.price.currencyCode },
          weightGrams: s.weightGrams,
          categoryIds: [...d.categoryIds],
        });
      }
      return out;
    },
  };
}

export { CatalogService };
