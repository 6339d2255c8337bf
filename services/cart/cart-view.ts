// What a shopper sees of a cart: the stored lines priced at the catalog's current prices, with
// availability from inventory and warnings for everything that changed. A pure function, so
// every rule here is tested in memory; carts.ts fetches the inputs.
//
// Nothing is dropped silently: a line whose SKU vanished or stopped selling stays, shown from
// the snapshot taken when it was added, with a warning. When a peer is down the view degrades
// instead of failing: no prices (catalog) or no availability (inventory), and a cart-level
// warning saying so.
import type { SkuInfo, SkuLookup } from "./catalog.js";
import { formatMoney, sameMoney, times, type Money } from "../../platform/money.js";

export interface StoredLine {
  readonly sku: string;
  readonly quantity: number;
  // A snapshot from the catalog when the line was (last) added: shown when the catalog cannot
  // be asked or no longer knows the SKU, and the reference for "price changed".
  readonly productId: string;
  readonly productName: string;
  readonly skuName: string;
  readonly imageUrl: string;
  readonly addedPrice: Money;
  readonly addedAt: Date;
}

export interface StoredCart {
  readonly id: string;
  /** Undefined for a guest cart. */
  readonly userId: string | undefined;
  readonly updatedAt: Date;
  readonly expiresAt: Date;
  /** In the order they were first added. */
  readonly lines: readonly StoredLine[];
}

export type WarningCode = "price_changed" | "insufficient_stock" | "out_of_stock" | "unavailable" | "price_unknown" | "availability_unknown";

export interface CartWarning {
  readonly code: WarningCode;
  /** Empty for a warning about the whole cart. */
  readonly sku: string;
  readonly message: string;
}

export interface LineView {
  readonly sku: string;
  readonly productId: string;
  readonly productName: string;
  readonly skuName: string;
  readonly imageUrl: string;
  readonly quantity: number;
  /** The current catalog price; undefined when the catalog could not say. */
  readonly unitPrice: Money | undefined;
  readonly lineTotal: Money | undefined;
  /** Undefined when inventory could not be asked. */
  readonly availability: { readonly inStock: boolean; readonly quantityAvailable: number } | undefined;
  readonly addedAt: Date;
}

export interface CartView {
  /** Empty when the owner has no live cart. */
  readonly id: string;
  readonly userId: string | undefined;
  readonly lines: readonly LineView[];
  /** Lines that can be bought, at current prices; undefined for an empty cart or without prices. */
  readonly subtotal: Money | undefined;
  readonly totalQuantity: number;
  readonly warnings: readonly CartWarning[];
  readonly expiresAt: Date | undefined;
  readonly updatedAt: Date | undefined;
}

export const EMPTY_CART: CartView = {
  id: "",
  userId: undefined,
  lines: [],
  subtotal: undefined,
  totalQuantity: 0,
  warnings: [],
  expiresAt: undefined,
  updatedAt: undefined,
};

const INT32_MAX = 2 ** 31 - 1;

/**
 * Prices `cart`. `skus` undefined means the catalog could not be asked; `stock` (units available
 * per SKU) undefined means inventory could not be asked.
 */
export function buildCartView(cart: StoredCart, skus: SkuLookup | undefined, stock: ReadonlyMap<string, number> | undefined): CartView {
  const currency = cart.lines[0]?.addedPrice.currency;
  const warnings: CartWarning[] = [];
  const lines: LineView[] = [];
  let subtotal = 0n;
  for (const line of cart.lines) {
    const info = skus?.found.get(line.sku);
    const sellable = skus !== undefined && checkSellable(line, info, currency, warnings);
    const price = info?.price;
    if (sellable && price) {
      subtotal += price.amountMinor * BigInt(line.quantity);
      if (!sameMoney(price, line.addedPrice)) {
        warnings.push({
          code: "price_changed",
          sku: line.sku,
          message: `Price of ${label(line)} changed from ${formatMoney(line.addedPrice)} to ${formatMoney(price)}`,
        });
      }
    }
    const available = stock?.get(line.sku);
    const units = stock === undefined ? undefined : Math.min(available ?? 0, INT32_MAX);
    if (units !== undefined && (sellable || skus === undefined)) stockWarning(line, units, warnings);
    lines.push({
      sku: line.sku,
      productId: info?.productId ?? line.productId,
      productName: info?.productName ?? line.productName,
      skuName: info?.skuName ?? line.skuName,
      imageUrl: info?.imageUrl ?? line.imageUrl,
      quantity: line.quantity,
      unitPrice: price,
      lineTotal: price ? times(price, line.quantity) : undefined,
      availability: units === undefined ? undefined : { inStock: units >= line.quantity, quantityAvailable: units },
      addedAt: line.addedAt,
    });
  }
  if (cart.lines.length > 0 && skus === undefined) {
    warnings.push({ code: "price_unknown", sku: "", message: "Prices could not be checked right now; they are confirmed at checkout" });
  }
  if (cart.lines.length > 0 && stock === undefined) {
    warnings.push({ code: "availability_unknown", sku: "", message: "Stock could not be checked right now; it is confirmed at checkout" });
  }
  return {
    id: cart.id,
    userId: cart.userId,
    lines,
    subtotal: currency !== undefined && skus !== undefined ? { amountMinor: subtotal, currency } : undefined,
    totalQuantity: cart.lines.reduce((n, l) => n + l.quantity, 0),
    warnings,
    expiresAt: cart.expiresAt,
    updatedAt: cart.updatedAt,
  };
}

/** Whether the line can be bought now; if not, says why in a warning. */
function checkSellable(line: StoredLine, info: SkuInfo | undefined, currency: string | undefined, warnings: CartWarning[]): boolean {
  let why: string | undefined;
  if (!info) why = `${label(line)} is no longer sold`;
  else if (!info.purchasable || !info.price) why = `${label(line)} is not available for sale right now`;
  else if (info.price.currency !== currency) why = `${label(line)} is now priced in ${info.price.currency}, the cart in ${currency}`;
  if (why === undefined) return true;
  warnings.push({ code: "unavailable", sku: line.sku, message: why });
  return false;
}

function stockWarning(line: StoredLine, units: number, warnings: CartWarning[]): void {
  if (units <= 0) {
    warnings.push({ code: "out_of_stock", sku: line.sku, message: `${label(line)} is out of stock` });
  } else if (units < line.quantity) {
    warnings.push({ code: "insufficient_stock", sku: line.sku, message: `Only ${units} of ${label(line)} available` });
  }
}

function label(line: StoredLine): string {
  return line.skuName ? `${line.productName} (${line.skuName})` : line.productName || line.sku;
}
