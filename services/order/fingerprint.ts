// What makes two PlaceOrder calls "the same checkout" for one idempotency key: the request's
// own fields and the cart's content (SKU and quantity per line). Both are hashed and stored
// with the order, so a replay is compared without keeping a copy of either.
import { createHash } from "node:crypto";
import type { CartItem } from "./pricing.js";

export interface CheckoutRequest {
  readonly shippingAddress: unknown;
  readonly billingAddress: unknown;
  readonly shippingSpeed: number;
  readonly paymentMethodToken: string;
  readonly couponCodes: readonly string[];
  readonly expectedTotal: { readonly amountMinor: bigint; readonly currency: string } | undefined;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Stable JSON: object keys sorted, bigints as strings. */
function canonical(value: unknown): string {
  if (typeof value === "bigint") return JSON.stringify(value.toString());
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => v !== undefined && !k.startsWith("$"))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function requestFingerprint(req: CheckoutRequest): string {
  // Coupon codes are case-insensitive at the promotion service, and their order is no meaning.
  const coupons = req.couponCodes.map((c) => c.toUpperCase()).sort();
  return sha256(canonical({ ...req, couponCodes: coupons, billingAddress: req.billingAddress ?? req.shippingAddress }));
}

export function cartFingerprint(items: readonly CartItem[]): string {
  const merged = new Map<string, number>();
  for (const i of items) merged.set(i.sku, (merged.get(i.sku) ?? 0) + i.quantity);
  return sha256([...merged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([sku, q]) => `${sku}\u0000${q}`).join("\n"));
}
