// Small named helpers for the end-to-end tests: accounts, products, stock, coupons, cards and
// the users service's signing key (to mint many valid tokens without paying argon2 per buyer,
// or to craft tokens wrong in one claim).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { SignJWT, importJWK, type JWK } from "jose";
import type { ShopProcesses } from "./shop-processes.js";

export const PASSWORD = "correct horse battery staple";
export const USERS = "shop.users.v1.UsersService";
export const CATALOG = "shop.catalog.v1.CatalogService";
export const CART = "shop.cart.v1.CartService";
export const INVENTORY = "shop.inventory.v1.InventoryService";
export const PROMOTION = "shop.promotion.v1.PromotionService";
export const PAYMENT = "shop.payment.v1.PaymentService";
export const ORDER = "shop.order.v1.OrderService";

export interface Account {
  readonly email: string;
  readonly userId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
}

export async function register(shop: ShopProcesses, email = `${randomUUID()}@shop.test`): Promise<Account> {
  const res = await shop.api(`${USERS}/Register`, { email, password: PASSWORD, displayName: "Shopper" });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const user = res.body["user"] as { id: string };
  const tokens = res.body["tokens"] as { accessToken: string; refreshToken: string };
  return { email, userId: user.id, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
}

export function productInput(name: string, sku: string, priceMinor: number) {
  return {
    slug: `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${sku.toLowerCase()}`,
    name,
    description: `${name}, made to last.`,
    status: "PRODUCT_STATUS_ACTIVE",
    skus: [{ code: sku, name: `${name} / one size`, price: { amountMinor: String(priceMinor), currencyCode: "EUR" }, weightGrams: 300, active: true }],
  };
}

/** A new ACTIVE product with one SKU, `units` of it in stock. */
export async function stockedProduct(shop: ShopProcesses, admin: Account, name: string, priceMinor: number, units: number): Promise<string> {
  const sku = `${name.replace(/[^A-Za-z]/g, "").slice(0, 8).toUpperCase()}-${randomUUID().slice(0, 8).toUpperCase()}`;
  const created = await shop.api(`${CATALOG}/CreateProduct`, productInput(name, sku, priceMinor), { token: admin.accessToken });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const stocked = await shop.api(`${INVENTORY}/AdjustStock`, { sku, delta: units, reason: "e2e stock" }, { token: admin.accessToken });
  assert.equal(stocked.status, 200, JSON.stringify(stocked.body));
  return sku;
}

/** A percentage coupon; returns its code and promotion id. */
export async function coupon(shop: ShopProcesses, admin: Account, percent: number, opts: { totalLimit?: number } = {}): Promise<{ code: string; id: string }> {
  const code = `SAVE${percent}-${randomUUID().slice(0, 6).toUpperCase()}`;
  const res = await shop.api(
    `${PROMOTION}/CreatePromotion`,
    { promotion: { name: `${percent}% off`, couponCode: code, kind: "PROMOTION_KIND_PERCENTAGE", percentBps: percent * 100, totalLimit: opts.totalLimit ?? 0, stackable: true } },
    { token: admin.accessToken },
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { code, id: (res.body["promotion"] as { id: string }).id };
}

export const CARDS = { visa: "4242424242424242", declined: "4000000000000002" } as const;

/** Saves a sandbox test card for the caller; returns its payment method token. */
export async function card(shop: ShopProcesses, token: string, number: string = CARDS.visa): Promise<string> {
  const res = await shop.api(`${PAYMENT}/CreatePaymentMethod`, { cardNumber: number, expMonth: 12, expYear: 2031, cvc: "123", cardholderName: "Ada Shopper" }, { token });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body["paymentMethod"] as { token: string }).token;
}

export const BERLIN = { recipientName: "Ada Shopper", line1: "Unter den Linden 1", city: "Berlin", postalCode: "10117", countryCode: "DE" };

export function placeOrderRequest(paymentMethodToken: string, extra: Record<string, unknown> = {}) {
  return { idempotencyKey: `key-${randomUUID()}`, shippingAddress: BERLIN, shippingSpeed: "SHIPPING_SPEED_STANDARD", paymentMethodToken, ...extra };
}

export interface SigningKey {
  readonly kid: string;
  readonly jwk: JWK;
}

/** The users service's active private key, read from its own schema. */
export async function signingKeyOf(shop: ShopProcesses): Promise<SigningKey> {
  const client = new pg.Client({ connectionString: shop.db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ kid: string; private_jwk: JWK }>(
      "SELECT kid, private_jwk FROM users.signing_keys WHERE retired_at IS NULL ORDER BY activated_at DESC LIMIT 1",
    );
    return { kid: rows[0]!.kid, jwk: rows[0]!.private_jwk };
  } finally {
    await client.end();
  }
}

export interface Claims {
  readonly aud?: string;
  readonly iss?: string;
  readonly exp?: number;
  readonly sub?: string;
  readonly roles?: string[];
}

/** A token signed with the users service's key, with the given claims (defaults: a valid customer token). */
export async function craftToken(key: SigningKey, claims: Claims = {}): Promise<string> {
  const privateKey = await importJWK(key.jwk, "ES256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: claims.roles ?? ["customer"] })
    .setProtectedHeader({ alg: "ES256", kid: key.kid, typ: "at+jwt" })
    .setIssuer(claims.iss ?? "shop-users")
    .setAudience(claims.aud ?? "shop")
    .setSubject(claims.sub ?? randomUUID())
    .setIssuedAt(now - 60)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(privateKey);
}

/** One query on the shop's database (any service's schema), for checks after the fact. */
export async function sql<R extends pg.QueryResultRow>(shop: ShopProcesses, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: shop.db.url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}
