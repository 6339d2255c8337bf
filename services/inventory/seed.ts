// Demo stock for the single-process shop: every SKU that has no stock row yet gets `units` on
// hand through the ordinary admin adjustment (history row and StockChanged included), so the
// demo catalog can be bought from on first run. SKUs already stocked are left as they are.
import type { Db } from "../../platform/db/db.js";
import { createStockLevels } from "./stock-levels.js";
import { createInventoryStore } from "./store.js";

export const DEMO_STOCK_ACTOR = "demo-seed";

export async function seedDemoStock(db: Db, skus: readonly string[], units: number, now = () => new Date()): Promise<number> {
  const { rows } = await db.query<{ sku: string }>("SELECT sku FROM stock WHERE sku = ANY($1::text[])", [skus]);
  const stocked = new Set(rows.map((r) => r.sku));
  const levels = createStockLevels({ store: createInventoryStore(db), clock: now, defaultLowStockThreshold: 5 });
  let added = 0;
  for (const sku of skus) {
    if (stocked.has(sku)) continue;
    await levels.adjust({ sku, delta: units, lowStockThreshold: undefined, reason: "demo stock", actor: DEMO_STOCK_ACTOR });
    added++;
  }
  return added;
}
