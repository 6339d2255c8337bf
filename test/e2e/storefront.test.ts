// The storefront end to end: every service and the gateway in its own process on real
// PostgreSQL and RabbitMQ, driven through the JSON API as a client would.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ADMIN_EMAIL, startShopProcesses, type ShopProcesses } from "./shop-processes.js";
import { CART, CATALOG, PASSWORD, USERS, craftToken, productInput, register, signingKeyOf, type Account, type SigningKey } from "./shoppers.js";

describe("storefront end to end (every service its own process, real PostgreSQL and RabbitMQ)", function () {
  this.timeout(150_000);
  let shop: ShopProcesses;
  let admin: Account;
  let shirtSku: string;
  let mugSku: string;

  before(async () => {
    shop = await startShopProcesses();
    admin = await register(shop, ADMIN_EMAIL);
    const suffix = randomUUID().slice(0, 8).toUpperCase();
    shirtSku = `SHIRT-${suffix}`;
    mugSku = `MUG-${suffix}`;
    for (const [name, sku, price] of [
      ["Blue linen shirt", shirtSku, 4990],
      ["Stoneware coffee mug", mugSku, 1500],
    ] as const) {
      const res = await shop.api(`${CATALOG}/CreateProduct`, productInput(name, sku, price), { token: admin.accessToken });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
  });

  after(async () => {
    await shop?.stop();
  });

  it("registers, signs in, refreshes and reads the profile", async () => {
    const email = `Mixed.Case.${randomUUID()}@Shop.Test`;
    const account = await register(shop, email);
    const login = await shop.api(`${USERS}/Login`, { email: email.toUpperCase(), password: PASSWORD });
    assert.equal(login.status, 200, JSON.stringify(login.body));
    const refreshed = await shop.api(`${USERS}/RefreshToken`, { refreshToken: account.refreshToken });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const token = (refreshed.body["tokens"] as { accessToken: string }).accessToken;
    const profile = await shop.api(`${USERS}/GetProfile`, {}, { token });
    assert.equal((profile.body["user"] as { email: string }).email, email.toLowerCase());
    const wrong = await shop.api(`${USERS}/Login`, { email, password: "not the password at all" });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.code, "unauthenticated");
  });

  it("browses and searches the catalog anonymously, with typos forgiven", async () => {
    const list = await shop.api(`${CATALOG}/ListProducts`, { pageSize: 50 });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const names = (list.body["products"] as { name: string }[]).map((p) => p.name);
    assert.ok(names.includes("Blue linen shirt"), names.join(", "));
    const search = await shop.api(`${CATALOG}/SearchProducts`, { query: "linen shrit", pageSize: 5 });
    assert.equal(search.status, 200, JSON.stringify(search.body));
    assert.equal((search.body["products"] as { name: string }[])[0]?.name, "Blue linen shirt");
  });

  it("serves read-only methods over GET with an ETag, and answers a matching If-None-Match with 304", async () => {
    const message = encodeURIComponent(JSON.stringify({ pageSize: 5 }));
    const url = `${shop.url}/${CATALOG}/ListProducts?encoding=json&message=${message}`;
    const first = await fetch(url);
    assert.equal(first.status, 200);
    const etag = first.headers.get("etag");
    assert.ok(etag);
    assert.match(first.headers.get("cache-control") ?? "", /^public, max-age=\d+$/);
    const again = await fetch(url, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    // A signed-in caller's answers are private.
    const mine = await fetch(url, { headers: { authorization: `Bearer ${admin.accessToken}` } });
    assert.equal(mine.headers.get("cache-control"), "private, no-store");
  });

  it("fills a cart as a guest, then merges it into the user's cart at sign-in", async () => {
    const added = await shop.api(`${CART}/AddItem`, { sku: shirtSku, quantity: 2 });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const guestCart = added.body["cart"] as { cartToken: string; lines: { sku: string; quantity: number }[] };
    assert.ok(guestCart.cartToken);
    const more = await shop.api(`${CART}/AddItem`, { cartToken: guestCart.cartToken, sku: mugSku, quantity: 1 });
    assert.equal((more.body["cart"] as { lines: unknown[] }).lines.length, 2);

    const user = await register(shop);
    await shop.api(`${CART}/AddItem`, { sku: mugSku, quantity: 1 }, { token: user.accessToken });
    const merged = await shop.api(`${CART}/MergeGuestCart`, { cartToken: guestCart.cartToken }, { token: user.accessToken });
    assert.equal(merged.status, 200, JSON.stringify(merged.body));
    const cart = (await shop.api(`${CART}/GetCart`, {}, { token: user.accessToken })).body["cart"] as {
      lines: { sku: string; quantity: number; unitPrice: { amountMinor: string } }[];
      subtotal: { amountMinor: string; currencyCode: string };
    };
    const bySku = Object.fromEntries(cart.lines.map((l) => [l.sku, l.quantity]));
    assert.deepEqual(bySku, { [shirtSku]: 2, [mugSku]: 2 });
    assert.deepEqual(cart.subtotal, { amountMinor: String(2 * 4990 + 2 * 1500), currencyCode: "EUR" });
    // The guest cart is gone once merged: its token no longer shows the lines.
    const stale = await shop.api(`${CART}/GetCart`, { cartToken: guestCart.cartToken });
    assert.equal(((stale.body["cart"] as { lines?: unknown[] } | undefined)?.lines ?? []).length, 0);
  });

  describe("security at the edge and behind it", () => {
    let signingKey: SigningKey;

    before(async () => {
      // The users service's real private key, read from its own schema: lets the test craft
      // tokens that are validly signed but wrong in one claim, which no outsider could.
      signingKey = await signingKeyOf(shop);
    });

    const craft = (claims: Parameters<typeof craftToken>[1]) => craftToken(signingKey, claims);

    const profile = (token: string) => shop.api(`${USERS}/GetProfile`, {}, { token });

    it("accepts a well-formed token signed by the users service (the control for the cases below)", async () => {
      const user = await register(shop);
      const token = await craft({ sub: user.userId });
      assert.equal((await profile(token)).status, 200);
    });

    it("rejects expired, wrong-audience, wrong-issuer, alg=none and forged tokens with 401", async () => {
      const user = await register(shop);
      const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", kid: signingKey.kid })).toString("base64url")}.${Buffer.from(
        JSON.stringify({ sub: user.userId, aud: "shop", iss: "shop-users", exp: Math.floor(Date.now() / 1000) + 600, roles: ["admin"] }),
      ).toString("base64url")}.`;
      const [, payload] = user.accessToken.split(".");
      const forged = `${user.accessToken.split(".")[0]}.${Buffer.from(
        JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), roles: ["admin"] }),
      ).toString("base64url")}.${user.accessToken.split(".")[2]}`;
      const cases: Record<string, string> = {
        expired: await craft({ sub: user.userId, exp: Math.floor(Date.now() / 1000) - 120 }),
        "wrong audience": await craft({ sub: user.userId, aud: "another-shop" }),
        "wrong issuer": await craft({ sub: user.userId, iss: "someone-else" }),
        "alg none": unsigned,
        "payload changed after signing": forged,
        garbage: "not-a-jwt",
      };
      for (const [name, token] of Object.entries(cases)) {
        const res = await profile(token);
        assert.equal(res.status, 401, `${name}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.code, "unauthenticated", name);
      }
      const listed = await shop.api(`${USERS}/ListUsers`, {}, { token: forged });
      assert.equal(listed.status, 401);
    });

    it("refuses admin methods to a customer (403) and to an anonymous caller (401)", async () => {
      const user = await register(shop);
      const create = productInput("Sneaky product", `SNEAK-${randomUUID().slice(0, 6)}`, 1);
      const denied = await shop.api(`${CATALOG}/CreateProduct`, create, { token: user.accessToken });
      assert.equal(denied.status, 403);
      assert.equal(denied.body.code, "permission_denied");
      assert.equal((await shop.api(`${CATALOG}/CreateProduct`, create)).status, 401);
      assert.equal((await shop.api(`${USERS}/ListUsers`, {}, { token: user.accessToken })).status, 403);
      assert.equal((await shop.api(`${USERS}/ListUsers`, {}, { token: admin.accessToken })).status, 200);
    });

    it("does not route INTERNAL methods at all", async () => {
      const res = await shop.api(`${CATALOG}/BatchGetSkus`, { skus: [shirtSku] }, { token: admin.accessToken });
      assert.equal(res.status, 404);
      assert.equal(res.body.code, "not_found");
    });

    it("keeps each user's cart and profile their own", async () => {
      const alice = await register(shop);
      const bob = await register(shop);
      await shop.api(`${CART}/AddItem`, { sku: shirtSku, quantity: 1 }, { token: alice.accessToken });
      const bobsView = (await shop.api(`${CART}/GetCart`, {}, { token: bob.accessToken })).body["cart"] as { lines?: unknown[] };
      assert.equal((bobsView.lines ?? []).length, 0);
      assert.equal(((await profile(bob.accessToken)).body["user"] as { id: string }).id, bob.userId);
      // Bob cannot pull Alice's cart by naming her cart's id or token as if it were a guest cart.
      const alicesCart = (await shop.api(`${CART}/GetCart`, {}, { token: alice.accessToken })).body["cart"] as { id: string; cartToken?: string };
      const grab = await shop.api(`${CART}/MergeGuestCart`, { cartToken: alicesCart.cartToken || alicesCart.id }, { token: bob.accessToken });
      const after = (await shop.api(`${CART}/GetCart`, {}, { token: bob.accessToken })).body["cart"] as { lines?: unknown[] };
      assert.equal((after.lines ?? []).length, 0, JSON.stringify(grab.body));
      const alicesAfter = (await shop.api(`${CART}/GetCart`, {}, { token: alice.accessToken })).body["cart"] as { lines: unknown[] };
      assert.equal(alicesAfter.lines.length, 1);
    });

    it("ignores fields a client must not set (price, user id) instead of applying them", async () => {
      const user = await register(shop);
      const res = await shop.api(
        `${CART}/AddItem`,
        { sku: mugSku, quantity: 1, price: { amountMinor: "1", currencyCode: "EUR" }, unitPrice: { amountMinor: "1", currencyCode: "EUR" }, userId: admin.userId },
        { token: user.accessToken },
      );
      if (res.status === 200) {
        const cart = res.body["cart"] as { userId: string; lines: { unitPrice: { amountMinor: string } }[] };
        assert.equal(cart.userId, user.userId);
        assert.equal(cart.lines[0]!.unitPrice.amountMinor, "1500");
      } else {
        assert.equal(res.status, 400, JSON.stringify(res.body));
      }
      const roles = await shop.api(`${USERS}/Register`, { email: `${randomUUID()}@shop.test`, password: PASSWORD, displayName: "X", roles: ["admin"] });
      if (roles.status === 200) assert.deepEqual((roles.body["user"] as { roles: string[] }).roles, ["customer"]);
      else assert.equal(roles.status, 400);
    });

    it("answers malformed JSON with 400 invalid_argument and an oversized body with 413", async () => {
      const bad = await shop.api(`${USERS}/Login`, "{not json");
      assert.equal(bad.status, 400);
      assert.equal(bad.body.code, "invalid_argument");
      const big = await shop.api(`${USERS}/Login`, { email: "a@b.test", password: "x".repeat(2 * 1024 * 1024) });
      assert.equal(big.status, 413);
      assert.equal(big.body.code, "resource_exhausted");
    });

    it("names the offending fields of an invalid request", async () => {
      const res = await shop.api(`${USERS}/Register`, { email: "not-an-email", password: "short", displayName: "X" });
      assert.equal(res.status, 400);
      const details = res.body["details"] as { debug: { fieldViolations: { field: string }[] } }[];
      const fields = details.flatMap((d) => d.debug.fieldViolations.map((v) => v.field));
      assert.ok(fields.includes("email") && fields.includes("password"), fields.join(","));
    });
  });
});
