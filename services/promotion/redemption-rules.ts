// The rules a redemption is held to when an order redeems: re-checked under the promotions' row
// locks (store.ts), so a limit reached since EvaluateCart, or a promotion disabled or ended
// meanwhile, fails the redemption with a typed FAILED_PRECONDITION naming the field. And what
// makes a repeated RedeemPromotions the same request (idempotency by order id).
import { Code, fieldError, ShopError } from "../../platform/errors.js";
import type { Money } from "../../platform/money.js";
import { customerLimitReached, normalizeCouponCode, totalLimitReached, unavailableAt, type Promotion } from "./promotion.js";

export interface RedemptionInput {
  readonly promotionId: string;
  /** As EvaluateCart returned it ("" for automatic promotions); compared normalized. */
  readonly couponCode: string;
  readonly amount: Money;
}

/** A redemption as stored: the code normalized. */
export interface Redemption {
  readonly promotionId: string;
  readonly couponCode: string;
  readonly amount: Money;
}

/** FAILED_PRECONDITION naming the field: the request was fine, the state does not allow it. */
export const precondition = (field: string, message: string) => new ShopError(Code.FAILED_PRECONDITION, message, [{ field, description: message }]);

/** The request's redemptions, normalized, or INVALID_ARGUMENT: each promotion once, amounts not negative. */
export function normalizeRedemptions(inputs: readonly RedemptionInput[]): Redemption[] {
  const seen = new Set<string>();
  return inputs.map((r, i) => {
    if (seen.has(r.promotionId)) throw fieldError(`redemptions[${i}].promotion_id`, "appears more than once");
    seen.add(r.promotionId);
    if (r.amount.amountMinor < 0n) throw fieldError(`redemptions[${i}].amount.amount_minor`, "must not be negative");
    return { promotionId: r.promotionId, couponCode: normalizeCouponCode(r.couponCode), amount: r.amount };
  });
}

/**
 * Throws unless `promotion` may be redeemed by a customer holding `customerUses` of it at
 * `now`: it exists, the code is its code, it is enabled and inside its window, and neither
 * limit is reached. `i` is the redemption's index in the request, for the field path.
 */
export function checkRedeemable(r: Redemption, i: number, promotion: Promotion | undefined, customerUses: number, now: Date): Promotion {
  const field = `redemptions[${i}].promotion_id`;
  if (!promotion) throw new ShopError(Code.NOT_FOUND, `promotion ${r.promotionId} not found`, [{ field, description: "no such promotion" }]);
  if (r.couponCode !== (promotion.couponCode ?? "")) {
    throw precondition(`redemptions[${i}].coupon_code`, `${r.couponCode || "(none)"} is not the coupon code of promotion ${promotion.id}`);
  }
  switch (unavailableAt(promotion, now)) {
    case "disabled":
      throw precondition(field, `promotion ${promotion.id} is disabled`);
    case "not_started":
      throw precondition(field, `promotion ${promotion.id} has not started`);
    case "expired":
      throw precondition(field, `promotion ${promotion.id} has ended`);
    case undefined:
      break;
  }
  if (totalLimitReached(promotion)) throw precondition(field, `promotion ${promotion.id} has reached its usage limit`);
  if (customerLimitReached(promotion, customerUses)) {
    throw precondition(field, `the customer has used promotion ${promotion.id} as often as it allows`);
  }
  return promotion;
}

const key = (r: Redemption) => `${r.promotionId}|${r.couponCode}|${r.amount.amountMinor}|${r.amount.currency}`;

/** Whether a repeated request asks for exactly what the order already holds (in any order). */
export function sameRedemptions(held: readonly Redemption[], asked: readonly Redemption[]): boolean {
  if (held.length !== asked.length) return false;
  const keys = new Set(held.map(key));
  return asked.every((r) => keys.has(key(r)));
}
