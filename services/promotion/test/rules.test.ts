// The admin's and the redemption's rules in memory: coupon codes, complete promotions, what a
// redemption is checked against, replay comparison, page tokens.
import assert from "node:assert/strict";
import { Code, type ShopError } from "../../../platform/errors.js";
import { decodePageToken, encodePageToken } from "../page-token.js";
import { checkDraft, draftViolations, normalizeCouponCode, unavailableAt, type PromotionDraft } from "../promotion.js";
import { checkRedeemable, normalizeRedemptions, sameRedemptions, type Redemption } from "../redemption-rules.js";
import { NOW, promo, usd } from "./fixtures.js";

const draft = (overrides: Partial<PromotionDraft> = {}): PromotionDraft => {
  const { id: _i, redemptionCount: _r, createdAt: _c, updatedAt: _u, ...d } = promo();
  return { ...d, ...overrides };
};

const fields = (d: PromotionDraft) => draftViolations(d).map((v) => v.field);

describe("promotion rules", () => {
  it("normalizes coupon codes: trimmed, upper-case", () => {
    assert.equal(normalizeCouponCode("  summer-10 "), "SUMMER-10");
    assert.equal(normalizeCouponCode("Summer_10"), "SUMMER_10");
  });

  describe("a complete promotion", () => {
    it("accepts each kind with its own amount", () => {
      checkDraft(draft({ kind: "percentage", percentBps: 2500 }));
      checkDraft(draft({ kind: "fixed_amount", percentBps: 0, amountOff: usd(500n), minSpend: usd(2000n) }));
      checkDraft(draft({ kind: "free_shipping", percentBps: 0, couponCode: "SHIPFREE" }));
    });

    it("names each field that is wrong, all at once", () => {
      assert.deepEqual(fields(draft({ kind: "percentage", percentBps: 0, amountOff: usd(100n), name: "  " })), [
        "promotion.name",
        "promotion.percent_bps",
        "promotion.amount_off",
      ]);
      assert.deepEqual(fields(draft({ kind: "fixed_amount", percentBps: 500, amountOff: undefined })), ["promotion.percent_bps", "promotion.amount_off"]);
      assert.deepEqual(fields(draft({ kind: "fixed_amount", percentBps: 0, amountOff: usd(100n), minSpend: { amountMinor: 10n, currency: "EUR" } })), [
        "promotion.min_spend.currency_code",
      ]);
      assert.deepEqual(fields(draft({ couponCode: "A B" })), ["promotion.coupon_code"]);
      assert.deepEqual(fields(draft({ startsAt: NOW, endsAt: NOW })), ["promotion.end_time"]);
    });

    it("throws INVALID_ARGUMENT with the violations", () => {
      assert.throws(
        () => checkDraft(draft({ kind: "free_shipping", percentBps: 1000 })),
        (err: ShopError) => err.code === Code.INVALID_ARGUMENT && err.violations[0]?.field === "promotion.percent_bps",
      );
    });

    it("is usable only while enabled and inside its window", () => {
      const w = draft({ startsAt: new Date(NOW.getTime() - 1), endsAt: new Date(NOW.getTime() + 1) });
      assert.equal(unavailableAt(w, NOW), undefined);
      assert.equal(unavailableAt({ ...w, disabled: true }, NOW), "disabled");
      assert.equal(unavailableAt(w, new Date(NOW.getTime() - 2)), "not_started");
      assert.equal(unavailableAt(w, new Date(NOW.getTime() + 1)), "expired");
    });
  });

  describe("redemptions", () => {
    const r = (promotionId: string, couponCode = "", amountMinor = 100n): Redemption => ({ promotionId, couponCode, amount: usd(amountMinor) });
    const fails = (fn: () => unknown, code: Code, field: string) =>
      assert.throws(fn, (err: ShopError) => {
        assert.equal(err.code, code);
        assert.equal(err.violations[0]?.field, field);
        return true;
      });

    it("normalizes codes and refuses a promotion twice or a negative amount", () => {
      const id = "3f1f7a52-4f3c-4b59-9a8e-2a1a3f000001";
      assert.deepEqual(normalizeRedemptions([{ promotionId: id, couponCode: " save10", amount: usd(5n) }]), [r(id, "SAVE10", 5n)]);
      fails(() => normalizeRedemptions([r(id), r(id)]), Code.INVALID_ARGUMENT, "redemptions[1].promotion_id");
      fails(() => normalizeRedemptions([r(id, "", -1n)]), Code.INVALID_ARGUMENT, "redemptions[0].amount.amount_minor");
    });

    it("re-checks existence, code, state and both limits, naming the redemption", () => {
      const p = promo({ couponCode: "SAVE10", totalLimit: 2, perCustomerLimit: 1 });
      assert.equal(checkRedeemable(r(p.id, "SAVE10"), 0, p, 0, NOW), p);
      fails(() => checkRedeemable(r(p.id, "SAVE10"), 1, undefined, 0, NOW), Code.NOT_FOUND, "redemptions[1].promotion_id");
      fails(() => checkRedeemable(r(p.id, "OTHER"), 0, p, 0, NOW), Code.FAILED_PRECONDITION, "redemptions[0].coupon_code");
      fails(() => checkRedeemable(r(p.id, "SAVE10"), 0, { ...p, disabled: true }, 0, NOW), Code.FAILED_PRECONDITION, "redemptions[0].promotion_id");
      fails(() => checkRedeemable(r(p.id, "SAVE10"), 0, { ...p, endsAt: NOW }, 0, NOW), Code.FAILED_PRECONDITION, "redemptions[0].promotion_id");
      fails(() => checkRedeemable(r(p.id, "SAVE10"), 0, { ...p, redemptionCount: 2 }, 0, NOW), Code.FAILED_PRECONDITION, "redemptions[0].promotion_id");
      fails(() => checkRedeemable(r(p.id, "SAVE10"), 0, p, 1, NOW), Code.FAILED_PRECONDITION, "redemptions[0].promotion_id");
      // An automatic promotion is redeemed without a code.
      const auto = promo();
      assert.equal(checkRedeemable(r(auto.id), 0, auto, 0, NOW), auto);
    });

    it("treats a repeat as the same request only if it asks for exactly the same redemptions", () => {
      const a = r("a", "X", 100n);
      const b = r("b", "", 50n);
      assert.ok(sameRedemptions([a, b], [b, a]));
      assert.ok(!sameRedemptions([a, b], [a]));
      assert.ok(!sameRedemptions([a], [{ ...a, amount: usd(101n) }]));
      assert.ok(!sameRedemptions([a], [{ ...a, amount: { amountMinor: 100n, currency: "EUR" } }]));
    });
  });

  it("round-trips page tokens and refuses foreign ones naming page_token", () => {
    const key = { time: NOW, id: "3f1f7a52-4f3c-4b59-9a8e-2a1a3f000001" };
    assert.deepEqual(decodePageToken(encodePageToken(key)), key);
    assert.equal(decodePageToken(""), undefined);
    assert.throws(() => decodePageToken("not-a-token"), (err: ShopError) => err.violations[0]?.field === "page_token");
  });
});
