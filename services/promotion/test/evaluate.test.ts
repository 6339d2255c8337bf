// The pricing rules in memory: rounding, allocation that sums exactly, eligibility, minimum
// spend, windows, limits, stacking, free shipping, and determinism.
import assert from "node:assert/strict";
import { Code, type ShopError } from "../../../platform/errors.js";
import { allocateProportionally, percentOf } from "../allocation.js";
import { cartOf } from "../cart.js";
import { adjustments, cart, line, NOW, promo, run, usd } from "./fixtures.js";

const HOUR = 3_600_000;

describe("promotion pricing", () => {
  describe("percentOf", () => {
    it("rounds each percentage down to the minor unit", () => {
      assert.equal(percentOf(999n, 1500), 149n); // 149.85
      assert.equal(percentOf(1n, 5000), 0n);
      assert.equal(percentOf(12_345n, 10_000), 12_345n);
      assert.equal(percentOf(0n, 2500), 0n);
      // Far beyond 2^53: exact in bigint.
      assert.equal(percentOf(9_007_199_254_740_993n, 5000), 4_503_599_627_370_496n);
    });

    it("refuses what a percentage cannot be", () => {
      assert.throws(() => percentOf(100n, 10_001), RangeError);
      assert.throws(() => percentOf(100n, 12.5), RangeError);
      assert.throws(() => percentOf(-1n, 100), RangeError);
    });
  });

  describe("allocateProportionally", () => {
    it("splits in proportion when the shares are exact", () => {
      assert.deepEqual(allocateProportionally(1000n, [5000n, 3000n, 2000n]), [500n, 300n, 200n]);
    });

    it("gives the units lost to rounding to the largest lines, ties to the earlier line", () => {
      assert.deepEqual(allocateProportionally(100n, [300n, 300n, 300n]), [34n, 33n, 33n]);
      assert.deepEqual(allocateProportionally(10n, [7n, 3n, 3n]), [6n, 2n, 2n]);
      assert.deepEqual(allocateProportionally(3n, [1n, 10n, 1n]), [0n, 3n, 0n]);
      assert.deepEqual(allocateProportionally(2n, [3n, 5n, 5n]), [0n, 1n, 1n]);
    });

    it("never takes more than the lines are worth, and leaves zero-value lines alone", () => {
      assert.deepEqual(allocateProportionally(5000n, [1200n, 0n, 800n]), [1200n, 0n, 800n]);
      assert.deepEqual(allocateProportionally(7n, [0n, 0n]), [0n, 0n]);
      assert.deepEqual(allocateProportionally(0n, [10n, 20n]), [0n, 0n]);
      assert.deepEqual(allocateProportionally(1n, [0n, 5n, 0n]), [0n, 1n, 0n]);
    });

    it("always sums to exactly the amount (capped at the total) over many random carts", () => {
      let seed = 20260615;
      const next = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let round = 0; round < 2000; round++) {
        const weights = Array.from({ length: 1 + next(12) }, () => BigInt(next(4) === 0 ? 0 : next(100_000)));
        const amount = BigInt(next(250_000));
        const total = weights.reduce((s, w) => s + w, 0n);
        const shares = allocateProportionally(amount, weights);
        assert.equal(shares.length, weights.length);
        assert.equal(shares.reduce((s, x) => s + x, 0n), amount < total ? amount : total, `round ${round}: ${amount} over ${weights.join(",")}`);
        shares.forEach((s, i) => assert.ok(s >= 0n && s <= weights[i]!, `round ${round}: share ${s} of line worth ${weights[i]}`));
      }
    });
  });

  describe("cartOf", () => {
    const field = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        assert.equal((err as ShopError).code, Code.INVALID_ARGUMENT);
        return (err as ShopError).violations[0]?.field;
      }
      assert.fail("expected INVALID_ARGUMENT");
    };
    const input = (sku: string, amountMinor: bigint, currency = "USD") => ({ sku, productId: "", categoryIds: [], quantity: 1, unitPrice: { amountMinor, currency } });

    it("takes one currency from the lines and checks the rest against it, naming the field", () => {
      assert.equal(cartOf([input("A", 100n), input("B", 200n)], usd(500n)).currency, "USD");
      assert.equal(field(() => cartOf([input("A", 100n), input("B", 200n, "EUR")], undefined)), "lines[1].unit_price.currency_code");
      assert.equal(field(() => cartOf([input("A", 100n)], { amountMinor: 500n, currency: "EUR" })), "shipping.currency_code");
      assert.equal(field(() => cartOf([input("A", 100n), input("A", 100n)], undefined)), "lines[1].sku");
      assert.equal(field(() => cartOf([input("A", 2n ** 62n), input("B", 2n ** 62n)], undefined)), "lines");
    });
  });

  describe("kinds", () => {
    it("takes a percentage off every eligible line, rounded down per line", () => {
      const p = promo({ percentBps: 1500 });
      const e = run({ cart: cart([line("A", 999n), line("B", 333n, 3)]), automatic: [p] });
      assert.deepEqual(adjustments(e), [["A", p.id, 149n], ["B", p.id, 149n]]);
      assert.deepEqual([e.subtotal, e.discountTotal, e.shippingDiscount], [1998n, 298n, 0n]);
      assert.deepEqual(e.applied.map((a) => [a.promotion.id, a.amount]), [[p.id, 298n]]);
    });

    it("spreads a fixed amount over the lines in proportion, summing exactly", () => {
      const p = promo({ kind: "fixed_amount", percentBps: 0, amountOff: usd(1000n) });
      const e = run({ cart: cart([line("A", 1999n), line("B", 2999n), line("C", 5n)]), automatic: [p] });
      const amounts = e.lineAdjustments.map((a) => a.amount);
      assert.equal(amounts.reduce((s, a) => s + a, 0n), 1000n);
      // 1000 * 1999/5003 = 399.56, 1000 * 2999/5003 = 599.44, 1000 * 5/5003 = 0.99: rounded down
      // 998, and the two units left go to the largest lines, B then A; C gets nothing.
      assert.deepEqual(adjustments(e), [["A", p.id, 400n], ["B", p.id, 600n]]);
      assert.equal(e.discountTotal, 1000n);
    });

    it("never takes a line below zero: a fixed amount larger than the cart takes the cart", () => {
      const p = promo({ kind: "fixed_amount", percentBps: 0, amountOff: usd(10_000n) });
      const e = run({ cart: cart([line("A", 1200n), line("B", 800n)], 500n), automatic: [p] });
      assert.deepEqual(adjustments(e), [["A", p.id, 1200n], ["B", p.id, 800n]]);
      assert.equal(e.discountTotal, 2000n, "shipping is not discounted by a fixed amount");
    });

    it("makes shipping free, worth the shipping price when it is known", () => {
      const p = promo({ kind: "free_shipping", percentBps: 0 });
      const known = run({ cart: cart([line("A", 1000n)], 599n), automatic: [p] });
      assert.deepEqual([known.shippingDiscount, known.discountTotal, known.lineAdjustments.length], [599n, 599n, 0]);
      assert.deepEqual(known.applied.map((a) => a.amount), [599n]);
      // The cart view does not know shipping yet: the promotion still shows, worth 0 for now.
      const unknown = run({ cart: cart([line("A", 1000n)]), automatic: [p] });
      assert.deepEqual(unknown.applied.map((a) => [a.promotion.id, a.amount]), [[p.id, 0n]]);
      assert.equal(unknown.discountTotal, 0n);
    });
  });

  describe("eligibility", () => {
    it("discounts only the listed SKUs or lines in the listed categories", () => {
      const shoes = "0b1a6c2e-0000-4000-8000-000000000001";
      const p = promo({ percentBps: 5000, appliesTo: { skus: ["A"], categoryIds: [shoes] } });
      const e = run({ cart: cart([line("A", 100n), line("B", 200n, 1, [shoes]), line("C", 400n)]), automatic: [p] });
      assert.deepEqual(adjustments(e), [["A", p.id, 50n], ["B", p.id, 100n]]);
    });

    it("rejects a coupon with no eligible line in the cart", () => {
      const p = promo({ couponCode: "SHOES", appliesTo: { skus: ["SHOE-1"], categoryIds: [] } });
      const e = run({ cart: cart([line("A", 100n)]), coupons: [p] });
      assert.deepEqual(e.rejected.map((r) => r.reason), ["no_eligible_items"]);
      assert.equal(e.applied.length, 0);
    });

    it("rejects a coupon that would take nothing off (rounding leaves zero)", () => {
      const p = promo({ couponCode: "TINY", percentBps: 100 });
      const e = run({ cart: cart([line("A", 50n)]), coupons: [p] });
      assert.deepEqual(e.rejected.map((r) => [r.reason, r.message]), [["no_eligible_items", "TINY takes nothing off this cart"]]);
    });
  });

  describe("minimum spend", () => {
    const p = promo({ couponCode: "SPEND50", minSpend: usd(5000n) });

    it("applies once the eligible subtotal before discounts reaches it (inclusive)", () => {
      const e = run({ cart: cart([line("A", 2500n, 2)]), coupons: [p] });
      assert.deepEqual(e.applied.map((a) => a.amount), [500n]);
    });

    it("says how much more to spend when it is not met", () => {
      const e = run({ cart: cart([line("A", 4999n)]), coupons: [p] });
      assert.deepEqual(e.rejected, [{ couponCode: "SPEND50", reason: "min_spend_not_met", message: "Spend USD 0.01 more to use SPEND50" }]);
    });

    it("counts only the eligible lines towards it", () => {
      const q = promo({ couponCode: "A50", minSpend: usd(5000n), appliesTo: { skus: ["A"], categoryIds: [] } });
      const e = run({ cart: cart([line("A", 1000n), line("B", 9000n)]), coupons: [q] });
      assert.equal(e.rejected[0]?.reason, "min_spend_not_met");
      assert.match(e.rejected[0].message, /USD 40\.00 more/);
    });

    it("rejects amounts in another currency than the cart's", () => {
      const q = promo({ couponCode: "EURO5", kind: "fixed_amount", percentBps: 0, amountOff: { amountMinor: 500n, currency: "EUR" } });
      const e = run({ cart: cart([line("A", 1000n)]), coupons: [q] });
      assert.deepEqual(e.rejected.map((r) => [r.reason, r.message]), [["currency_mismatch", "EURO5 applies to EUR carts only"]]);
    });
  });

  describe("windows and state", () => {
    const window = { startsAt: new Date(NOW.getTime() - HOUR), endsAt: new Date(NOW.getTime() + HOUR) };

    it("applies from the start time (inclusive) until the end time (exclusive)", () => {
      const p = promo({ couponCode: "WINDOW", ...window });
      const at = (now: Date) => run({ cart: cart([line("A", 1000n)]), coupons: [p], now });
      assert.equal(at(window.startsAt).applied.length, 1);
      assert.equal(at(new Date(window.endsAt.getTime() - 1)).applied.length, 1);
      assert.equal(at(new Date(window.startsAt.getTime() - 1)).rejected[0]?.reason, "not_started");
      assert.match(at(new Date(window.startsAt.getTime() - 1)).rejected[0]!.message, /can be used from 2026-06-15T11:00:00.000Z/);
      assert.equal(at(window.endsAt).rejected[0]?.reason, "expired");
    });

    it("never applies a disabled promotion, automatic or coupon", () => {
      const auto = promo({ disabled: true });
      const coupon = promo({ couponCode: "PAUSED", disabled: true });
      const e = run({ cart: cart([line("A", 1000n)]), automatic: [auto], coupons: [coupon] });
      assert.equal(e.applied.length, 0);
      assert.deepEqual(e.rejected.map((r) => r.reason), ["disabled"]);
    });

    it("answers not found for a code no promotion has, in the order the codes were entered", () => {
      const p = promo({ couponCode: "REAL" });
      const e = run({ cart: cart([line("A", 1000n)]), coupons: [p], codes: ["NOPE", "REAL", "ALSO-NOPE"] });
      assert.deepEqual(e.rejected.map((r) => [r.couponCode, r.reason]), [["NOPE", "not_found"], ["ALSO-NOPE", "not_found"]]);
      assert.equal(e.applied[0]?.promotion.id, p.id);
    });
  });

  describe("usage limits", () => {
    it("rejects a coupon whose total limit is used up", () => {
      const p = promo({ couponCode: "TEN", totalLimit: 10, redemptionCount: 10 });
      assert.equal(run({ cart: cart([line("A", 1000n)]), coupons: [p] }).rejected[0]?.reason, "usage_limit_reached");
      const left = promo({ couponCode: "TEN2", totalLimit: 10, redemptionCount: 9 });
      assert.equal(run({ cart: cart([line("A", 1000n)]), coupons: [left] }).applied.length, 1);
    });

    it("rejects a coupon the customer has used as often as it allows", () => {
      const p = promo({ couponCode: "ONCE", perCustomerLimit: 1 });
      const used = run({ cart: cart([line("A", 1000n)]), coupons: [p], uses: new Map([[p.id, 1]]) });
      assert.deepEqual(used.rejected.map((r) => r.reason), ["usage_limit_reached"]);
      assert.equal(run({ cart: cart([line("A", 1000n)]), coupons: [p], uses: new Map([[p.id, 0]]) }).applied.length, 1);
    });

    it("asks guests to sign in for a coupon with a per-customer limit, and skips such automatic ones", () => {
      const coupon = promo({ couponCode: "MEMBERS", perCustomerLimit: 2 });
      const auto = promo({ perCustomerLimit: 1 });
      const e = run({ cart: cart([line("A", 1000n)]), coupons: [coupon], automatic: [auto], signedIn: false });
      assert.deepEqual(e.rejected.map((r) => [r.reason, r.message]), [["sign_in_required", "Sign in to use MEMBERS"]]);
      assert.equal(e.applied.length, 0);
    });
  });

  describe("stacking", () => {
    const items = () => cart([line("A", 6000n), line("B", 4000n)]);

    it("combines stackable promotions: percentages first, then fixed amounts on what is left", () => {
      const fixed = promo({ couponCode: "FIVE", kind: "fixed_amount", percentBps: 0, amountOff: usd(500n), stackable: true });
      const pct = promo({ percentBps: 1000, stackable: true });
      const e = run({ cart: items(), automatic: [pct], coupons: [fixed] });
      assert.deepEqual(e.applied.map((a) => [a.promotion.id, a.amount]), [[pct.id, 1000n], [fixed.id, 500n]]);
      // 10% of 6000 and 4000, then 500 over the remaining 5400 and 3600 in proportion.
      assert.deepEqual(adjustments(e), [["A", pct.id, 600n], ["A", fixed.id, 300n], ["B", pct.id, 400n], ["B", fixed.id, 200n]]);
      assert.equal(e.discountTotal, 1500n);
    });

    it("applies only the best non-stackable promotion and says why a coupon lost", () => {
      const auto = promo({ name: "Summer sale", percentBps: 1000 });
      const coupon = promo({ couponCode: "TWENTY", percentBps: 2000 });
      const better = run({ cart: items(), automatic: [auto], coupons: [coupon] });
      assert.deepEqual(better.applied.map((a) => a.promotion.id), [coupon.id]);
      assert.equal(better.rejected.length, 0, "an automatic promotion that loses is not reported");

      const weak = promo({ couponCode: "FIVEPCT", percentBps: 500 });
      const worse = run({ cart: items(), automatic: [auto], coupons: [weak] });
      assert.deepEqual(worse.applied.map((a) => a.promotion.id), [auto.id]);
      assert.deepEqual(worse.rejected, [{ couponCode: "FIVEPCT", reason: "not_stackable", message: "FIVEPCT does not combine with Summer sale" }]);
    });

    it("a non-stackable promotion combines with nothing: it wins only if it beats the stackables together", () => {
      const a = promo({ name: "Ten off", percentBps: 1000, stackable: true });
      const b = promo({ name: "Free ship", kind: "free_shipping", percentBps: 0, stackable: true });
      const exclusive = promo({ couponCode: "BIG15", percentBps: 1500 });
      // Stackables: 1000 + 700 shipping = 1700 beat 1500.
      const e = run({ cart: cart([line("A", 10_000n)], 700n), automatic: [a, b], coupons: [exclusive] });
      assert.deepEqual(e.applied.map((x) => x.promotion.id), [a.id, b.id]);
      assert.deepEqual(e.rejected.map((r) => [r.reason, r.message]), [["not_stackable", "BIG15 does not combine with Ten off, Free ship"]]);
      // With cheaper shipping the exclusive coupon is worth more, and it applies alone.
      const alone = run({ cart: cart([line("A", 10_000n)], 300n), automatic: [a, b], coupons: [exclusive] });
      assert.deepEqual(alone.applied.map((x) => x.promotion.id), [exclusive.id]);
      assert.deepEqual([alone.discountTotal, alone.shippingDiscount], [1500n, 0n]);
    });

    it("breaks ties towards the stackables, then the older promotion", () => {
      const stack = promo({ percentBps: 1000, stackable: true });
      const older = promo({ percentBps: 1000 });
      const newer = promo({ percentBps: 1000 });
      assert.deepEqual(run({ cart: items(), automatic: [newer, older, stack] }).applied.map((a) => a.promotion.id), [stack.id]);
      assert.deepEqual(run({ cart: items(), automatic: [newer, older] }).applied.map((a) => a.promotion.id), [older.id]);
    });

    it("frees shipping once: a second free-shipping coupon is refused", () => {
      const first = promo({ couponCode: "SHIP1", kind: "free_shipping", percentBps: 0, stackable: true });
      const second = promo({ couponCode: "SHIP2", kind: "free_shipping", percentBps: 0, stackable: true });
      const e = run({ cart: cart([line("A", 1000n)], 450n), coupons: [first, second] });
      assert.deepEqual(e.applied.map((a) => [a.promotion.id, a.amount]), [[first.id, 450n]]);
      assert.deepEqual(e.rejected.map((r) => [r.couponCode, r.reason]), [["SHIP2", "not_stackable"]]);
      assert.equal(e.shippingDiscount, 450n);
    });

    it("stacked discounts never take a line below zero", () => {
      const all = promo({ percentBps: 10_000, stackable: true });
      const more = promo({ couponCode: "MORE", kind: "fixed_amount", percentBps: 0, amountOff: usd(100n), stackable: true });
      const e = run({ cart: cart([line("A", 1000n)]), automatic: [all], coupons: [more] });
      assert.deepEqual(adjustments(e), [["A", all.id, 1000n]]);
      assert.equal(e.discountTotal, 1000n);
      assert.deepEqual(e.rejected.map((r) => r.reason), ["not_stackable"]);
    });
  });

  it("is deterministic: the same cart and promotions in any order give the same result", () => {
    const ps = [
      promo({ percentBps: 700, stackable: true }),
      promo({ kind: "fixed_amount", percentBps: 0, amountOff: usd(333n), stackable: true }),
      promo({ percentBps: 1100, stackable: true, appliesTo: { skus: ["B"], categoryIds: [] } }),
      promo({ kind: "free_shipping", percentBps: 0, stackable: true }),
      promo({ percentBps: 900 }),
    ];
    const c = cart([line("A", 1234n, 3), line("B", 999n), line("C", 1n, 7)], 499n);
    const first = run({ cart: c, automatic: ps });
    const again = run({ cart: c, automatic: [...ps].reverse() });
    assert.deepEqual(again, first);
    const sum = first.lineAdjustments.reduce((s, a) => s + a.amount, 0n) + first.shippingDiscount;
    assert.equal(first.discountTotal, sum);
    assert.equal(first.applied.reduce((s, a) => s + a.amount, 0n), sum);
  });
});
