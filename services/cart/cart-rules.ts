// The cart's business rules as plain functions: how many units and lines a cart may hold, one
// currency per cart, and how a guest cart folds into a user's cart at sign-in.
import { failedPrecondition, fieldError } from "../../platform/errors.js";

export interface CartLimits {
  /** Distinct SKUs per cart. */
  readonly maxLines: number;
  /** Units per line. */
  readonly maxLineQuantity: number;
}

/** What the rules need to know about a line. */
export interface LineQuantity {
  readonly sku: string;
  readonly quantity: number;
  /** ISO 4217 code of the line's price. */
  readonly currency: string;
}

/** The currency of a cart's lines; undefined for an empty cart. */
export function cartCurrency(lines: readonly LineQuantity[]): string | undefined {
  return lines[0]?.currency;
}

/**
 * The line's quantity after adding `add.quantity` units, or FAILED_PRECONDITION when the cart is
 * in another currency, already holds `maxLines` other SKUs, or the line would exceed its limit.
 * Over the limit is an error rather than a silent cap: the shopper asked for a number of units
 * and must learn they did not get them.
 */
export function quantityAfterAdd(lines: readonly LineQuantity[], add: LineQuantity, limits: CartLimits): number {
  const others = lines.filter((l) => l.sku !== add.sku);
  const currency = cartCurrency(others);
  if (currency !== undefined && currency !== add.currency) {
    throw failedPrecondition(`the cart is priced in ${currency} and ${add.sku} in ${add.currency}; one cart holds one currency`);
  }
  const existing = lines.find((l) => l.sku === add.sku);
  if (!existing && lines.length >= limits.maxLines) {
    throw failedPrecondition(`a cart holds at most ${limits.maxLines} different items`);
  }
  const total = (existing?.quantity ?? 0) + add.quantity;
  if (total > limits.maxLineQuantity) {
    const already = existing ? ` (${existing.quantity} already in the cart)` : "";
    throw failedPrecondition(`at most ${limits.maxLineQuantity} units of one item per cart${already}`);
  }
  return total;
}

/** A quantity set outright (UpdateItemQuantity): INVALID_ARGUMENT above the line limit. */
export function checkSetQuantity(quantity: number, limits: CartLimits): void {
  if (quantity > limits.maxLineQuantity) {
    throw fieldError("quantity", `must be at most ${limits.maxLineQuantity}`);
  }
}

export type MergeDropReason = "currency" | "line_limit";

export interface MergePlan {
  /** The user's lines whose quantity grows, with the new quantity. */
  readonly updated: readonly { readonly sku: string; readonly quantity: number }[];
  /** Guest lines that become new lines of the user's cart, in the guest cart's order. */
  readonly added: readonly { readonly sku: string; readonly quantity: number }[];
  /** Guest lines left behind. */
  readonly dropped: readonly { readonly sku: string; readonly reason: MergeDropReason }[];
}

/**
 * Folds the guest cart's lines into the user's. Sign-in must not fail over a cart, so merging
 * never throws: quantities of the same SKU add up and are capped at the line limit, new SKUs
 * are appended while the cart has room, and lines in a currency other than the cart's are left
 * behind (an empty user cart takes the guest cart's currency).
 */
export function planMerge(userLines: readonly LineQuantity[], guestLines: readonly LineQuantity[], limits: CartLimits): MergePlan {
  const currency = cartCurrency(userLines) ?? cartCurrency(guestLines);
  const byUserSku = new Map(userLines.map((l) => [l.sku, l]));
  const updated: { sku: string; quantity: number }[] = [];
  const added: { sku: string; quantity: number }[] = [];
  const dropped: { sku: string; reason: MergeDropReason }[] = [];
  let lineCount = userLines.length;
  for (const g of guestLines) {
    if (g.currency !== currency) {
      dropped.push({ sku: g.sku, reason: "currency" });
      continue;
    }
    const mine = byUserSku.get(g.sku);
    if (mine) {
      const quantity = Math.min(mine.quantity + g.quantity, limits.maxLineQuantity);
      if (quantity !== mine.quantity) updated.push({ sku: g.sku, quantity });
    } else if (lineCount < limits.maxLines) {
      added.push({ sku: g.sku, quantity: Math.min(g.quantity, limits.maxLineQuantity) });
      lineCount++;
    } else {
      dropped.push({ sku: g.sku, reason: "line_limit" });
    }
  }
  return { updated, added, dropped };
}
