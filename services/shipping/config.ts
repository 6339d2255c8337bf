// The shipping service's own settings, next to the platform's base ones.
import { duration, int, parseDuration, str, type Setting } from "../../platform/config.js";

/** A duration that must be more than zero (a timer interval of 0 would spin). */
function positiveDuration(opts: { doc: string; default: number }): Setting<number> {
  return {
    doc: opts.doc,
    fallback: () => opts.default,
    parse(raw) {
      const ms = parseDuration(raw);
      if (ms <= 0) throw new Error("expected a positive duration");
      return ms;
    },
  };
}

export const shippingConfig = {
  CATALOG_ADDR: str({ doc: "catalog service gRPC address (SKU weights of new shipments)", default: "127.0.0.1:50052" }),
  CATALOG_TIMEOUT: duration({ doc: "longest wait for the catalog; past it a shipment is created with weight 0 (unknown)", default: 2000 }),
  SHIPPING_RATES_CACHE: duration({ doc: "how long a replica keeps the rate table before reading it again (0: every quote reads it)", default: 60_000 }),
  SHIPPING_DEFAULT_CARRIER: str({ doc: "carrier of shipments whose destination and speed the rate table does not offer", default: "sandbox" }),
  SHIPPING_TRACKING_INTERVAL: positiveDuration({ doc: "how often each replica labels new shipments and polls carriers for due ones", default: 5000 }),
  SHIPPING_TRACKING_BATCH: int({ doc: "shipments one tracking round handles at most", default: 100, min: 1, max: 10_000 }),
  SHIPPING_CARRIER_POLL: positiveDuration({ doc: "how long to wait before polling a carrier that did not say when it will have news", default: 15 * 60_000 }),
  SHIPPING_CARRIER_RETRY: positiveDuration({ doc: "how long to wait before retrying a shipment whose carrier failed", default: 60_000 }),
  SHIPPING_SANDBOX_STEP: positiveDuration({ doc: "sandbox carrier: time between a parcel's scans (label, pickup, in transit, out for delivery, delivered)", default: 30_000 }),
};
