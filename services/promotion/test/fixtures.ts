// Small named builders for the in-memory tests of the pricing rules.
import { randomUUID } from "node:crypto";
import type { Cart, CartLine } from "../cart.js";
import type { Candidate, Evaluation, EvaluationInput } from "../evaluate.js";
import { evaluate } from "../evaluate.js";
import type { Promotion } from "../promotion.js";

export const NOW = new Date("2026-06-15T12:00:00.000Z");

let created = 0;

/** An enabled automatic 10% promotion on everything, non-stackable, created after the previous one. */
export function promo(overrides: Partial<Promotion> = {}): Promotion {
  created++;
  return {
    id: randomUUID(),
    name: `Promotion ${created}`,
    couponCode: undefined,
    kind: "percentage",
    percentBps: 1000,
    amountOff: undefined,
    startsAt: undefined,
    endsAt: undefined,
    minSpend: undefined,
    perCustomerLimit: 0,
    totalLimit: 0,
    redemptionCount: 0,
    stackable: false,
    disabled: false,
    appliesTo: { skus: [], categoryIds: [] },
    createdAt: new Date(NOW.getTime() - 86_400_000 + created),
    updatedAt: NOW,
    ...overrides,
  };
}

export const usd = (amountMinor: bigint) => ({ amountMinor, currency: "USD" });

export function line(sku: string, unitPrice: bigint, quantity = 1, categoryIds: readonly string[] = []): CartLine {
  return { sku, productId: `product-${sku}`, categoryIds, quantity, unitPrice };
}

export function cart(lines: readonly CartLine[], shipping?: bigint): Cart {
  return { currency: "USD", lines, shipping };
}

export interface Scenario {
  readonly cart: Cart;
  readonly automatic?: readonly Promotion[];
  /** Coupon promotions the store knows (their couponCode set). */
  readonly coupons?: readonly Promotion[];
  /** What the shopper entered (normalized). */
  readonly codes?: readonly string[];
  readonly signedIn?: boolean;
  /** The customer's uses by promotion id. */
  readonly uses?: ReadonlyMap<string, number>;
  readonly now?: Date;
}

export function run(s: Scenario): Evaluation {
  const candidate = (p: Promotion): Candidate => ({ promotion: p, customerUses: s.uses?.get(p.id) ?? 0 });
  const input: EvaluationInput = {
    cart: s.cart,
    now: s.now ?? NOW,
    signedIn: s.signedIn ?? true,
    automatic: (s.automatic ?? []).map(candidate),
    couponCodes: s.codes ?? (s.coupons ?? []).map((p) => p.couponCode!),
    coupons: new Map((s.coupons ?? []).map((p) => [p.couponCode!, candidate(p)])),
  };
  return evaluate(input);
}

/** Adjustments as [sku, promotion id, amount] for compact assertions. */
export const adjustments = (e: Evaluation) => e.lineAdjustments.map((a) => [a.sku, a.promotionId, a.amount]);
