// Pricing a cart's discounts: which promotions apply, and what each takes off which line and
// the shipping. Plain functions over plain data, deterministic for the same input: the store
// reads promotions and usage counts, this file decides.
//
// The rules, in order:
// 1. A promotion qualifies if it is enabled and inside its window at `now`, its total limit and
//    the customer's limit leave a redemption (a per-customer limit needs a signed-in customer),
//    its amounts are in the cart's currency, at least one line is eligible, and the eligible
//    lines' subtotal before any discount reaches its minimum spend.
// 2. Stacking: the stackable qualifiers combine with each other; a non-stackable one combines
//    with nothing. Of the possible outcomes (all stackables together, or one non-stackable
//    alone) the one with the largest total discount applies; a tie goes to the stackables, then
//    to the older promotion.
// 3. Within an outcome, percentages apply first, then fixed amounts, then free shipping (older
//    promotions first within a kind), each on what the previous ones left of a line, so no line
//    ever goes below zero. Rounding: allocation.ts.
// 4. A promotion that ends up taking nothing is not applied (it would spend a redemption on
//    nothing), except free shipping while the shipping price is not known yet (cart view).
import { allocateProportionally, percentOf } from "./allocation.js";
import { eligibleLines, lineTotal, type Cart } from "./cart.js";
import { formatMoney } from "../../platform/money.js";
import { customerLimitReached, totalLimitReached, unavailableAt, type Promotion } from "./promotion.js";

/** A promotion with how many redemptions of it the customer holds (0 for guests). */
export interface Candidate {
  readonly promotion: Promotion;
  readonly customerUses: number;
}

export interface EvaluationInput {
  readonly cart: Cart;
  readonly now: Date;
  readonly signedIn: boolean;
  /** Automatic promotions (no coupon code) that may apply; the rules are re-checked here. */
  readonly automatic: readonly Candidate[];
  /** Normalized codes the shopper entered, in the order entered, without duplicates. */
  readonly couponCodes: readonly string[];
  /** The promotions behind those codes, by code; a code missing here does not exist. */
  readonly coupons: ReadonlyMap<string, Candidate>;
}

export type RejectReason =
  | "not_found"
  | "disabled"
  | "not_started"
  | "expired"
  | "usage_limit_reached"
  | "sign_in_required"
  | "currency_mismatch"
  | "no_eligible_items"
  | "min_spend_not_met"
  | "not_stackable";

export interface LineAdjustment {
  readonly sku: string;
  readonly promotionId: string;
  /** Positive amount taken off the line. */
  readonly amount: bigint;
}

export interface AppliedPromotion {
  readonly promotion: Promotion;
  /** Lines plus shipping. */
  readonly amount: bigint;
}

export interface RejectedCoupon {
  readonly couponCode: string;
  readonly reason: RejectReason;
  readonly message: string;
}

export interface Evaluation {
  readonly currency: string;
  readonly subtotal: bigint;
  /** In line order, then in the order the promotions applied. */
  readonly lineAdjustments: readonly LineAdjustment[];
  readonly shippingDiscount: bigint;
  readonly discountTotal: bigint;
  /** In the order they applied. */
  readonly applied: readonly AppliedPromotion[];
  /** In the order the codes were entered. */
  readonly rejected: readonly RejectedCoupon[];
}

type Verdict = { ok: true } | { ok: false; reason: RejectReason; message: string };

/** Rule 1 for one candidate; `label` names it in messages (the code as the shopper typed it). */
export function qualify(c: Candidate, cart: Cart, now: Date, signedIn: boolean, label: string): Verdict {
  const p = c.promotion;
  const no = (reason: RejectReason, message: string): Verdict => ({ ok: false, reason, message });
  switch (unavailableAt(p, now)) {
    case "disabled":
      return no("disabled", `${label} is not available`);
    case "not_started":
      return no("not_started", `${label} can be used from ${p.startsAt!.toISOString()}`);
    case "expired":
      return no("expired", `${label} has expired`);
    case undefined:
      break;
  }
  if (totalLimitReached(p)) return no("usage_limit_reached", `${label} has been used up`);
  if (p.perCustomerLimit > 0 && !signedIn) return no("sign_in_required", `Sign in to use ${label}`);
  if (customerLimitReached(p, c.customerUses)) return no("usage_limit_reached", `You have already used ${label} as often as it allows`);
  for (const m of [p.amountOff, p.minSpend]) {
    if (m && m.currency !== cart.currency) return no("currency_mismatch", `${label} applies to ${m.currency} carts only`);
  }
  const eligible = eligibleLines(p, cart);
  if (eligible.length === 0) return no("no_eligible_items", `${label} does not apply to any item in the cart`);
  if (p.minSpend) {
    const spent = eligible.reduce((s, i) => s + lineTotal(cart.lines[i]!), 0n);
    if (spent < p.minSpend.amountMinor) {
      return no("min_spend_not_met", `Spend ${formatMoney({ amountMinor: p.minSpend.amountMinor - spent, currency: cart.currency })} more to use ${label}`);
    }
  }
  return { ok: true };
}

const KIND_ORDER = { percentage: 0, fixed_amount: 1, free_shipping: 2 } as const;

/** Older first, then by id: the deterministic order among equals. */
function byAge(a: Promotion, b: Promotion): number {
  const t = a.createdAt.getTime() - b.createdAt.getTime();
  return t !== 0 ? t : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Rule 3's order. */
export function applicationOrder(a: Promotion, b: Promotion): number {
  return KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || byAge(a, b);
}

interface Effect {
  readonly promotion: Promotion;
  /** Per cart line. */
  readonly lines: readonly bigint[];
  readonly shipping: bigint;
  /** Whether it did something (or is free shipping on a cart whose shipping is not known yet). */
  readonly effective: boolean;
}

interface Outcome {
  readonly effects: readonly Effect[];
  readonly total: bigint;
}

/** Rule 3 and 4: the promotions applied together, in application order. */
export function applyTogether(promotions: readonly Promotion[], cart: Cart): Outcome {
  const remaining = cart.lines.map(lineTotal);
  let shippingLeft = cart.shipping ?? 0n;
  let shippingFreed = false;
  const effects: Effect[] = [];
  let total = 0n;
  for (const p of [...promotions].sort(applicationOrder)) {
    const lines = cart.lines.map(() => 0n);
    let shipping = 0n;
    let effective = false;
    const eligible = eligibleLines(p, cart);
    switch (p.kind) {
      case "percentage":
        for (const i of eligible) lines[i] = percentOf(remaining[i]!, p.percentBps);
        break;
      case "fixed_amount": {
        const shares = allocateProportionally(p.amountOff?.amountMinor ?? 0n, eligible.map((i) => remaining[i]!));
        eligible.forEach((i, k) => (lines[i] = shares[k]!));
        break;
      }
      case "free_shipping":
        shipping = shippingLeft;
        // Unknown shipping: the first free-shipping promotion still applies, worth 0 for now.
        effective = cart.shipping === undefined && !shippingFreed;
        shippingFreed = true;
        break;
    }
    lines.forEach((d, i) => (remaining[i] = remaining[i]! - d));
    shippingLeft -= shipping;
    const amount = lines.reduce((s, d) => s + d, 0n) + shipping;
    total += amount;
    effects.push({ promotion: p, lines, shipping, effective: effective || amount > 0n });
  }
  return { effects, total };
}

export function evaluate(input: EvaluationInput): Evaluation {
  const { cart, now, signedIn } = input;
  const rejected = new Map<string, RejectedCoupon>();
  const reject = (couponCode: string, reason: RejectReason, message: string) => void rejected.set(couponCode, { couponCode, reason, message });

  const qualified: Promotion[] = [];
  for (const c of input.automatic) {
    if (c.promotion.couponCode === undefined && qualify(c, cart, now, signedIn, c.promotion.name).ok) qualified.push(c.promotion);
  }
  for (const code of input.couponCodes) {
    const c = input.coupons.get(code);
    if (!c) {
      reject(code, "not_found", `${code} is not a valid coupon code`);
      continue;
    }
    const verdict = qualify(c, cart, now, signedIn, code);
    if (verdict.ok) qualified.push(c.promotion);
    else reject(code, verdict.reason, verdict.message);
  }

  // Rule 2: the possible outcomes, the stackables first (they win ties), then each
  // non-stackable alone, oldest first.
  const stackables = qualified.filter((p) => p.stackable);
  const options = [
    ...(stackables.length > 0 ? [stackables] : []),
    ...qualified.filter((p) => !p.stackable).sort(byAge).map((p) => [p]),
  ];
  let best: Outcome = { effects: [], total: 0n };
  let bestIndex = -1;
  options.forEach((option, i) => {
    const outcome = applyTogether(option, cart);
    const better =
      bestIndex < 0 ||
      outcome.total > best.total ||
      // Equal and nothing applies in the best so far: free shipping of unknown worth beats nothing.
      (outcome.total === best.total && !best.effects.some((e) => e.effective) && outcome.effects.some((e) => e.effective));
    if (better) [best, bestIndex] = [outcome, i];
  });
  const applied = best.effects.filter((e) => e.effective);
  const appliedNames = applied.map((e) => e.promotion.name).join(", ");

  // Coupons that qualified but do not apply: worth nothing on this cart, or crowded out.
  for (const p of qualified) {
    const code = p.couponCode;
    if (code === undefined || applied.some((e) => e.promotion.id === p.id)) continue;
    const alone = applyTogether([p], cart).effects[0]!;
    if (!alone.effective) {
      reject(code, "no_eligible_items", p.kind === "free_shipping" ? `Shipping is already free; ${code} is not needed` : `${code} takes nothing off this cart`);
    } else {
      reject(code, "not_stackable", applied.length > 0 ? `${code} does not combine with ${appliedNames}` : `${code} does not combine with the other promotions`);
    }
  }

  const lineAdjustments: LineAdjustment[] = [];
  cart.lines.forEach((l, i) => {
    for (const e of applied) {
      const amount = e.lines[i]!;
      if (amount > 0n) lineAdjustments.push({ sku: l.sku, promotionId: e.promotion.id, amount });
    }
  });
  const shippingDiscount = applied.reduce((s, e) => s + e.shipping, 0n);
  const discountTotal = lineAdjustments.reduce((s, a) => s + a.amount, 0n) + shippingDiscount;
  return {
    currency: cart.currency,
    subtotal: cart.lines.reduce((s, l) => s + lineTotal(l), 0n),
    lineAdjustments,
    shippingDiscount,
    discountTotal,
    applied: applied.map((e) => ({ promotion: e.promotion, amount: e.lines.reduce((s, d) => s + d, 0n) + e.shipping })),
    rejected: input.couponCodes.flatMap((code) => rejected.get(code) ?? []),
  };
}
