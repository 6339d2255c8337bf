// The cart operations, between the thin gRPC handlers (service.ts) and the store: who owns
// which cart, the rules (cart-rules.ts) applied under the cart's row lock, and the priced view
// (cart-view.ts) built from the catalog and inventory after every change.
import { failedPrecondition, notFound } from "../../platform/errors.js";
import type { Logger } from "../../platform/logger.js";
import type { Availability } from "./availability.js";
import type { Catalog, SkuLookup } from "./catalog.js";
import { newCartToken, ownerKey, type CartOwner } from "./cart-owner.js";
import { checkSetQuantity, planMerge, quantityAfterAdd, type CartLimits, type LineQuantity } from "./cart-rules.js";
import { buildCartView, EMPTY_CART, type CartView, type StoredCart, type StoredLine } from "./cart-view.js";
import { CartCleared_Reason, type CartStore, type CartTx, type LockedCart } from "./store.js";

export interface CartTtls {
  readonly guestMs: number;
  readonly userMs: number;
}

export interface CartsDeps {
  readonly store: CartStore;
  readonly catalog: Catalog;
  readonly availability: Availability;
  readonly clock: () => Date;
  readonly limits: CartLimits;
  readonly ttl: CartTtls;
  readonly log: Logger;
}

/** A cart as an RPC returns it. */
export interface CartResult {
  readonly view: CartView;
  /** The guest cart's token, for the client to keep; undefined for user carts and dead tokens. */
  readonly token: string | undefined;
}

export interface Carts {
  get(owner: CartOwner | undefined): Promise<CartResult>;
  /** Creates the cart if needed: for a guest without a live cart, under a new token. */
  addItem(owner: CartOwner | undefined, sku: string, quantity: number): Promise<CartResult>;
  /** 0 removes the line. NOT_FOUND if the cart has no such line. */
  updateQuantity(owner: CartOwner | undefined, sku: string, quantity: number): Promise<CartResult>;
  /** Idempotent: removing an absent line succeeds. */
  removeItem(owner: CartOwner | undefined, sku: string): Promise<CartResult>;
  clear(owner: CartOwner | undefined): Promise<CartResult>;
  /** Idempotent: a token that no longer names a live guest cart changes nothing. */
  merge(userId: string, guestToken: string): Promise<CartResult>;
}

const quantities = (lines: readonly StoredLine[]): LineQuantity[] =>
  lines.map((l) => ({ sku: l.sku, quantity: l.quantity, currency: l.addedPrice.currency }));

export function createCarts(deps: CartsDeps): Carts {
  const { store, catalog, availability, clock, limits, log } = deps;
  const expiry = (owner: CartOwner | undefined, now: Date) =>
    new Date(now.getTime() + (owner?.kind === "user" ? deps.ttl.userMs : deps.ttl.guestMs));
  const tokenOf = (owner: CartOwner | undefined) => (owner?.kind === "guest" ? owner.token : undefined);

  /** The view of the cart stored under `key` now; the token is echoed only if the cart is live. */
  async function present(key: string | undefined, token: string | undefined): Promise<CartResult> {
    const cart = key === undefined ? undefined : await store.read(key, clock());
    if (!cart) return { view: EMPTY_CART, token: undefined };
    return { view: await price(cart), token };
  }

  async function price(cart: StoredCart): Promise<CartView> {
    if (cart.lines.length === 0) return buildCartView(cart, { found: new Map(), missing: new Set() }, new Map());
    const codes = cart.lines.map((l) => l.sku);
    // Both peers at once; either failing degrades the view instead of failing the call.
    const [skus, stock] = await Promise.all([
      catalog.getSkus(codes).catch((err: unknown): SkuLookup | undefined => {
        log.warn("catalog unavailable: cart shown without current prices", { err });
        return undefined;
      }),
      availability.unitsAvailable(codes).catch((err: unknown): ReadonlyMap<string, number> | undefined => {
        log.warn("inventory unavailable: cart shown without availability", { err });
        return undefined;
      }),
    ]);
    return buildCartView(cart, skus, stock);
  }

  /**
   * Runs `fn` on the owner's live cart under its lock and renews the cart's expiry if `fn` says
   * it changed something. Without a live cart, `missing` decides (it may throw).
   */
  async function change(
    owner: CartOwner | undefined,
    fn: (tx: CartTx, cart: LockedCart) => Promise<boolean>,
    missing: () => void = () => undefined,
  ): Promise<CartResult> {
    if (!owner) {
      missing();
      return present(undefined, undefined);
    }
    const key = ownerKey(owner);
    await store.transact(async (tx) => {
      const now = clock();
      const cart = await tx.lock(key, now);
      if (!cart) missing();
      else if (await fn(tx, cart)) await tx.touch(key, now, expiry(owner, now));
    });
    return present(key, tokenOf(owner));
  }

  return {
    get: (owner) => present(owner && ownerKey(owner), tokenOf(owner)),

    async addItem(owner, sku, quantity) {
      // Outside the transaction: no row lock is held while the catalog answers. A catalog that
      // cannot be asked fails the call: nothing enters a cart unpriced.
      const info = (await catalog.getSkus([sku])).found.get(sku);
      if (!info) throw notFound("sku", sku);
      const price = info.price;
      if (!info.purchasable || !price) throw failedPrecondition(`sku ${sku} cannot be bought right now`);
      const written = await store.transact(async (tx) => {
        const now = clock();
        let token = tokenOf(owner);
        let cart: LockedCart | undefined;
        if (owner?.kind === "user") {
          cart = await tx.lockOrCreate(ownerKey(owner), owner.userId, now, expiry(owner, now));
        } else {
          cart = owner ? await tx.lock(ownerKey(owner), now) : undefined;
          // No live cart behind the token (none yet, expired, merged): a new cart, new token.
          if (!cart) {
            token = newCartToken();
            cart = await tx.lockOrCreate(ownerKey({ kind: "guest", token }), undefined, now, expiry(owner, now));
          }
        }
        const total = quantityAfterAdd(quantities(cart.lines), { sku, quantity, currency: price.currency }, limits);
        await tx.putLine(
          cart.key,
          { sku, quantity: total, productId: info.productId, productName: info.productName, skuName: info.skuName, imageUrl: info.imageUrl, addedPrice: price },
          now,
        );
        await tx.touch(cart.key, now, expiry(owner, now));
        return { key: cart.key, token };
      });
      return present(written.key, written.token);
    },

    async updateQuantity(owner, sku, quantity) {
      checkSetQuantity(quantity, limits);
      // Setting an absent line to 0 is already true; any other quantity needs the line.
      const absent = () => {
        if (quantity > 0) throw notFound("cart item", sku);
      };
      return change(
        owner,
        async (tx, cart) => {
          const line = cart.lines.find((l) => l.sku === sku);
          if (!line) {
            absent();
            return false;
          }
          if (quantity === 0) return tx.removeLine(cart.key, sku);
          if (quantity === line.quantity) return false;
          await tx.setQuantity(cart.key, sku, quantity);
          return true;
        },
        absent,
      );
    },

    removeItem: (owner, sku) => change(owner, (tx, cart) => tx.removeLine(cart.key, sku)),

    clear: (owner) =>
      change(owner, async (tx, cart) => (await tx.clear(cart.key, { reason: CartCleared_Reason.USER_REQUEST })) > 0),

    async merge(userId, guestToken) {
      const user: CartOwner = { kind: "user", userId };
      const userKey = ownerKey(user);
      const guestKey = ownerKey({ kind: "guest", token: guestToken });
      await store.transact(async (tx) => {
        const now = clock();
        // Always the guest cart's lock first, then the user's: the one order every merge takes.
        const guest = await tx.lock(guestKey, now);
        if (!guest) return; // merged before, expired, or never existed: nothing to do
        const mine = await tx.lockOrCreate(userKey, userId, now, expiry(user, now));
        const plan = planMerge(quantities(mine.lines), quantities(guest.lines), limits);
        for (const u of plan.updated) await tx.setQuantity(userKey, u.sku, u.quantity);
        for (const a of plan.added) await tx.moveLine(guestKey, userKey, a.sku, a.quantity);
        await tx.deleteCart(guestKey);
        await tx.touch(userKey, now, expiry(user, now));
        await tx.cartMerged(guest.id, mine);
        if (plan.dropped.length > 0) {
          log.info("guest cart lines left out of the merge", { cartId: mine.id, dropped: plan.dropped });
        }
      });
      return present(userKey, undefined);
    },
  };
}
