// Order totals, computed here and only here, from what the peers said: catalog prices, the
// promotion service's adjustments, the shipping quote and the tax rate of the destination.
// Pure functions over integer minor units, so every rounding is explicit and testable.
//
//   subtotal = sum(unit_price * quantity)
//   discount = line discounts + shipping discount (everything the promotions took off)
//   shipping = the quoted price, before the shipping discount (which is inside `discount`)
//   tax      = rate(country) * (subtotal - line discounts + shipping - shipping discount), half up
//   total    = subtotal - discount + shipping + tax
//
// The contract's formula `total = subtotal - discount + shipping + tax` only holds if
// `shipping` is the price before its discount, since `discount` already holds the shipping
// discount; that is the reading chosen here (see README.md).
import { ShopError, Code, type FieldViolation } from "../../platform/errors.js";
import type { Money } from "../../platform/money.js";

/** A SKU as the catalog prices it now. */
export interface SkuPrice {
  readonly sku: string;
  readonly productId: string;
  readonly productName: string;
  readonly skuName: string;
  readonly imageUrl: string;
  readonly unitPrice: Money;
  readonly weightGrams: number;
  readonly categoryIds: readonly string[];
}

export interface CartItem {
  readonly sku: string;
  readonly quantity: number;
}

/** What the promotion service decided for the cart (EvaluateCart), in the order's currency. */
export interface PromotionOutcome {
  readonly lineAdjustments: readonly { readonly sku: string; readonly amountMinor: bigint }[];
  readonly shippingDiscountMinor: bigint;
  readonly applied: readonly AppliedDiscount[];
}

export interface AppliedDiscount {
  readonly promotionId: string;
  readonly name: string;
  /** Empty for automatic promotions. */
  readonly couponCode: string;
  readonly amountMinor: bigint;
}

export interface PricedLine {
  readonly sku: string;
  readonly productId: string;
  readonly productName: string;
  readonly skuName: string;
  readonly imageUrl: string;
  readonly quantity: number;
  readonly unitPriceMinor: bigint;
  readonly discountMinor: bigint;
  readonly lineTotalMinor: bigint;
  readonly weightGrams: number;
}

export interface Totals {
  readonly subtotalMinor: bigint;
  readonly discountMinor: bigint;
  readonly shippingMinor: bigint;
  readonly taxMinor: bigint;
  readonly totalMinor: bigint;
}

export interface PricedOrder {
  readonly currency: string;
  readonly lines: readonly PricedLine[];
  readonly totals: Totals;
  readonly discounts: readonly AppliedDiscount[];
}

/** Tax in basis points (1900 = 19%) per destination country, and for any other country. */
export interface TaxRates {
  /** A plain object, so the configuration prints as what it is at start-up. */
  readonly byCountry: Readonly<Record<string, number>>;
  readonly defaultBps: number;
}

export function taxRateBps(rates: TaxRates, countryCode: string): number {
  return Object.hasOwn(rates.byCountry, countryCode) ? (rates.byCountry[countryCode] ?? rates.defaultBps) : rates.defaultBps;
}

/** `US:0,DE:1900,GB:2000` (basis points) into a table; throws naming the bad entry. */
export function parseTaxRates(raw: string): Readonly<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const entry of raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const m = /^([A-Z]{2}):(\d{1,5})$/.exec(entry);
    if (!m || Number(m[2]) > 10_000) throw new Error(`expected COUNTRY:BASIS_POINTS entries (0..10000), e.g. DE:1900; got "${entry}"`);
    out[m[1]!] = Number(m[2]);
  }
  return Object.freeze(out);
}

const violationError = (message: string, violations: FieldViolation[]) => new ShopError(Code.FAILED_PRECONDITION, message, violations);

/**
 * The one currency of the order, or FAILED_PRECONDITION naming the lines that cannot be sold:
 * SKUs the catalog no longer sells and lines priced in another currency than the first.
 */
export function checkSellable(items: readonly CartItem[], skus: ReadonlyMap<string, SkuPrice>): string {
  const violations: FieldViolation[] = [];
  let currency: string | undefined;
  items.forEach((item, i) => {
    const s = skus.get(item.sku);
    if (!s) {
      violations.push({ field: `cart.lines[${i}].sku`, description: `${item.sku} is no longer sold` });
      return;
    }
    currency ??= s.unitPrice.currency;
    if (s.unitPrice.currency !== currency) {
      violations.push({ field: `cart.lines[${i}].sku`, description: `${item.sku} is priced in ${s.unitPrice.currency}, the cart in ${currency}` });
    }
  });
  if (violations.length > 0 || currency === undefined) {
    throw violationError(`the cart cannot be checked out: ${violations.map((v) => v.description).join("; ") || "it is empty"}`, violations);
  }
  return currency;
}

/** Parcel weight for the shipping quote; at least 1 g, as the shipping contract requires. */
export function parcelWeightGrams(items: readonly CartItem[], skus: ReadonlyMap<string, SkuPrice>): number {
  const grams = items.reduce((sum, item) => sum + (skus.get(item.sku)?.weightGrams ?? 0) * item.quantity, 0);
  return Math.max(1, grams);
}

/** rate * amount / 10000, rounded half up; amounts here are never negative. */
export function applyRate(amountMinor: bigint, bps: number): bigint {
  if (amountMinor <= 0n || bps <= 0) return 0n;
  return (amountMinor * BigInt(bps) + 5_000n) / 10_000n;
}

export interface PriceInput {
  readonly items: readonly CartItem[];
  readonly skus: ReadonlyMap<string, SkuPrice>;
  readonly currency: string;
  readonly promotion: PromotionOutcome;
  readonly shippingMinor: bigint;
  readonly taxBps: number;
}

export function priceOrder(input: PriceInput): PricedOrder {
  const adjustments = new Map<string, bigint>();
  for (const a of input.promotion.lineAdjustments) adjustments.set(a.sku, (adjustments.get(a.sku) ?? 0n) + a.amountMinor);
  const lines = input.items.map((item): PricedLine => {
    const s = input.skus.get(item.sku);
    if (!s) throw new Error(`unpriced SKU ${item.sku}: checkSellable runs first`);
    const gross = s.unitPrice.amountMinor * BigInt(item.quantity);
    const discount = clamp(adjustments.get(item.sku) ?? 0n, 0n, gross);
    return {
      sku: s.sku,
      productId: s.productId,
      productName: s.productName,
      skuName: s.skuName,
      imageUrl: s.imageUrl,
      quantity: item.quantity,
      unitPriceMinor: s.unitPrice.amountMinor,
      discountMinor: discount,
      lineTotalMinor: gross - discount,
      weightGrams: s.weightGrams,
    };
  });
  const subtotal = sum(lines.map((l) => l.unitPriceMinor * BigInt(l.quantity)));
  const lineDiscount = sum(lines.map((l) => l.discountMinor));
  const shipping = input.shippingMinor < 0n ? 0n : input.shippingMinor;
  const shippingDiscount = clamp(input.promotion.shippingDiscountMinor, 0n, shipping);
  const discount = lineDiscount + shippingDiscount;
  const tax = applyRate(subtotal - lineDiscount + shipping - shippingDiscount, input.taxBps);
  return {
    currency: input.currency,
    lines,
    totals: { subtotalMinor: subtotal, discountMinor: discount, shippingMinor: shipping, taxMinor: tax, totalMinor: subtotal - discount + shipping + tax },
    discounts: input.promotion.applied,
  };
}

const sum = (xs: readonly bigint[]) => xs.reduce((a, b) => a + b, 0n);
const clamp = (v: bigint, lo: bigint, hi: bigint) => (v < lo ? lo : v > hi ? hi : v);
