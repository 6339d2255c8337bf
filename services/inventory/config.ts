// The inventory service's own settings, next to the platform's base ones. Prefixed, because in
// the single-process mode every service reads the same environment.
import { duration, int, type Setting } from "../../platform/config.js";

/** A duration that must be above zero: a zero ttl or interval is a typo, not a setting. */
function positiveDuration(opts: { doc: string; default: number }): Setting<number> {
  const inner = duration(opts);
  return {
    ...inner,
    parse(raw) {
      const ms = inner.parse(raw);
      if (ms <= 0) throw new Error("expected a positive duration");
      return ms;
    },
  };
}

export const inventoryConfig = {
  // The contract promises 15 minutes when ReserveStock asks for no ttl; it caps a requested one at 1h.
  INVENTORY_RESERVATION_TTL: positiveDuration({ doc: "how long a reservation holds stock when ReserveStock asks for no ttl", default: 15 * 60_000 }),
  INVENTORY_EXPIRY_INTERVAL: positiveDuration({ doc: "how often reservations past their ttl are released", default: 30_000 }),
  INVENTORY_EXPIRY_BATCH: int({ doc: "expired reservations released per transaction by the expiry job", default: 200, min: 1, max: 10_000 }),
  INVENTORY_OUTBOX_RETENTION: positiveDuration({ doc: "how long published events stay in the outbox before they are pruned", default: 24 * 3_600_000 }),
  INVENTORY_RESERVE_BATCH: int({ doc: "concurrent reservations of one set of SKUs committed together in one transaction at most", default: 100, min: 1, max: 1000 }),
  INVENTORY_LOW_STOCK_THRESHOLD: int({ doc: "StockLow threshold of a SKU until an AdjustStock sets its own", default: 5, min: 0 }),
};
