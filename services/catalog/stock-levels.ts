// The in-stock projection: inventory's StockChanged events keep each SKU's available units,
// which the in_stock flags and the in_stock_only filter read. Advisory only: inventory is the
// authority at checkout. The events carry absolute levels, and a level older than the one
// stored is ignored, so missed, repeated or reordered events still converge.
import { StockChangedSchema } from "../../gen/shop/inventory/v1/events_pb.js";
import type { Db } from "../../platform/db/db.js";
import type { EventBus, Subscription } from "../../platform/events/index.js";
import type { CatalogStore } from "./store.js";

export async function subscribeStockLevels(opts: { bus: EventBus; db: Db; store: CatalogStore; queue: string }): Promise<Subscription> {
  return opts.bus.subscribe({
    queue: opts.queue,
    events: [StockChangedSchema],
    db: opts.db,
    handler: async (event, q) => {
      await opts.store.applyStock(q, event.message.sku, event.message.available, event.timestamp);
    },
  });
}
