// The cart service on a real port and real PostgreSQL, with real gRPC test doubles of the
// catalog, inventory and users (JWKS) services: guest and user carts, ownership, limits,
// currency, pricing from the catalog, merge at sign-in, and the events it emits.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { CartWarning_Code, type Cart } from "../../../gen/shop/cart/v1/cart_pb.js";
import { CartClearedSchema, CartCleared_Reason, CartMergedSchema } from "../../../gen/shop/cart/v1/events_pb.js";
import type { Db } from "../../../platform/db/db.js";
import { Code } from "../../../platform/errors.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { hashCartToken } from "../cart-owner.js";
import {
  as,
  cartDb,
  outboxRows,
  outboxMark,
  rejectionOf,
  startCart,
  startCatalogDouble,
  startInventoryDouble,
  startUsersDouble,
  uniqueSku,
  type CartClient,
  type CartPeers,
  type CatalogDouble,
  type InventoryDouble,
  type RunningCart,
  type UsersDouble,
} from "./helpers.js";

const MAX_LINES = 4;
const MAX_QUANTITY = 20;

describe("cart service (real PostgreSQL, catalog/inventory/users test doubles)", () => {
  let tdb: TestDatabase;
  let catalog: CatalogDouble;
  let inventory: InventoryDouble;
  let users: UsersDouble;
  let peers: CartPeers;
  let cart: RunningCart;
  let client: CartClient;
  let db: Db;

  before(async () => {
    tdb = await createTestDatabase("cart");
    [catalog, inventory, users] = await Promise.all([startCatalogDouble(), startInventoryDouble(), startUsersDouble()]);
    peers = { databaseUrl: tdb.url, catalog: catalog.address, inventory: inventory.address, users: users.address };
    cart = await startCart(peers, { CART_MAX_LINES: String(MAX_LINES), CART_MAX_LINE_QUANTITY: String(MAX_QUANTITY) });
    client = cart.client;
    db = cartDb(tdb.url);
  });

  after(async () => {
    await cart?.stop();
    await db?.close();
    await Promise.all([catalog?.stop(), inventory?.stop(), users?.stop()]);
    await tdb?.drop();
  });

  /** A SKU the catalog sells at `priceMinor` with `stock` units available. */
  function sku(priceMinor: bigint, opts: { currency?: string; stock?: number; purchasable?: boolean } = {}): string {
    const code = uniqueSku();
    catalog.put({ code, priceMinor, productName: `Shirt ${code}`, name: "Blue / M", ...opts });
    inventory.stock.set(code, opts.stock ?? 100);
    return code;
  }

  const newUser = async () => {
    const id = randomUUID();
    return { id, call: as(await users.tokenFor(id)) };
  };

  const lineOf = (c: Cart | undefined, code: string) => c?.lines.find((l) => l.sku === code);

  describe("guest carts", () => {
    it("creates a guest cart on the first AddItem, priced from the catalog, with a token only its hash is stored of", async () => {
      const shirt = sku(1999n, { stock: 7 });
      const added = (await client.addItem({ sku: shirt, quantity: 2 })).cart!;
      assert.match(added.cartToken, /^ct_/);
      assert.equal(added.userId, "");
      const line = lineOf(added, shirt)!;
      assert.equal(line.productName, `Shirt ${shirt}`);
      assert.equal(line.skuName, "Blue / M");
      assert.deepEqual([line.unitPrice?.amountMinor, line.lineTotal?.amountMinor, line.unitPrice?.currencyCode], [1999n, 3998n, "USD"]);
      assert.deepEqual([line.availability?.inStock, line.availability?.quantityAvailable], [true, 7]);
      assert.deepEqual([added.subtotal?.amountMinor, added.totalQuantity], [3998n, 2]);
      assert.ok(added.expireTime && added.updateTime);

      const read = (await client.getCart({ cartToken: added.cartToken })).cart!;
      assert.equal(read.id, added.id);
      assert.equal(read.cartToken, added.cartToken);
      assert.equal(lineOf(read, shirt)?.quantity, 2);

      const { rows } = await db.query<{ owner_key: string }>("SELECT owner_key FROM carts WHERE id = $1", [added.id]);
      assert.deepEqual(rows, [{ owner_key: `g:${hashCartToken(added.cartToken)}` }]);
      const dump = JSON.stringify((await db.query("SELECT * FROM carts")).rows);
      assert.ok(!dump.includes(added.cartToken.slice(3)), "the raw token is stored nowhere");
    });

    it("adds to the same line, keeps lines in the order first added, and updates and removes lines", async () => {
      const [a, b, c] = [sku(100n), sku(200n), sku(300n)];
      const token = (await client.addItem({ sku: a, quantity: 1 })).cart!.cartToken;
      await client.addItem({ cartToken: token, sku: b, quantity: 1 });
      await client.addItem({ cartToken: token, sku: c, quantity: 1 });
      let view = (await client.addItem({ cartToken: token, sku: a, quantity: 2 })).cart!;
      assert.deepEqual(view.lines.map((l) => [l.sku, l.quantity]), [[a, 3], [b, 1], [c, 1]]);

      view = (await client.updateItemQuantity({ cartToken: token, sku: b, quantity: 5 })).cart!;
      assert.equal(lineOf(view, b)?.quantity, 5);
      view = (await client.updateItemQuantity({ cartToken: token, sku: b, quantity: 0 })).cart!;
      assert.equal(lineOf(view, b), undefined);
      view = (await client.removeItem({ cartToken: token, sku: a })).cart!;
      assert.deepEqual(view.lines.map((l) => l.sku), [c]);
      // Idempotent: removing again, or setting an absent line to 0, is fine.
      await client.removeItem({ cartToken: token, sku: a });
      await client.updateItemQuantity({ cartToken: token, sku: a, quantity: 0 });
      assert.equal((await rejectionOf(client.updateItemQuantity({ cartToken: token, sku: a, quantity: 2 }))).code, Code.NOT_FOUND);
      assert.deepEqual([view.subtotal?.amountMinor, view.totalQuantity], [300n, 1]);
    });

    it("answers an empty cart, not NOT_FOUND, for a guest without a cart or with an unknown token", async () => {
      for (const cartToken of ["", "ct_not-a-real-token"]) {
        const view = (await client.getCart({ cartToken })).cart!;
        assert.deepEqual([view.id, view.cartToken, view.lines.length, view.subtotal], ["", "", 0, undefined]);
      }
      assert.equal((await rejectionOf(client.updateItemQuantity({ cartToken: "ct_unknown", sku: "X", quantity: 1 }))).code, Code.NOT_FOUND);
    });

    it("starts a new cart under a new token when AddItem comes with a token that names no cart", async () => {
      const view = (await client.addItem({ cartToken: "ct_unknown-token", sku: sku(100n), quantity: 1 })).cart!;
      assert.match(view.cartToken, /^ct_/);
      assert.notEqual(view.cartToken, "ct_unknown-token");
    });
  });

  describe("ownership", () => {
    it("a signed-in caller works on their own cart; another user and another token see nothing of it", async () => {
      const alice = await newUser();
      const bob = await newUser();
      const shirt = sku(500n);
      const mine = (await client.addItem({ sku: shirt, quantity: 1 }, alice.call)).cart!;
      assert.equal(mine.userId, alice.id);
      assert.equal(mine.cartToken, "");
      assert.equal(lineOf((await client.getCart({}, alice.call)).cart, shirt)?.quantity, 1);

      const bobs = (await client.getCart({}, bob.call)).cart!;
      assert.equal(bobs.lines.length, 0);
      // Bob cannot reach Alice's cart by any request field, nor change it.
      await client.clearCart({}, bob.call);
      assert.equal((await rejectionOf(client.updateItemQuantity({ sku: shirt, quantity: 3 }, bob.call))).code, Code.NOT_FOUND);
      assert.equal(lineOf((await client.getCart({}, alice.call)).cart, shirt)?.quantity, 1);
      // Anonymous requests never reach a user's cart.
      assert.equal((await client.getCart({})).cart!.lines.length, 0);
    });

    it("a signed-in caller's request uses the user's cart even when it carries a guest token", async () => {
      const guest = (await client.addItem({ sku: sku(100n), quantity: 1 })).cart!;
      const carol = await newUser();
      const view = (await client.getCart({ cartToken: guest.cartToken }, carol.call)).cart!;
      assert.equal(view.lines.length, 0);
      assert.equal(view.cartToken, "");
      assert.equal((await client.getCart({ cartToken: guest.cartToken })).cart!.lines.length, 1, "the guest cart is untouched");
    });

    it("rejects a forged or malformed access token instead of treating the caller as a guest", async () => {
      // Flip a character inside the signature: the last base64url character of a 64-byte
      // signature carries padding bits, so changing it may leave the bytes (and the token) valid.
      const token = await users.tokenFor(randomUUID());
      const at = token.lastIndexOf(".") + 10;
      const forged = token.slice(0, at) + (token[at] === "A" ? "B" : "A") + token.slice(at + 1);
      assert.equal((await rejectionOf(client.getCart({}, as(forged)))).code, Code.UNAUTHENTICATED);
      assert.equal((await rejectionOf(client.getCart({}, { metadata: { authorization: "Basic abc" } }))).code, Code.UNAUTHENTICATED);
    });
  });

  describe("merging a guest cart at sign-in", () => {
    it("adds the guest cart's lines to the user's, deletes the guest cart, emits CartMerged, and is idempotent", async () => {
      const [shared, onlyGuest, onlyUser] = [sku(1000n), sku(250n), sku(50n)];
      const dave = await newUser();
      await client.addItem({ sku: onlyUser, quantity: 1 }, dave.call);
      await client.addItem({ sku: shared, quantity: 2 }, dave.call);
      const guest = (await client.addItem({ sku: shared, quantity: 3 })).cart!;
      await client.addItem({ cartToken: guest.cartToken, sku: onlyGuest, quantity: 4 });
      const mark = await outboxMark(db);

      const merged = (await client.mergeGuestCart({ cartToken: guest.cartToken }, dave.call)).cart!;
      assert.equal(merged.userId, dave.id);
      assert.deepEqual(merged.lines.map((l) => [l.sku, l.quantity]), [[onlyUser, 1], [shared, 5], [onlyGuest, 4]]);
      assert.equal(merged.subtotal?.amountMinor, 50n + 5000n + 1000n);

      const events = await outboxRows(db, mark);
      assert.deepEqual(events.map((e) => e.type), ["shop.cart.v1.CartMerged"]);
      const event = fromBinary(CartMergedSchema, events[0]!.payload);
      assert.deepEqual([event.guestCartId, event.cartId, event.userId], [guest.id, merged.id, dave.id]);

      // The merged token stops working: it reads as no cart and reaches nothing.
      const stale = (await client.getCart({ cartToken: guest.cartToken })).cart!;
      assert.deepEqual([stale.lines.length, stale.cartToken], [0, ""]);
      const again = (await client.mergeGuestCart({ cartToken: guest.cartToken }, dave.call)).cart!;
      assert.deepEqual(again.lines.map((l) => [l.sku, l.quantity]), merged.lines.map((l) => [l.sku, l.quantity]));
      assert.equal((await outboxRows(db, mark)).length, 1, "a repeated merge emits nothing");
    });

    it("caps summed quantities at the line limit", async () => {
      const shirt = sku(100n);
      const erin = await newUser();
      await client.addItem({ sku: shirt, quantity: 15 }, erin.call);
      const guest = (await client.addItem({ sku: shirt, quantity: 10 })).cart!;
      const merged = (await client.mergeGuestCart({ cartToken: guest.cartToken }, erin.call)).cart!;
      assert.equal(lineOf(merged, shirt)?.quantity, MAX_QUANTITY);
    });

    it("another user merging an already merged token gets nothing of it", async () => {
      const shirt = sku(100n);
      const [frank, grace] = [await newUser(), await newUser()];
      const guest = (await client.addItem({ sku: shirt, quantity: 1 })).cart!;
      await client.mergeGuestCart({ cartToken: guest.cartToken }, frank.call);
      const graces = (await client.mergeGuestCart({ cartToken: guest.cartToken }, grace.call)).cart!;
      assert.equal(graces.lines.length, 0);
    });

    it("requires a signed-in caller", async () => {
      const guest = (await client.addItem({ sku: sku(100n), quantity: 1 })).cart!;
      assert.equal((await rejectionOf(client.mergeGuestCart({ cartToken: guest.cartToken }))).code, Code.UNAUTHENTICATED);
      assert.equal((await client.getCart({ cartToken: guest.cartToken })).cart!.lines.length, 1);
    });
  });

  describe("limits and sellability", () => {
    it("refuses more units of one item than the line limit, and a quantity set above it", async () => {
      const shirt = sku(100n);
      const token = (await client.addItem({ sku: shirt, quantity: 15 })).cart!.cartToken;
      const err = await rejectionOf(client.addItem({ cartToken: token, sku: shirt, quantity: 6 }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /at most 20/);
      const set = await rejectionOf(client.updateItemQuantity({ cartToken: token, sku: shirt, quantity: 21 }));
      assert.equal(set.code, Code.INVALID_ARGUMENT);
      assert.equal(set.violations[0]?.field, "quantity");
      assert.equal(lineOf((await client.getCart({ cartToken: token })).cart, shirt)?.quantity, 15);
      // The contract's own bound (1..99) is checked by the platform before the handler.
      assert.equal((await rejectionOf(client.addItem({ cartToken: token, sku: shirt, quantity: 0 }))).code, Code.INVALID_ARGUMENT);
    });

    it("refuses a new line beyond the distinct-item limit", async () => {
      const codes = Array.from({ length: MAX_LINES + 1 }, () => sku(100n));
      const token = (await client.addItem({ sku: codes[0]!, quantity: 1 })).cart!.cartToken;
      for (const code of codes.slice(1, MAX_LINES)) await client.addItem({ cartToken: token, sku: code, quantity: 1 });
      const err = await rejectionOf(client.addItem({ cartToken: token, sku: codes[MAX_LINES]!, quantity: 1 }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.equal((await client.getCart({ cartToken: token })).cart!.lines.length, MAX_LINES);
    });

    it("keeps one currency per cart", async () => {
      const token = (await client.addItem({ sku: sku(100n), quantity: 1 })).cart!.cartToken;
      const err = await rejectionOf(client.addItem({ cartToken: token, sku: sku(90n, { currency: "EUR" }), quantity: 1 }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /one currency/);
    });

    it("refuses an unknown SKU as NOT_FOUND and an unsellable one as FAILED_PRECONDITION, creating no cart", async () => {
      const before = Number((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM carts")).rows[0]!.n);
      assert.equal((await rejectionOf(client.addItem({ sku: uniqueSku("NOPE"), quantity: 1 }))).code, Code.NOT_FOUND);
      assert.equal((await rejectionOf(client.addItem({ sku: sku(100n, { purchasable: false }), quantity: 1 }))).code, Code.FAILED_PRECONDITION);
      const after = Number((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM carts")).rows[0]!.n);
      assert.equal(after, before);
    });
  });

  describe("pricing and availability at read time", () => {
    it("shows the catalog's new price on the next GetCart, with a price-changed warning", async () => {
      const shirt = sku(1999n);
      const token = (await client.addItem({ sku: shirt, quantity: 2 })).cart!.cartToken;
      catalog.put({ code: shirt, priceMinor: 1799n, productName: `Shirt ${shirt}`, name: "Blue / M" });
      const view = (await client.getCart({ cartToken: token })).cart!;
      assert.deepEqual([lineOf(view, shirt)?.unitPrice?.amountMinor, view.subtotal?.amountMinor], [1799n, 3598n]);
      assert.deepEqual(view.warnings.map((w) => [w.code, w.sku]), [[CartWarning_Code.PRICE_CHANGED, shirt]]);
      assert.match(view.warnings[0]!.message, /USD 19\.99 to USD 17\.99/);
    });

    it("keeps a line whose SKU the catalog dropped or stopped selling, with a warning, out of the subtotal", async () => {
      const [gone, paused, fine] = [sku(100n), sku(200n), sku(300n)];
      const token = (await client.addItem({ sku: gone, quantity: 1 })).cart!.cartToken;
      await client.addItem({ cartToken: token, sku: paused, quantity: 1 });
      await client.addItem({ cartToken: token, sku: fine, quantity: 1 });
      catalog.remove(gone);
      catalog.put({ code: paused, priceMinor: 200n, purchasable: false });
      const view = (await client.getCart({ cartToken: token })).cart!;
      assert.deepEqual(view.lines.map((l) => l.sku), [gone, paused, fine]);
      assert.equal(lineOf(view, gone)?.productName, `Shirt ${gone}`, "shown from the snapshot taken when added");
      assert.deepEqual(view.warnings.map((w) => [w.code, w.sku]), [[CartWarning_Code.UNAVAILABLE, gone], [CartWarning_Code.UNAVAILABLE, paused]]);
      assert.equal(view.subtotal?.amountMinor, 300n);
    });

    it("shows short and missing stock as warnings, not errors", async () => {
      const [short, none] = [sku(100n, { stock: 2 }), sku(100n, { stock: 0 })];
      const token = (await client.addItem({ sku: short, quantity: 3 })).cart!.cartToken;
      const view = (await client.addItem({ cartToken: token, sku: none, quantity: 1 })).cart!;
      assert.deepEqual(lineOf(view, short)?.availability, { $typeName: "shop.cart.v1.Availability", inStock: false, quantityAvailable: 2 });
      assert.deepEqual(view.warnings.map((w) => [w.code, w.sku]), [[CartWarning_Code.INSUFFICIENT_STOCK, short], [CartWarning_Code.OUT_OF_STOCK, none]]);
    });
  });

  describe("clearing", () => {
    it("empties the cart, keeps the guest's token working, and emits CartCleared once", async () => {
      const token = (await client.addItem({ sku: sku(100n), quantity: 2 })).cart!.cartToken;
      const mark = await outboxMark(db);
      const cleared = (await client.clearCart({ cartToken: token })).cart!;
      assert.deepEqual([cleared.lines.length, cleared.cartToken], [0, token]);
      await client.clearCart({ cartToken: token });
      const events = await outboxRows(db, mark);
      assert.deepEqual(events.map((e) => e.type), ["shop.cart.v1.CartCleared"]);
      const event = fromBinary(CartClearedSchema, events[0]!.payload);
      assert.deepEqual([event.cartId, event.userId, event.reason], [cleared.id, "", CartCleared_Reason.USER_REQUEST]);
      const again = (await client.addItem({ cartToken: token, sku: sku(100n), quantity: 1 })).cart!;
      assert.deepEqual([again.cartToken, again.id], [token, cleared.id]);
    });

    it("renews the expiry time on every change", async () => {
      const first = (await client.addItem({ sku: sku(100n), quantity: 1 })).cart!;
      await new Promise((r) => setTimeout(r, 5));
      const second = (await client.updateItemQuantity({ cartToken: first.cartToken, sku: first.lines[0]!.sku, quantity: 2 })).cart!;
      assert.ok(timestampDate(second.expireTime!) > timestampDate(first.expireTime!));
      const day = 24 * 3_600_000;
      const ttl = timestampDate(second.expireTime!).getTime() - timestampDate(second.updateTime!).getTime();
      assert.equal(ttl, 30 * day, "guest carts live CART_GUEST_TTL (30 days by default)");
    });
  });
});
