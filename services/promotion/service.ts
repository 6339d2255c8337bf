// PromotionService's gRPC handlers: proto in, domain call, proto out. Access levels come from
// the contract and are enforced by the platform before a handler runs: the CRUD RPCs need the
// admin role, EvaluateCart/RedeemPromotions/ReleaseRedemptions are internal (cart, order) and
// take the customer's id from the request because limits are per customer.
import { PromotionService, RejectedCoupon_Reason } from "../../gen/shop/promotion/v1/promotion_pb.js";
import { fieldError } from "../../platform/errors.js";
import type { ServiceImpl } from "../../platform/grpc/index.js";
import type { Evaluation, RejectReason } from "./evaluate.js";
import { fromProtoMoney, toProtoMoney } from "../../platform/money.js";
import { draftOf, kindProto, mergeUpdate, toProtoPromotion } from "./promotion-proto.js";
import type { Promotions } from "./promotions.js";
import type { Redemption } from "./redemption-rules.js";
import type { Redemptions } from "./redemptions.js";

const reasons: Record<RejectReason, RejectedCoupon_Reason> = {
  not_found: RejectedCoupon_Reason.NOT_FOUND,
  disabled: RejectedCoupon_Reason.DISABLED,
  not_started: RejectedCoupon_Reason.NOT_STARTED,
  expired: RejectedCoupon_Reason.EXPIRED,
  usage_limit_reached: RejectedCoupon_Reason.USAGE_LIMIT_REACHED,
  sign_in_required: RejectedCoupon_Reason.SIGN_IN_REQUIRED,
  currency_mismatch: RejectedCoupon_Reason.CURRENCY_MISMATCH,
  no_eligible_items: RejectedCoupon_Reason.NO_ELIGIBLE_ITEMS,
  min_spend_not_met: RejectedCoupon_Reason.MIN_SPEND_NOT_MET,
  not_stackable: RejectedCoupon_Reason.NOT_STACKABLE,
};

function evaluationProto(e: Evaluation) {
  const money = (amountMinor: bigint) => ({ amountMinor, currencyCode: e.currency });
  return {
    lineAdjustments: e.lineAdjustments.map((a) => ({ sku: a.sku, promotionId: a.promotionId, amount: money(a.amount) })),
    shippingDiscount: money(e.shippingDiscount),
    subtotal: money(e.subtotal),
    discountTotal: money(e.discountTotal),
    applied: e.applied.map((a) => ({
      promotionId: a.promotion.id,
      name: a.promotion.name,
      couponCode: a.promotion.couponCode ?? "",
      kind: kindProto(a.promotion.kind),
      amount: money(a.amount),
    })),
    rejectedCoupons: e.rejected.map((r) => ({ couponCode: r.couponCode, reason: reasons[r.reason], message: r.message })),
  };
}

const redemptionsProto = (rs: readonly Redemption[]) =>
  rs.map((r) => ({ promotionId: r.promotionId, couponCode: r.couponCode, amount: toProtoMoney(r.amount) }));

export interface PromotionServiceDeps {
  readonly promotions: Promotions;
  readonly redemptions: Redemptions;
}

export function createPromotionService({ promotions, redemptions }: PromotionServiceDeps): ServiceImpl<typeof PromotionService> {
  return {
    async evaluateCart(req) {
      const evaluation = await redemptions.evaluate({
        userId: req.userId === "" ? undefined : req.userId,
        // unit_price is required by the contract, so validation has already ensured it is set.
        lines: req.lines.map((l) => ({ sku: l.sku, productId: l.productId, categoryIds: l.categoryIds, quantity: l.quantity, unitPrice: fromProtoMoney(l.unitPrice)! })),
        couponCodes: req.couponCodes,
        shipping: fromProtoMoney(req.shipping),
      });
      return evaluationProto(evaluation);
    },

    async redeemPromotions(req) {
      const held = await redemptions.redeem(
        req.orderId,
        req.userId,
        req.redemptions.map((r) => ({ promotionId: r.promotionId, couponCode: r.couponCode, amount: fromProtoMoney(r.amount)! })),
      );
      return { redemptions: redemptionsProto(held) };
    },

    async releaseRedemptions(req) {
      return { released: redemptionsProto(await redemptions.release(req.orderId, req.reason)) };
    },

    async createPromotion(req) {
      // `promotion` is required by the contract.
      return { promotion: toProtoPromotion(await promotions.create(draftOf(req.promotion!))) };
    },

    async updatePromotion(req) {
      const paths = req.updateMask?.paths ?? [];
      if (paths.length === 0) throw fieldError("update_mask", "must name at least one field");
      return { promotion: toProtoPromotion(await promotions.update(req.id, (current) => mergeUpdate(current, req.promotion, paths))) };
    },

    async getPromotion(req) {
      return { promotion: toProtoPromotion(await promotions.get(req.id)) };
    },

    async listPromotions(req) {
      const page = await promotions.list(req);
      return { promotions: page.promotions.map(toProtoPromotion), nextPageToken: page.nextPageToken };
    },

    async deletePromotion(req) {
      await promotions.remove(req.id);
      return {};
    },
  };
}

export { PromotionService };
