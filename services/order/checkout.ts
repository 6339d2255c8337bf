// Checkout: price the caller's cart from the peers (catalog, promotion, shipping, tax table),
// then either show the price (PreviewCheckout) or record the order and hand it to the saga
// (PlaceOrder). Idempotency: one order per (user, idempotency key), enforced by the database's
// unique constraint; a replay must carry the same request and the same cart (or the cart the
// order already cleared), compared by fingerprint, and gets the first attempt's order.
import { randomUUID } from "node:crypto";
import { remainingMs } from "../../platform/grpc/index.js";
import { Code, ShopError, failedPrecondition, type FieldViolation } from "../../platform/errors.js";
import type { Logger } from "../../platform/logger.js";
import type { CartSnapshot, Carts } from "./cart.js";
import type { Catalog } from "./catalog.js";
import { cartFingerprint, requestFingerprint } from "./fingerprint.js";
import type { Address, StoredOrder } from "./order-model.js";
import { checkSellable, parcelWeightGrams, priceOrder, taxRateBps, type CartItem, type PricedOrder, type TaxRates } from "./pricing.js";
import type { Promotions } from "./promotions.js";
import { isDefinitive, type SagaRunner } from "./saga.js";
import { countPriced } from "./saga-metrics.js";
import type { CrashPoint } from "./saga-plan.js";
import type { ShippingQuotes } from "./shipping-quotes.js";
import type { OrderStore } from "./store.js";

export interface Destination {
  readonly countryCode: string;
  readonly region: string;
  readonly postalCode: string;
}

export interface PreviewInput {
  readonly destination: Destination;
  readonly speed: number;
  readonly couponCodes: readonly string[];
}

export interface Preview {
  readonly priced: PricedOrder;
  readonly rejected: readonly { readonly couponCode: string; readonly message: string }[];
  readonly warnings: readonly string[];
}

export interface PlaceInput {
  readonly idempotencyKey: string;
  readonly shippingAddress: Address;
  readonly billingAddress: Address | undefined;
  readonly speed: number;
  readonly paymentMethodToken: string;
  readonly couponCodes: readonly string[];
  readonly expectedTotal: { readonly amountMinor: bigint; readonly currency: string } | undefined;
}

export interface CheckoutOptions {
  readonly store: OrderStore;
  readonly runner: SagaRunner;
  readonly carts: Carts;
  readonly catalog: Catalog;
  readonly promotions: Promotions;
  readonly shippingQuotes: ShippingQuotes;
  readonly taxRates: TaxRates;
  readonly clock: () => Date;
  readonly owner: string;
  readonly leaseMs: number;
  readonly sagaDeadlineMs: number;
  /** How long PlaceOrder waits for the saga when its caller set no deadline. */
  readonly placeWaitMs: number;
  readonly log: Logger;
  readonly crashPoint?: (point: CrashPoint) => void;
}

export interface Checkout {
  preview(userId: string, input: PreviewInput): Promise<Preview>;
  /** The order, CONFIRMED or (when the saga outlasts the call) PENDING; a failed checkout throws. */
  place(userId: string, input: PlaceInput): Promise<StoredOrder>;
}

/** Leave the caller this much of its deadline to receive the answer. */
const ANSWER_MARGIN_MS = 250;
const POLL_MS = 50;

/** What a failed checkout tells the shopper, by the code of the step that failed. */
export function checkoutError(o: StoredOrder): ShopError {
  const code = o.saga.failureCode === Code.ABORTED || o.saga.failureCode === Code.DEADLINE_EXCEEDED ? Code.ABORTED : Code.FAILED_PRECONDITION;
  return new ShopError(code, `order ${o.id} failed: ${o.reason || "checkout failed"}`);
}

const idempotencyConflict = (description: string) =>
  new ShopError(Code.ALREADY_EXISTS, `idempotency_key: ${description}`, [{ field: "idempotency_key", description }]);

export function createCheckout(opts: CheckoutOptions): Checkout {
  const { store, runner, carts, catalog, promotions, shippingQuotes, clock, log } = opts;
  const crash = opts.crashPoint ?? (() => undefined);

  async function price(userId: string, items: readonly CartItem[], input: PreviewInput, strict: boolean) {
    const skus = await catalog.prices(items.map((i) => i.sku));
    const currency = checkSellable(items, skus);
    const weightGrams = parcelWeightGrams(items, skus);
    const shipping = await shippingQuotes.quote({ ...input.destination, weightGrams, speed: input.speed, currency });
    if (shipping === undefined && strict) {
      throw new ShopError(Code.FAILED_PRECONDITION, `shipping to ${input.destination.countryCode} is not available at this speed`, [
        { field: "shipping_address.country_code", description: "not served at this shipping speed" },
      ]);
    }
    const evaluation = await promotions.evaluate({ userId, items, skus, couponCodes: input.couponCodes, currency, shippingMinor: shipping ?? 0n });
    const priced = priceOrder({ items, skus, currency, promotion: evaluation, shippingMinor: shipping ?? 0n, taxBps: taxRateBps(opts.taxRates, input.destination.countryCode) });
    return { priced, rejected: evaluation.rejected, shippingServed: shipping !== undefined };
  }

  /** The price PlaceOrder charges: only when every coupon applies and it is the total the client expects. */
  async function priceToPlace(userId: string, cart: CartSnapshot, input: PlaceInput): Promise<PricedOrder> {
    const { priced, rejected } = await price(userId, cart.items, { destination: input.shippingAddress, speed: input.speed, couponCodes: input.couponCodes }, true);
    if (rejected.length > 0) {
      const violations: FieldViolation[] = rejected.map((r) => ({
        field: `coupon_codes[${Math.max(0, input.couponCodes.findIndex((c) => c.toUpperCase() === r.couponCode.toUpperCase()))}]`,
        description: r.message || `${r.couponCode} does not apply`,
      }));
      throw new ShopError(Code.FAILED_PRECONDITION, `coupon not applicable: ${violations.map((v) => v.description).join("; ")}`, violations);
    }
    const expected = input.expectedTotal;
    if (expected && (expected.amountMinor !== priced.totals.totalMinor || expected.currency !== priced.currency)) {
      const description = `the order now totals ${priced.totals.totalMinor} ${priced.currency} (minor units), not ${expected.amountMinor} ${expected.currency}`;
      throw new ShopError(Code.FAILED_PRECONDITION, `expected_total: ${description}`, [{ field: "expected_total", description }]);
    }
    return priced;
  }

  const readCart = async (): Promise<CartSnapshot> => carts.callerCart();

  function stockWarnings(cart: CartSnapshot): string[] {
    return cart.items.flatMap((i) => {
      const available = cart.available.get(i.sku);
      if (available === undefined || available >= i.quantity) return [];
      return [available <= 0 ? `${i.sku}: out of stock` : `${i.sku}: only ${available} left`];
    });
  }

  /** A replay must be the same checkout: same request, and the same cart or the one it cleared. */
  function checkReplay(existing: StoredOrder, requestFp: string, cart: CartSnapshot): void {
    if (existing.requestFingerprint !== requestFp) throw idempotencyConflict("already used for a checkout with different details; use a new key");
    const clearedByThisOrder = cart.items.length === 0 && existing.status !== "pending" && existing.status !== "failed";
    if (existing.cartFingerprint !== cartFingerprint(cart.items) && !clearedByThisOrder) {
      throw idempotencyConflict("already used for a checkout of a different cart; use a new key");
    }
  }

  /** Waits for the checkout's outcome while the caller's deadline allows. */
  async function outcome(order: StoredOrder): Promise<StoredOrder> {
    const left = remainingMs();
    const until = Date.now() + Math.max(0, Math.min(Number.isFinite(left) ? left - ANSWER_MARGIN_MS : opts.placeWaitMs, opts.placeWaitMs * 10));
    let o = order;
    while (o.status === "pending" && Date.now() < until) {
      const local = runner.running(o.id);
      const wait = new Promise<void>((r) => setTimeout(r, Math.min(POLL_MS * 4, Math.max(1, until - Date.now()))));
      await (local ? Promise.race([local, wait]) : wait);
      o = (await store.get(o.id)) ?? o;
    }
    if (o.status === "failed") throw checkoutError(o);
    return o;
  }

  return {
    async preview(userId, input) {
      const cart = await readCart();
      if (cart.items.length === 0) throw failedPrecondition("the cart is empty");
      const { priced, rejected, shippingServed } = await price(userId, cart.items, input, false);
      const warnings = stockWarnings(cart);
      if (!shippingServed) warnings.push(`shipping to ${input.destination.countryCode} is not available at this speed`);
      return { priced, rejected, warnings };
    },

    async place(userId, input) {
      const requestFp = requestFingerprint({
        shippingAddress: input.shippingAddress,
        billingAddress: input.billingAddress,
        shippingSpeed: input.speed,
        paymentMethodToken: input.paymentMethodToken,
        couponCodes: input.couponCodes,
        expectedTotal: input.expectedTotal,
      });
      const cart = await readCart();
      const existing = await store.byKey(userId, input.idempotencyKey);
      if (existing) {
        checkReplay(existing, requestFp, cart);
        return outcome(existing);
      }
      if (cart.items.length === 0) throw failedPrecondition("the cart is empty");

      let priced: PricedOrder;
      try {
        priced = await priceToPlace(userId, cart, input);
      } catch (err) {
        if (isDefinitive(err)) countPriced(false);
        throw err;
      }

      const now = clock();
      const { order, created } = await store.insert(
        {
          id: randomUUID(),
          userId,
          idempotencyKey: input.idempotencyKey,
          requestFingerprint: requestFp,
          cartFingerprint: cartFingerprint(cart.items),
          currency: priced.currency,
          lines: priced.lines,
          totals: priced.totals,
          discounts: priced.discounts,
          couponCodes: input.couponCodes.map((c) => c.toUpperCase()),
          shippingAddress: input.shippingAddress,
          billingAddress: input.billingAddress ?? input.shippingAddress,
          shippingSpeed: input.speed,
          paymentMethodToken: input.paymentMethodToken,
          createdAt: now,
          sagaDeadline: new Date(now.getTime() + opts.sagaDeadlineMs),
        },
        opts.owner,
        opts.leaseMs,
      );
      if (!created) {
        // A concurrent call with the same key got there first.
        checkReplay(order, requestFp, cart);
        return outcome(order);
      }
      countPriced(true);
      log.info("order recorded", { order_id: order.id, total_minor: order.totals.totalMinor.toString(), currency: order.currency });
      crash("order_created");
      void runner.drive(order.id);
      return outcome(order);
    },
  };
}
