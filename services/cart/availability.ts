// The cart's port to inventory: how many units of each SKU could be bought now. Advisory only
// (stock is held at checkout, not by carts), which is why a cart view survives without it.
import type { InventoryService } from "../../gen/shop/inventory/v1/inventory_pb.js";
import type { ServiceClient } from "../../platform/grpc/index.js";

export interface Availability {
  /**
   * Units available per SKU; a SKU inventory has never stocked has 0. Rejects with a ShopError
   * (UNAVAILABLE when inventory is down or not deployed yet).
   */
  unitsAvailable(skus: readonly string[]): Promise<ReadonlyMap<string, number>>;
}

export function createInventoryAvailability(client: ServiceClient<typeof InventoryService>): Availability {
  return {
    async unitsAvailable(skus) {
      const out = new Map<string, number>();
      if (skus.length === 0) return out;
      const res = await client.batchGetStock({ skus: [...skus] });
      for (const level of res.stock) out.set(level.sku, Math.max(0, level.available));
      for (const sku of skus) if (!out.has(sku)) out.set(sku, 0);
      return out;
    },
  };
}
