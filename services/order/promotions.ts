// The order service's port to the promotion service: which discounts apply to the cart (at
// pricing), and recording or giving back their use for an order (saga steps, idempotent by
// order id at the promotion service).
import { PromotionService } from "../../gen/shop/promotion/v1/promotion_pb.js";
import type { ServiceClient } from "../../platform/grpc/index.js";
import { toProtoMoney } from "../../platform/money.js";
import type { AppliedDiscount, CartItem, PromotionOutcome, SkuPrice } from "./pricing.js";

export interface Evaluation extends PromotionOutcome {
  /** Coupons the shopper entered that did not apply, with the message to show. */
  readonly rejected: readonly { readonly couponCode: string; readonly message: string }[];
}

export interface EvaluateInput {
  readonly userId: string;
  readonly items: readonly CartItem[];
  readonly skus: ReadonlyMap<string, SkuPrice>;
  readonly couponCodes: readonly string[];
  readonly currency: string;
  readonly shippingMinor: bigint;
}

export interface Promotions {
  evaluate(input: EvaluateInput): Promise<Evaluation>;
  /** FAILED_PRECONDITION if a limit was reached since the evaluation. */
  redeem(orderId: string, userId: string, discounts: readonly AppliedDiscount[], currency: string): Promise<void>;
  release(orderId: string, reason: string): Promise<void>;
}

export type PromotionClient = ServiceClient<typeof PromotionService>;

export function createGrpcPromotions(client: PromotionClient): Promotions {
  return {
    async evaluate(i) {
      const res = await client.evaluateCart({
        userId: i.userId,
        lines: i.items.map((item) => {
          const s = i.skus.get(item.sku);
          return {
            sku: item.sku,
            productId: s?.productId ?? "",
            categoryIds: [...(s?.categoryIds ?? [])],
            quantity: item.quantity,
            unitPrice: s ? toProtoMoney(s.unitPrice) : { amountMinor: 0n, currencyCode: i.currency },
          };
        }),
        couponCodes: [...i.couponCodes],
        shipping: { amountMinor: i.shippingMinor, currencyCode: i.currency },
      });
      return {
        lineAdjustments: res.lineAdjustments.map((a) => ({ sku: a.sku, amountMinor: a.amount?.amountMinor ?? 0n })),
        shippingDiscountMinor: res.shippingDiscount?.amountMinor ?? 0n,
        applied: res.applied.map((a) => ({ promotionId: a.promotionId, name: a.name, couponCode: a.couponCode, amountMinor: a.amount?.amountMinor ?? 0n })),
        rejected: res.rejectedCoupons.map((r) => ({ couponCode: r.couponCode, message: r.message })),
      };
    },
    async redeem(orderId, userId, discounts, currency) {
      if (discounts.length === 0) return;
      await client.redeemPromotions({
        orderId,
        userId,
        redemptions: discounts.map((d) => ({ promotionId: d.promotionId, couponCode: d.couponCode, amount: { amountMinor: d.amountMinor, currencyCode: currency } })),
      });
    },
    async release(orderId, reason) {
      await client.releaseRedemptions({ orderId, reason });
    },
  };
}

export { PromotionService };
