// The shipping service's port to the catalog: what a parcel weighs. OrderPlaced carries SKUs and
// quantities but no weights, so the shipment's weight is looked up here when it is created.
import type { CatalogService } from "../../gen/shop/catalog/v1/catalog_pb.js";
import type { ServiceClient } from "../../platform/grpc/index.js";
import type { ShipmentItem } from "./shipment.js";

export interface Weights {
  /**
   * Sum of weight times quantity, in grams; SKUs the catalog does not know weigh 0. Rejects
   * with a ShopError (UNAVAILABLE when the catalog is down).
   */
  totalGrams(items: readonly ShipmentItem[]): Promise<number>;
}

const INT32_MAX = 2 ** 31 - 1;
// BatchGetSkus takes at most this many SKUs per call.
const BATCH = 200;

export function createCatalogWeights(client: ServiceClient<typeof CatalogService>): Weights {
  return {
    async totalGrams(items) {
      const skus = [...new Set(items.map((i) => i.sku))];
      const grams = new Map<string, number>();
      for (let i = 0; i < skus.length; i += BATCH) {
        const res = await client.batchGetSkus({ skus: skus.slice(i, i + BATCH) });
        for (const d of res.skus) if (d.sku) grams.set(d.sku.code, d.sku.weightGrams);
      }
      const total = items.reduce((sum, i) => sum + (grams.get(i.sku) ?? 0) * i.quantity, 0);
      return Math.min(total, INT32_MAX);
    },
  };
}
