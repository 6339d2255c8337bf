// Reading stock and the admin's adjustments. An adjustment is one transaction: the SKU's row
// locked, the rule of stock-rules.ts applied, the new level written with a row in the
// adjustment history, and StockChanged (plus StockLow on a fall below the threshold) enqueued.
import { adjusted, crossedIntoLow, unstocked, type Adjustment, type StockLevel } from "./stock-rules.js";
import type { InventoryStore } from "./store.js";

export interface StockLevelsDeps {
  readonly store: InventoryStore;
  readonly clock: () => Date;
  /** Threshold of a SKU until an adjustment sets its own. */
  readonly defaultLowStockThreshold: number;
}

export interface AdjustRequest extends Adjustment {
  readonly sku: string;
  readonly reason: string;
  /** Who asked: the admin's user id. */
  readonly actor: string;
}

export interface StockLevels {
  /** One level per SKU, in the order asked; SKUs never stocked have zero stock. */
  levels(skus: readonly string[]): Promise<StockLevel[]>;
  adjust(req: AdjustRequest): Promise<StockLevel>;
}

export function createStockLevels(deps: StockLevelsDeps): StockLevels {
  const { store, clock, defaultLowStockThreshold } = deps;
  return {
    async levels(skus) {
      const found = await store.stock(skus);
      return skus.map((sku) => found.get(sku) ?? unstocked(sku, defaultLowStockThreshold));
    },

    adjust: (req) =>
      store.transact(async (tx) => {
        const now = clock();
        const before = await tx.lockStock(req.sku, defaultLowStockThreshold, now);
        const after = adjusted(before, req, now);
        await tx.writeStock(after, now);
        await tx.recordAdjustment({ sku: req.sku, delta: req.delta, reason: req.reason, actor: req.actor, onHandAfter: after.onHand, now });
        await tx.stockChanged(after, "adjustment");
        if (crossedIntoLow(before, after)) await tx.stockLow(after);
        return after;
      }),
  };
}
