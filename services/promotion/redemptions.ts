// Evaluating carts, and the redemptions orders take and give back. Redeem and release run in
// one transaction each with their outbox event; both are idempotent by order id, and both lock
// the order's row before the promotions' rows (in id order), so they never deadlock each other.
import { PromotionRedeemedSchema, RedemptionReleasedSchema } from "../../gen/shop/promotion/v1/events_pb.js";
import { enqueueEvent } from "../../platform/events/index.js";
import { cartOf, type LineInput } from "./cart.js";
import { evaluate, type Evaluation } from "./evaluate.js";
import type { Money } from "../../platform/money.js";
import { normalizeCouponCode } from "./promotion.js";
import { checkRedeemable, normalizeRedemptions, precondition, sameRedemptions, type Redemption, type RedemptionInput } from "./redemption-rules.js";
import type { PromotionStore } from "./store.js";

export interface RedemptionsDeps {
  readonly store: PromotionStore;
  readonly clock: () => Date;
}

export interface EvaluateRequest {
  /** Undefined for guests. */
  readonly userId: string | undefined;
  readonly lines: readonly LineInput[];
  readonly couponCodes: readonly string[];
  readonly shipping: Money | undefined;
}

const eventRedemptions = (rs: readonly Redemption[]) =>
  rs.map((r) => ({ promotionId: r.promotionId, couponCode: r.couponCode, amount: { amountMinor: r.amount.amountMinor, currencyCode: r.amount.currency } }));

export type Redemptions = ReturnType<typeof createRedemptions>;

export function createRedemptions({ store, clock }: RedemptionsDeps) {
  return {
    /** Records nothing: current promotions and counts, priced against the cart. */
    async evaluate(req: EvaluateRequest): Promise<Evaluation> {
      const cart = cartOf(req.lines, req.shipping);
      const codes = [...new Set(req.couponCodes.map(normalizeCouponCode).filter((c) => c !== ""))];
      const now = clock();
      const [automatic, coupons] = await Promise.all([
        store.automaticCandidates(store.db, now, req.userId),
        store.couponCandidates(store.db, codes, req.userId),
      ]);
      return evaluate({ cart, now, signedIn: req.userId !== undefined, automatic, couponCodes: codes, coupons });
    },

    /**
     * Takes one use of each promotion for the order, or none: FAILED_PRECONDITION if any limit
     * is reached or a promotion is no longer usable. A repeat for the same order returns what
     * it holds; a different request for it, or one after its release, is FAILED_PRECONDITION.
     */
    async redeem(orderId: string, userId: string, inputs: readonly RedemptionInput[]): Promise<readonly Redemption[]> {
      const asked = normalizeRedemptions(inputs);
      return store.tx(async (q) => {
        const now = clock();
        const held = await store.claimOrder(q, orderId, userId, now);
        if (held) {
          if (held.status === "released") throw precondition("order_id", `the promotions of order ${orderId} were released; it cannot redeem again`);
          if (held.userId !== userId || !sameRedemptions(held.redemptions, asked)) {
            throw precondition("redemptions", `order ${orderId} already redeemed other promotions`);
          }
          return held.redemptions;
        }
        const locked = await store.lockPromotions(q, asked.map((r) => r.promotionId), userId);
        const promotions = asked.map((r, i) => {
          const c = locked.get(r.promotionId);
          return checkRedeemable(r, i, c?.promotion, c?.customerUses ?? 0, now);
        });
        for (const [i, p] of promotions.entries()) {
          const short = await store.takeUse(q, p, userId);
          if (short) throw precondition(`redemptions[${i}].promotion_id`, `promotion ${p.id} has reached its ${short === "total" ? "usage" : "per-customer"} limit`);
        }
        await store.insertRedemptions(q, orderId, asked);
        await enqueueEvent(q, PromotionRedeemedSchema, { orderId, userId, redemptions: eventRedemptions(asked) });
        return asked;
      });
    },

    /**
     * Gives the order's redemptions back and returns them. Idempotent: a repeat returns the
     * same list without counting twice; an order that redeemed nothing returns none and is
     * marked, so a redemption arriving after its compensation is refused.
     */
    async release(orderId: string, reason: string): Promise<readonly Redemption[]> {
      return store.tx(async (q) => {
        const now = clock();
        if (await store.tombstone(q, orderId, reason, now)) return [];
        const held = await store.orderRedemptions(q, orderId, { lock: true });
        if (!held) throw new Error(`order ${orderId} has a redemption row that cannot be read`);
        if (held.status === "released") return held.redemptions;
        const userId = held.userId!;
        await store.lockPromotions(q, held.redemptions.map((r) => r.promotionId), userId);
        for (const r of held.redemptions) await store.returnUse(q, r.promotionId, userId);
        await store.markReleased(q, orderId, reason, now);
        await enqueueEvent(q, RedemptionReleasedSchema, { orderId, userId, redemptions: eventRedemptions(held.redemptions), reason });
        return held.redemptions;
      });
    },
  };
}
