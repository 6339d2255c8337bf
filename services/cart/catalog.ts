// The cart's port to the catalog: what a SKU is called, what it costs now, and whether it may be
// sold. The cart never takes a price from its client; every price it shows comes from here.
import type { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import type { ServiceClient } from "../../platform/grpc/index.js";
import type { Money } from "../../platform/money.js";

export interface SkuInfo {
  readonly sku: string;
  readonly productId: string;
  readonly productName: string;
  /** The variant's label, e.g. "Blue / M". */
  readonly skuName: string;
  readonly imageUrl: string;
  /** Undefined only if the catalog sent none, which makes the SKU unsellable. */
  readonly price: Money | undefined;
  /** The SKU is active and its product ACTIVE. */
  readonly purchasable: boolean;
}

export interface SkuLookup {
  readonly found: ReadonlyMap<string, SkuInfo>;
  /** SKUs the catalog does not know (deleted, or never existed). */
  readonly missing: ReadonlySet<string>;
}

export interface Catalog {
  /** Rejects with a ShopError (UNAVAILABLE when the catalog is down). */
  getSkus(skus: readonly string[]): Promise<SkuLookup>;
}

export function createGrpcCatalog(client: ServiceClient<typeof CatalogService>): Catalog {
  return {
    async getSkus(skus) {
      if (skus.length === 0) return { found: new Map(), missing: new Set() };
      const res = await client.batchGetSkus({ skus: [...skus] });
      const found = new Map<string, SkuInfo>();
      for (const d of res.skus) {
        const sku = d.sku;
        if (!sku) continue;
        found.set(sku.code, {
          sku: sku.code,
          productId: d.productId,
          productName: d.productName,
          skuName: sku.name,
          imageUrl: d.imageUrl,
          price: sku.price ? { amountMinor: sku.price.amountMinor, currency: sku.price.currencyCode } : undefined,
          purchasable: d.purchasable,
        });
      }
      // Anything neither found nor listed as missing is treated as missing: a line must never
      // be priced from nothing.
      const missing = new Set(skus.filter((s) => !found.has(s)));
      return { found, missing };
    },
  };
}
