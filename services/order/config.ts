// The order service's own settings, next to the platform's base ones. Read once, through the
// module's config spec (no process.env anywhere else).
import { duration, int, optional, oneOf, str, type Setting } from "../../platform/config.js";
import { parseTaxRates } from "./pricing.js";
import { CRASH_POINTS } from "./saga-plan.js";

function taxTable(opts: { doc: string; default: string }): Setting<Readonly<Record<string, number>>> {
  return { doc: opts.doc, parse: parseTaxRates, fallback: () => parseTaxRates(opts.default) };
}

const peer = (name: string, port: number, what: string) => str({ doc: `${name} service gRPC address (${what})`, default: `127.0.0.1:${port}` });

export const orderConfig = {
  INVENTORY_ADDR: peer("inventory", 50054, "reserve, commit and release stock"),
  PAYMENT_ADDR: peer("payment", 50057, "authorize, capture, void and refund"),
  PROMOTION_ADDR: peer("promotion", 50055, "evaluate, redeem and release discounts"),
  SHIPPING_ADDR: peer("shipping", 50058, "shipping quotes"),
  CART_ADDR: peer("cart", 50053, "the caller's cart at checkout"),
  CATALOG_ADDR: peer("catalog", 50052, "current prices and weights"),
  PEER_TIMEOUT: duration({ doc: "longest wait for any peer on one call", default: 5000 }),
  ORDER_TAX_RATES: taxTable({ doc: "tax per destination country in basis points, e.g. US:0,DE:1900,GB:2000", default: "US:0,CA:500,GB:2000,DE:1900,FR:2000,NL:2100" }),
  ORDER_TAX_DEFAULT_BPS: int({ doc: "tax in basis points for countries not in ORDER_TAX_RATES", default: 0, min: 0, max: 10_000 }),
  ORDER_RESERVATION_TTL: duration({ doc: "how long inventory holds stock for a checkout that never finishes (at most 1h)", default: 15 * 60_000 }),
  ORDER_PLACE_WAIT: duration({ doc: "longest PlaceOrder waits for the saga when the caller set no deadline; then it answers PENDING", default: 10_000 }),
  ORDER_SAGA_DEADLINE: duration({ doc: "a checkout not past capture by then is compensated instead of retried", default: 5 * 60_000 }),
  ORDER_SAGA_LEASE: duration({ doc: "how long one replica owns a running saga without renewing; after that recovery takes it over", default: 30_000 }),
  ORDER_SAGA_RETRY_INITIAL: duration({ doc: "first wait before retrying a step whose peer was unavailable", default: 200 }),
  ORDER_SAGA_RETRY_MAX: duration({ doc: "longest wait between retries of a step", default: 5_000 }),
  ORDER_RECOVERY_INTERVAL: duration({ doc: "how often unfinished sagas with an expired lease are looked for", default: 5_000 }),
  ORDER_RECOVERY_BATCH: int({ doc: "sagas taken over per recovery pass", default: 20, min: 1, max: 1000 }),
  // Test hook, see README.md: proves that recovery resumes or compensates after a crash.
  ORDER_CRASH_AFTER_STEP: optional(oneOf(CRASH_POINTS, { doc: "TESTS ONLY: exit(137) right after persisting this saga step" })),
};
