// What a promotion is in this service, and the admin-side rules for a complete one: coupon codes
// normalized to upper case, kind-specific amounts, one currency per promotion. The contract's
// protovalidate rules (in promotion.proto) run first; these are the rules CEL does not say.
import { invalidArgument, type FieldViolation } from "../../platform/errors.js";
import type { Money } from "../../platform/money.js";

export type PromotionKind = "percentage" | "fixed_amount" | "free_shipping";

/** Lines a promotion discounts: listed SKUs or lines in listed categories; both empty = every line. */
export interface Eligibility {
  readonly skus: readonly string[];
  readonly categoryIds: readonly string[];
}

/** The fields an admin sets. */
export interface PromotionDraft {
  readonly name: string;
  /** Upper-case; undefined for an automatic promotion. */
  readonly couponCode: string | undefined;
  readonly kind: PromotionKind;
  /** PERCENTAGE only: 1000 = 10%. */
  readonly percentBps: number;
  /** FIXED_AMOUNT only. */
  readonly amountOff: Money | undefined;
  /** Inclusive; undefined = from the start. */
  readonly startsAt: Date | undefined;
  /** Exclusive; undefined = forever. */
  readonly endsAt: Date | undefined;
  readonly minSpend: Money | undefined;
  /** 0 = unlimited. */
  readonly perCustomerLimit: number;
  /** 0 = unlimited. */
  readonly totalLimit: number;
  readonly stackable: boolean;
  readonly disabled: boolean;
  readonly appliesTo: Eligibility;
}

export interface Promotion extends PromotionDraft {
  readonly id: string;
  /** Redemptions held now (released ones are given back). */
  readonly redemptionCount: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

const COUPON_CODE = /^[A-Z0-9][A-Z0-9_-]{2,31}$/;

/** Shoppers and admins may type codes in any case, with stray spaces; they are one code. */
export function normalizeCouponCode(code: string): string {
  return code.trim().toUpperCase();
}

/**
 * The draft's problems as field violations (paths under `promotion.`), or nothing. Checks what
 * the contract's CEL rules cannot: amounts that do not belong to the kind, and mixed currencies.
 */
export function draftViolations(d: PromotionDraft): FieldViolation[] {
  const out: FieldViolation[] = [];
  const bad = (field: string, description: string) => out.push({ field: `promotion.${field}`, description });
  if (d.name.trim() === "") bad("name", "must not be blank");
  if (d.couponCode !== undefined && !COUPON_CODE.test(d.couponCode)) {
    bad("coupon_code", "3 to 32 letters, digits, '-' or '_', starting with a letter or digit");
  }
  if (d.kind === "percentage") {
    if (d.percentBps <= 0 || d.percentBps > 10_000) bad("percent_bps", "must be between 1 and 10000 for a PERCENTAGE promotion");
  } else if (d.percentBps !== 0) {
    bad("percent_bps", "only a PERCENTAGE promotion takes a percentage");
  }
  if (d.kind === "fixed_amount") {
    if (!d.amountOff || d.amountOff.amountMinor <= 0n) bad("amount_off", "must be positive for a FIXED_AMOUNT promotion");
  } else if (d.amountOff) {
    bad("amount_off", "only a FIXED_AMOUNT promotion takes an amount");
  }
  if (d.minSpend && d.minSpend.amountMinor < 0n) bad("min_spend", "must not be negative");
  if (d.amountOff && d.minSpend && d.amountOff.currency !== d.minSpend.currency) {
    bad("min_spend.currency_code", `must be the currency of amount_off (${d.amountOff.currency})`);
  }
  if (d.startsAt && d.endsAt && d.endsAt.getTime() <= d.startsAt.getTime()) bad("end_time", "must be after start_time");
  if (d.perCustomerLimit < 0) bad("per_customer_limit", "must not be negative");
  if (d.totalLimit < 0) bad("total_limit", "must not be negative");
  return out;
}

/** INVALID_ARGUMENT naming every field that is wrong, or returns. */
export function checkDraft(d: PromotionDraft): void {
  const violations = draftViolations(d);
  const first = violations[0];
  if (first) throw invalidArgument(`invalid promotion: ${first.field}: ${first.description}`, violations);
}

export type Unavailable = "disabled" | "not_started" | "expired";

/** Why the promotion cannot be used at `now` regardless of the cart, or undefined if it can. */
export function unavailableAt(p: PromotionDraft, now: Date): Unavailable | undefined {
  if (p.disabled) return "disabled";
  if (p.startsAt && now.getTime() < p.startsAt.getTime()) return "not_started";
  if (p.endsAt && now.getTime() >= p.endsAt.getTime()) return "expired";
  return undefined;
}

/** Whether the total limit leaves no redemption. */
export const totalLimitReached = (p: Promotion): boolean => p.totalLimit > 0 && p.redemptionCount >= p.totalLimit;

/** Whether a customer who holds `uses` redemptions of it may not redeem it again. */
export const customerLimitReached = (p: PromotionDraft, uses: number): boolean => p.perCustomerLimit > 0 && uses >= p.perCustomerLimit;
