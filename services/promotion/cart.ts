// A cart as the pricing rules see it: one currency, amounts in its minor units, each SKU once.
// `cartOf` is the one place a request's lines become one, refusing what cannot be priced with
// INVALID_ARGUMENT naming the field.
import { fieldError } from "../../platform/errors.js";
import { MAX_MINOR, type Money } from "../../platform/money.js";
import type { Promotion } from "./promotion.js";

export interface CartLine {
  readonly sku: string;
  readonly productId: string;
  readonly categoryIds: readonly string[];
  readonly quantity: number;
  readonly unitPrice: bigint;
}

/** A cart in one currency; amounts in its minor units. */
export interface Cart {
  readonly currency: string;
  readonly lines: readonly CartLine[];
  /** Shipping before discounts; undefined when not known yet. */
  readonly shipping: bigint | undefined;
}

/** A cart line as the request carries it. */
export interface LineInput {
  readonly sku: string;
  readonly productId: string;
  readonly categoryIds: readonly string[];
  readonly quantity: number;
  readonly unitPrice: Money;
}

/**
 * The request's lines and shipping as one cart, or INVALID_ARGUMENT naming the field: one
 * currency for every line and the shipping, each SKU once, totals that fit in an int64.
 */
export function cartOf(lines: readonly LineInput[], shipping: Money | undefined): Cart {
  const first = lines[0];
  if (!first) throw fieldError("lines", "must not be empty");
  const currency = first.unitPrice.currency;
  const seen = new Set<string>();
  let subtotal = 0n;
  lines.forEach((l, i) => {
    if (l.unitPrice.currency !== currency) throw fieldError(`lines[${i}].unit_price.currency_code`, `must be ${currency}, the currency of lines[0]`);
    if (l.unitPrice.amountMinor < 0n) throw fieldError(`lines[${i}].unit_price.amount_minor`, "must not be negative");
    if (seen.has(l.sku)) throw fieldError(`lines[${i}].sku`, `${l.sku} appears in more than one line`);
    seen.add(l.sku);
    subtotal += l.unitPrice.amountMinor * BigInt(l.quantity);
  });
  if (subtotal > MAX_MINOR) throw fieldError("lines", "the cart's total is too large");
  if (shipping) {
    if (shipping.currency !== currency) throw fieldError("shipping.currency_code", `must be ${currency}, the currency of the lines`);
    if (shipping.amountMinor < 0n) throw fieldError("shipping.amount_minor", "must not be negative");
  }
  return {
    currency,
    lines: lines.map((l) => ({ sku: l.sku, productId: l.productId, categoryIds: l.categoryIds, quantity: l.quantity, unitPrice: l.unitPrice.amountMinor })),
    shipping: shipping?.amountMinor,
  };
}

/** Unit price times quantity. */
export const lineTotal = (l: CartLine): bigint => l.unitPrice * BigInt(l.quantity);

/** Indexes of the lines the promotion discounts. */
export function eligibleLines(p: Promotion, cart: Cart): number[] {
  const { skus, categoryIds } = p.appliesTo;
  const all = skus.length === 0 && categoryIds.length === 0;
  const out: number[] = [];
  cart.lines.forEach((l, i) => {
    if (all || skus.includes(l.sku) || l.categoryIds.some((c) => categoryIds.includes(c))) out.push(i);
  });
  return out;
}
