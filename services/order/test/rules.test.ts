// The order service's pure rules in memory: totals in minor units, the tax table, the
// lifecycle state machine, checkout fingerprints, saga retry backoff and page tokens.
import assert from "node:assert/strict";
import { Code, ShopError } from "../../../platform/errors.js";
import { cartFingerprint, requestFingerprint, type CheckoutRequest } from "../fingerprint.js";
import { decodePageToken, encodePageToken } from "../../../platform/page-token.js";
import { applyRate, checkSellable, parcelWeightGrams, parseTaxRates, priceOrder, taxRateBps, type SkuPrice } from "../pricing.js";
import { backoffMs, isDefinitive } from "../saga.js";
import { CANCEL_STEPS, CHECKOUT_STEPS, COMPENSATION_STEPS, CRASH_POINTS } from "../saga-plan.js";
import { decide, ORDER_STATUSES, type OrderStatus } from "../transitions.js";

const sku = (code: string, priceMinor: bigint, opts: Partial<SkuPrice> = {}): SkuPrice => ({
  sku: code,
  productId: `p-${code}`,
  productName: `Product ${code}`,
  skuName: "Blue / M",
  imageUrl: "",
  unitPrice: { amountMinor: priceMinor, currency: "USD" },
  weightGrams: 200,
  categoryIds: [],
  ...opts,
});
const catalog = (...s: SkuPrice[]) => new Map(s.map((x) => [x.sku, x]));
const noPromotion = { lineAdjustments: [], shippingDiscountMinor: 0n, applied: [] };

describe("order rules", () => {
  describe("pricing", () => {
    it("adds lines, discounts, shipping and tax in minor units: total = subtotal - discount + shipping + tax", () => {
      const skus = catalog(sku("A", 1999n), sku("B", 500n));
      const priced = priceOrder({
        items: [{ sku: "A", quantity: 2 }, { sku: "B", quantity: 1 }],
        skus,
        currency: "USD",
        promotion: {
          lineAdjustments: [{ sku: "A", amountMinor: 399n }],
          shippingDiscountMinor: 0n,
          applied: [{ promotionId: "p1", name: "Sale", couponCode: "SALE", amountMinor: 399n }],
        },
        shippingMinor: 495n,
        taxBps: 1900,
      });
      const t = priced.totals;
      assert.equal(t.subtotalMinor, 4498n);
      assert.equal(t.discountMinor, 399n);
      assert.equal(t.shippingMinor, 495n);
      // 19% of (4498 - 399 + 495) = 872.86 -> 873
      assert.equal(t.taxMinor, 873n);
      assert.equal(t.totalMinor, 4498n - 399n + 495n + 873n);
      assert.deepEqual(
        priced.lines.map((l) => [l.sku, l.discountMinor, l.lineTotalMinor]),
        [
          ["A", 399n, 3599n],
          ["B", 0n, 500n],
        ],
      );
      assert.equal(priced.discounts.length, 1);
    });

    it("counts a shipping discount once: inside discount, with shipping shown before it", () => {
      const priced = priceOrder({
        items: [{ sku: "A", quantity: 1 }],
        skus: catalog(sku("A", 1000n)),
        currency: "USD",
        promotion: { lineAdjustments: [], shippingDiscountMinor: 900n, applied: [{ promotionId: "f", name: "Free shipping", couponCode: "", amountMinor: 500n }] },
        shippingMinor: 500n,
        taxBps: 0,
      });
      // The shipping discount cannot exceed the shipping price.
      assert.deepEqual(priced.totals, { subtotalMinor: 1000n, discountMinor: 500n, shippingMinor: 500n, taxMinor: 0n, totalMinor: 1000n });
    });

    it("never discounts a line below zero", () => {
      const priced = priceOrder({
        items: [{ sku: "A", quantity: 1 }],
        skus: catalog(sku("A", 300n)),
        currency: "USD",
        promotion: { ...noPromotion, lineAdjustments: [{ sku: "A", amountMinor: 200n }, { sku: "A", amountMinor: 250n }] },
        shippingMinor: 0n,
        taxBps: 2000,
      });
      assert.equal(priced.lines[0]!.discountMinor, 300n);
      assert.equal(priced.lines[0]!.lineTotalMinor, 0n);
      assert.equal(priced.totals.totalMinor, 0n);
    });

    it("rounds tax half up and never taxes nothing", () => {
      assert.equal(applyRate(1n, 5000), 1n); // 0.5 -> 1
      assert.equal(applyRate(1n, 4999), 0n);
      assert.equal(applyRate(1000n, 825), 83n); // 82.5 -> 83
      assert.equal(applyRate(0n, 2000), 0n);
      assert.equal(applyRate(1000n, 0), 0n);
    });

    it("reads the tax table in basis points, with a default for other countries", () => {
      const byCountry = parseTaxRates("US:0, DE:1900,GB:2000");
      assert.equal(taxRateBps({ byCountry, defaultBps: 700 }, "DE"), 1900);
      assert.equal(taxRateBps({ byCountry, defaultBps: 700 }, "US"), 0);
      assert.equal(taxRateBps({ byCountry, defaultBps: 700 }, "JP"), 700);
      assert.throws(() => parseTaxRates("DE=19"), /COUNTRY:BASIS_POINTS/);
      assert.throws(() => parseTaxRates("DE:10001"), /COUNTRY:BASIS_POINTS/);
    });

    it("refuses lines the catalog no longer sells and mixed currencies, naming each line", () => {
      const skus = catalog(sku("A", 100n), sku("E", 100n, { unitPrice: { amountMinor: 100n, currency: "EUR" } }));
      assert.equal(checkSellable([{ sku: "A", quantity: 1 }], skus), "USD");
      assert.throws(
        () => checkSellable([{ sku: "A", quantity: 1 }, { sku: "GONE", quantity: 1 }, { sku: "E", quantity: 1 }], skus),
        (err: ShopError) => {
          assert.equal(err.code, Code.FAILED_PRECONDITION);
          assert.deepEqual(err.violations.map((v) => v.field), ["cart.lines[1].sku", "cart.lines[2].sku"]);
          assert.match(err.message, /GONE is no longer sold/);
          return true;
        },
      );
      assert.throws(() => checkSellable([], skus), (err: ShopError) => err.code === Code.FAILED_PRECONDITION);
    });

    it("weighs the parcel, at least one gram", () => {
      const skus = catalog(sku("A", 1n, { weightGrams: 250 }), sku("Z", 1n, { weightGrams: 0 }));
      assert.equal(parcelWeightGrams([{ sku: "A", quantity: 3 }], skus), 750);
      assert.equal(parcelWeightGrams([{ sku: "Z", quantity: 3 }], skus), 1);
    });
  });

  describe("transitions", () => {
    const ok = (from: OrderStatus, to: OrderStatus, actor: Parameters<typeof decide>[2]) => decide(from, to, actor).kind === "change";

    it("lets only the saga settle a pending order, to confirmed or failed", () => {
      assert.ok(ok("pending", "confirmed", "saga"));
      assert.ok(ok("pending", "failed", "saga"));
      assert.equal(decide("confirmed", "failed", "saga").kind, "refuse");
      for (const actor of ["customer", "admin"] as const) assert.equal(decide("pending", "confirmed", actor).kind, "refuse");
    });

    it("lets the customer cancel before shipping, with a full compensation to follow", () => {
      assert.deepEqual(decide("confirmed", "cancelled", "customer"), { kind: "change", followUp: "cancel" });
      assert.deepEqual(decide("fulfilling", "cancelled", "customer"), { kind: "change", followUp: "cancel" });
      assert.equal(decide("cancelled", "cancelled", "customer").kind, "noop");
      for (const from of ["shipped", "delivered", "pending", "failed", "refunded"] as const) {
        const d = decide(from, "cancelled", "customer");
        assert.equal(d.kind, "refuse", from);
      }
    });

    it("takes returns of delivered orders only", () => {
      assert.ok(ok("delivered", "return_requested", "customer"));
      assert.equal(decide("shipped", "return_requested", "customer").kind, "refuse");
      assert.equal(decide("return_requested", "return_requested", "customer").kind, "noop");
      assert.equal(decide("delivered", "refunded", "customer").kind, "refuse");
    });

    it("lets an admin walk fulfilment and returns, refunding on REFUNDED only", () => {
      assert.ok(ok("confirmed", "fulfilling", "admin"));
      assert.ok(ok("fulfilling", "shipped", "admin"));
      assert.ok(ok("shipped", "delivered", "admin"));
      assert.ok(ok("return_requested", "returned", "admin"));
      assert.deepEqual(decide("returned", "refunded", "admin"), { kind: "change", followUp: "refund" });
      assert.deepEqual(decide("returned", "returned", "admin"), { kind: "noop" });
      assert.equal(decide("delivered", "refunded", "admin").kind, "refuse");
      assert.equal(decide("shipped", "cancelled", "admin").kind, "refuse");
      for (const to of ["pending", "confirmed", "failed", "return_requested"] as const) assert.equal(decide("delivered", to, "admin").kind, "refuse", to);
    });

    it("moves orders forward only on shipping events, ignoring late or inapplicable ones", () => {
      assert.ok(ok("confirmed", "fulfilling", "shipping"));
      assert.ok(ok("confirmed", "shipped", "shipping")); // ShipmentCreated may arrive after ShipmentShipped
      assert.ok(ok("fulfilling", "delivered", "shipping"));
      assert.equal(decide("shipped", "fulfilling", "shipping").kind, "ignore");
      assert.equal(decide("delivered", "delivered", "shipping").kind, "ignore");
      assert.equal(decide("cancelled", "shipped", "shipping").kind, "ignore");
      assert.equal(decide("pending", "shipped", "shipping").kind, "ignore");
    });

    it("has an answer for every pair of statuses and actors", () => {
      for (const from of ORDER_STATUSES) for (const to of ORDER_STATUSES) for (const actor of ["saga", "customer", "admin", "shipping"] as const) assert.ok(decide(from, to, actor).kind);
    });
  });

  describe("fingerprints", () => {
    const address = { recipientName: "Ada", line1: "1 Main St", line2: "", city: "Springfield", region: "", postalCode: "12345", countryCode: "US", phone: "" };
    const req: CheckoutRequest = { shippingAddress: address, billingAddress: undefined, shippingSpeed: 1, paymentMethodToken: "tok", couponCodes: ["A", "b"], expectedTotal: undefined };

    it("treats a request as the same whatever the coupons' order and case, and an unset billing address as the shipping one", () => {
      assert.equal(requestFingerprint(req), requestFingerprint({ ...req, couponCodes: ["B", "a"], billingAddress: address }));
      assert.notEqual(requestFingerprint(req), requestFingerprint({ ...req, shippingSpeed: 2 }));
      assert.notEqual(requestFingerprint(req), requestFingerprint({ ...req, expectedTotal: { amountMinor: 1n, currency: "USD" } }));
      assert.notEqual(requestFingerprint(req), requestFingerprint({ ...req, shippingAddress: { ...address, line1: "2 Main St" } }));
    });

    it("compares carts by SKU and quantity, whatever the line order", () => {
      const a = cartFingerprint([{ sku: "A", quantity: 1 }, { sku: "B", quantity: 2 }]);
      assert.equal(a, cartFingerprint([{ sku: "B", quantity: 2 }, { sku: "A", quantity: 1 }]));
      assert.notEqual(a, cartFingerprint([{ sku: "A", quantity: 1 }, { sku: "B", quantity: 3 }]));
      assert.notEqual(a, cartFingerprint([{ sku: "A", quantity: 1 }]));
    });
  });

  describe("saga", () => {
    it("backs off exponentially with jitter, capped", () => {
      const retry = { initialMs: 100, maxMs: 1000 };
      for (let i = 0; i < 50; i++) {
        const first = backoffMs(1, retry);
        assert.ok(first >= 50 && first <= 100, String(first));
        const late = backoffMs(30, retry);
        assert.ok(late >= 500 && late <= 1000, String(late));
      }
    });

    it("retries what a peer may still do and stops at what it refused", () => {
      assert.ok(isDefinitive(new ShopError(Code.FAILED_PRECONDITION, "no stock")));
      assert.ok(isDefinitive(new ShopError(Code.PERMISSION_DENIED, "not yours")));
      for (const c of [Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.ABORTED, Code.RESOURCE_EXHAUSTED]) assert.ok(!isDefinitive(new ShopError(c, "later")));
      assert.ok(!isDefinitive(new Error("socket hang up")));
    });

    it("names every crash point after a step, and the moment between a peer's answer and its record", () => {
      for (const s of [...CHECKOUT_STEPS, ...COMPENSATION_STEPS, ...CANCEL_STEPS]) {
        assert.ok((CRASH_POINTS as readonly string[]).includes(s));
        assert.ok((CRASH_POINTS as readonly string[]).includes(`${s}:called`));
      }
    });
  });

  describe("page tokens", () => {
    it("round-trips the last order's key and refuses foreign tokens", () => {
      const key = { time: new Date("2026-01-02T03:04:05.678Z"), id: "0b6c1a3e-6f3b-4d7e-9a51-1c2d3e4f5a6b" };
      assert.deepEqual(decodePageToken(encodePageToken(key)), key);
      assert.equal(decodePageToken(""), undefined);
      assert.throws(() => decodePageToken("bm9wZQ"), (err: ShopError) => err.code === Code.INVALID_ARGUMENT && err.violations[0]?.field === "page_token");
    });
  });
});
