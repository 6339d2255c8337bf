// The catalog service's own settings, next to the platform's base ones.
import { bool, str } from "../../platform/config.js";

export const catalogConfig = {
  STOCK_EVENTS_QUEUE: str({ doc: "durable queue of inventory's StockChanged events, which keep the in-stock flags", default: "catalog.stock-levels" }),
  SEED_DEMO_CATALOG: bool({ doc: "load the demo catalog at start-up when the catalog has no products (development clusters)", default: false }),
};
