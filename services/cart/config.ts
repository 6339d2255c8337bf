// The cart service's own settings, next to the platform's base ones.
import { duration, int, parseDuration, str, type Setting } from "../../platform/config.js";

const DAY_MS = 24 * 3_600_000;

/** Like the platform's duration, plus days (`30d`): carts live for weeks. */
function longDuration(opts: { doc: string; default: number }): Setting<number> {
  return {
    doc: opts.doc,
    fallback: () => opts.default,
    parse(raw) {
      const days = /^(\d+(?:\.\d+)?)d$/.exec(raw.trim());
      const ms = days ? Math.round(Number(days[1]) * DAY_MS) : parseDuration(raw);
      if (ms <= 0) throw new Error("expected a positive duration");
      return ms;
    },
  };
}

export const cartConfig = {
  CATALOG_ADDR: str({ doc: "catalog service gRPC address (prices and sellability of SKUs)", default: "127.0.0.1:50052" }),
  INVENTORY_ADDR: str({ doc: "inventory service gRPC address (availability shown per line)", default: "127.0.0.1:50054" }),
  CATALOG_TIMEOUT: duration({ doc: "longest wait for the catalog on one call", default: 2000 }),
  // Availability is advisory: a slow inventory should cost a cart view little.
  INVENTORY_TIMEOUT: duration({ doc: "longest wait for the inventory on one call; past it the cart shows availability unknown", default: 1000 }),
  CART_GUEST_TTL: longDuration({ doc: "a guest cart untouched this long expires, e.g. 30d", default: 30 * DAY_MS }),
  CART_USER_TTL: longDuration({ doc: "a signed-in user's cart untouched this long expires, e.g. 90d", default: 90 * DAY_MS }),
  // 200 is the most SKUs catalog's BatchGetSkus and inventory's BatchGetStock take in one call.
  CART_MAX_LINES: int({ doc: "distinct SKUs a cart may hold (at most 200)", default: 50, min: 1, max: 200 }),
  // 1000 is the most units inventory reserves per line.
  CART_MAX_LINE_QUANTITY: int({ doc: "units of one SKU a cart line may hold (at most 1000)", default: 99, min: 1, max: 1000 }),
  CART_CLEANUP_INTERVAL: duration({ doc: "how often expired carts are deleted", default: 10 * 60_000 }),
  CART_CLEANUP_BATCH: int({ doc: "expired carts deleted per transaction by the cleanup", default: 500, min: 1, max: 100_000 }),
};
