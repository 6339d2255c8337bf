// Real gRPC test doubles of the order service's peers, on 127.0.0.1 ports: inventory,
// payment, promotion, shipping, catalog, cart and users (JWKS only). Each records the calls it
// answered and can be told to fail the next calls with a code (UNAVAILABLE by default), so
// tests drive the saga through peer outages; the payment double declines chosen tokens, the
// inventory double runs out of stock, the promotion double runs out of coupon uses.
import { randomUUID } from "node:crypto";
import { decodeJwt } from "jose";
import type { Metadata } from "@grpc/grpc-js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { CartService } from "../../../gen/shop/cart/v1/cart_pb.js";
import { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { ShippingSpeed } from "../../../gen/shop/common/v1/shipping_speed_pb.js";
import { InventoryService, ReservationStatus } from "../../../gen/shop/inventory/v1/inventory_pb.js";
import { PaymentService, PaymentStatus, type PaymentSchema } from "../../../gen/shop/payment/v1/payment_pb.js";
import { PromotionService, RejectedCoupon_Reason } from "../../../gen/shop/promotion/v1/promotion_pb.js";
import { ShippingService } from "../../../gen/shop/shipping/v1/shipping_pb.js";
import { Code, ShopError } from "../../../platform/errors.js";
import { type Authenticate } from "../../../platform/grpc/index.js";
import { startUsersDouble as startUsersDoubleFor, type UsersDouble } from "../../../platform/testing/grpc-double.js";
import { serveDouble, type Double } from "../../../platform/testing/grpc-double.js";

export type { UsersDouble } from "../../../platform/testing/grpc-double.js";
export type { Call, Double } from "../../../platform/testing/grpc-double.js";

// ---- inventory ----------------------------------------------------------------------------

export interface InventoryDouble extends Double {
  /** Units available per SKU (reserved units are taken off). */
  readonly stock: Map<string, number>;
  readonly reservations: Map<string, { lines: { sku: string; quantity: number }[]; status: "active" | "committed" | "released" | "restocked" }>;
}

const statuses = {
  active: ReservationStatus.ACTIVE,
  committed: ReservationStatus.COMMITTED,
  released: ReservationStatus.RELEASED,
  restocked: ReservationStatus.RESTOCKED,
} as const;

export async function startInventoryDouble(): Promise<InventoryDouble> {
  const stock = new Map<string, number>();
  const reservations: InventoryDouble["reservations"] = new Map();
  const reservation = (orderId: string) => {
    const r = reservations.get(orderId);
    return r ? { orderId, lines: r.lines, status: statuses[r.status] } : undefined;
  };
  const giveBack = (r: { lines: { sku: string; quantity: number }[] }) => {
    for (const l of r.lines) stock.set(l.sku, (stock.get(l.sku) ?? 0) + l.quantity);
  };
  const d = await serveDouble(InventoryService, {
    reserveStock: async (req) => {
      if (!reservations.has(req.orderId)) {
        const short = req.lines.map((l, i) => ({ l, i })).filter(({ l }) => (stock.get(l.sku) ?? 0) < l.quantity);
        if (short.length > 0) {
          throw new ShopError(
            Code.FAILED_PRECONDITION,
            `insufficient stock: ${short.map(({ l }) => l.sku).join(", ")}`,
            short.map(({ l, i }) => ({ field: `lines[${i}].quantity`, description: `${l.sku}: requested ${l.quantity}, available ${stock.get(l.sku) ?? 0}` })),
          );
        }
        for (const l of req.lines) stock.set(l.sku, (stock.get(l.sku) ?? 0) - l.quantity);
        reservations.set(req.orderId, { lines: req.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })), status: "active" });
      }
      return { reservation: reservation(req.orderId) };
    },
    commitReservation: async (req) => {
      const r = reservations.get(req.orderId);
      if (!r || r.status === "released") throw new ShopError(Code.FAILED_PRECONDITION, "reservation released");
      r.status = "committed";
      return { reservation: reservation(req.orderId) };
    },
    releaseReservation: async (req) => {
      const r = reservations.get(req.orderId);
      if (!r) return {};
      if (r.status === "committed" || r.status === "restocked") throw new ShopError(Code.FAILED_PRECONDITION, `the reservation is ${r.status}`);
      if (r.status === "active") {
        giveBack(r);
        r.status = "released";
      }
      return { reservation: reservation(req.orderId) };
    },
    restockReservation: async (req) => {
      const r = reservations.get(req.orderId);
      if (!r) throw new ShopError(Code.NOT_FOUND, "no reservation");
      if (r.status !== "committed" && r.status !== "restocked") throw new ShopError(Code.FAILED_PRECONDITION, `the reservation is ${r.status}`);
      if (r.status === "committed") {
        giveBack(r);
        r.status = "restocked";
      }
      return { reservation: reservation(req.orderId) };
    },
  });
  return { ...d, stock, reservations };
}

// ---- payment --------------------------------------------------------------------------------

type PaymentInit = MessageInitShape<typeof PaymentSchema> & { id: string; orderId: string; status: PaymentStatus; amount: { amountMinor: bigint; currencyCode: string } };

export interface PaymentDouble extends Double {
  /** Payments by id, as the double holds them. */
  readonly payments: Map<string, PaymentInit>;
  /** Tokens whose authorizations are declined ("card declined"). */
  readonly declined: Set<string>;
  ofOrder(orderId: string): PaymentInit[];
}

export async function startPaymentDouble(): Promise<PaymentDouble> {
  const payments = new Map<string, PaymentInit>();
  const byKey = new Map<string, string>();
  const refundKeys = new Map<string, string>();
  const declined = new Set<string>();
  const get = (id: string) => {
    const p = payments.get(id);
    if (!p) throw new ShopError(Code.NOT_FOUND, `payment ${id} not found`);
    return p;
  };
  const d = await serveDouble(PaymentService, {
    authorizePayment: async (req) => {
      const known = byKey.get(req.idempotencyKey);
      if (known) return { payment: get(known) };
      const id = randomUUID();
      const decline = declined.has(req.paymentMethodToken);
      const p: PaymentInit = {
        id,
        orderId: req.orderId,
        userId: req.userId,
        status: decline ? PaymentStatus.FAILED : PaymentStatus.AUTHORIZED,
        amount: { amountMinor: req.amount?.amountMinor ?? 0n, currencyCode: req.amount?.currencyCode ?? "" },
        failureReason: decline ? "card declined" : "",
      };
      payments.set(id, p);
      byKey.set(req.idempotencyKey, id);
      return { payment: p };
    },
    capturePayment: async (req) => {
      const p = get(req.paymentId);
      if (p.status === PaymentStatus.AUTHORIZED) {
        p.status = PaymentStatus.CAPTURED;
        p.capturedAmount = p.amount;
      } else if (p.status !== PaymentStatus.CAPTURED) throw new ShopError(Code.FAILED_PRECONDITION, `payment is ${PaymentStatus[p.status]}`);
      return { payment: p };
    },
    voidPayment: async (req) => {
      const p = get(req.paymentId);
      if (p.status === PaymentStatus.AUTHORIZED) p.status = PaymentStatus.VOIDED;
      else if (p.status !== PaymentStatus.VOIDED) throw new ShopError(Code.FAILED_PRECONDITION, "the payment was captured: refund it instead");
      return { payment: p };
    },
    refundPayment: async (req) => {
      const p = get(req.paymentId);
      if (!refundKeys.has(req.idempotencyKey)) {
        if (p.status !== PaymentStatus.CAPTURED) throw new ShopError(Code.FAILED_PRECONDITION, "nothing to refund");
        refundKeys.set(req.idempotencyKey, p.id);
        p.status = PaymentStatus.REFUNDED;
        p.refundedAmount = p.amount;
      }
      return { payment: p };
    },
  });
  return { ...d, payments, declined, ofOrder: (orderId) => [...payments.values()].filter((p) => p.orderId === orderId) };
}

// ---- promotion ------------------------------------------------------------------------------

export interface TestCoupon {
  readonly code: string;
  readonly percentBps?: number;
  readonly freeShipping?: boolean;
  /** Evaluation accepts it, but RedeemPromotions finds its limit reached (a concurrent checkout took the last use). */
  readonly exhaustedAtRedeem?: boolean;
}

export interface PromotionDouble extends Double {
  readonly coupons: Map<string, TestCoupon & { promotionId: string }>;
  /** Order id -> promotion ids redeemed (and not released). */
  readonly redeemed: Map<string, string[]>;
  readonly released: string[];
  add(coupon: TestCoupon): string;
}

export async function startPromotionDouble(): Promise<PromotionDouble> {
  const coupons: PromotionDouble["coupons"] = new Map();
  const redeemed = new Map<string, string[]>();
  const released: string[] = [];
  const d = await serveDouble(PromotionService, {
    evaluateCart: async (req) => {
      const currency = req.lines[0]?.unitPrice?.currencyCode ?? "USD";
      const m = (amountMinor: bigint) => ({ amountMinor, currencyCode: currency });
      const lineAdjustments: { sku: string; promotionId: string; amount: ReturnType<typeof m> }[] = [];
      const applied: { promotionId: string; name: string; couponCode: string; amount: ReturnType<typeof m> }[] = [];
      const rejectedCoupons: { couponCode: string; reason: RejectedCoupon_Reason; message: string }[] = [];
      let shippingDiscount = 0n;
      for (const raw of req.couponCodes) {
        const c = coupons.get(raw.toUpperCase());
        if (!c) {
          rejectedCoupons.push({ couponCode: raw.toUpperCase(), reason: RejectedCoupon_Reason.NOT_FOUND, message: `${raw.toUpperCase()} is not a valid code` });
          continue;
        }
        let total = 0n;
        if (c.percentBps) {
          for (const l of req.lines) {
            const amount = ((l.unitPrice?.amountMinor ?? 0n) * BigInt(l.quantity) * BigInt(c.percentBps)) / 10_000n;
            lineAdjustments.push({ sku: l.sku, promotionId: c.promotionId, amount: m(amount) });
            total += amount;
          }
        }
        if (c.freeShipping) {
          shippingDiscount = req.shipping?.amountMinor ?? 0n;
          total += shippingDiscount;
        }
        applied.push({ promotionId: c.promotionId, name: `Coupon ${c.code}`, couponCode: c.code, amount: m(total) });
      }
      return { lineAdjustments, shippingDiscount: m(shippingDiscount), applied, rejectedCoupons };
    },
    redeemPromotions: async (req) => {
      if (!redeemed.has(req.orderId)) {
        for (const r of req.redemptions) {
          const c = [...coupons.values()].find((x) => x.promotionId === r.promotionId);
          if (c?.exhaustedAtRedeem) throw new ShopError(Code.FAILED_PRECONDITION, `${c.code} has reached its usage limit`);
        }
        redeemed.set(req.orderId, req.redemptions.map((r) => r.promotionId));
      }
      return { redemptions: req.redemptions };
    },
    releaseRedemptions: async (req) => {
      if (redeemed.delete(req.orderId)) released.push(req.orderId);
      return { released: [] };
    },
  });
  return {
    ...d,
    coupons,
    redeemed,
    released,
    add(c) {
      const promotionId = randomUUID();
      coupons.set(c.code.toUpperCase(), { ...c, promotionId });
      return promotionId;
    },
  };
}

// ---- shipping -------------------------------------------------------------------------------

export interface ShippingDouble extends Double {
  /** Price per speed in minor units; countries not in `served` get no options. */
  readonly prices: Map<ShippingSpeed, bigint>;
  readonly served: Set<string>;
}

export async function startShippingDouble(): Promise<ShippingDouble> {
  const prices = new Map<ShippingSpeed, bigint>([
    [ShippingSpeed.STANDARD, 500n],
    [ShippingSpeed.EXPRESS, 1500n],
  ]);
  const served = new Set(["US", "DE", "GB"]);
  const d = await serveDouble(ShippingService, {
    quoteShipping: async (req) => ({
      options: served.has(req.countryCode)
        ? [...prices]
            .filter(([speed]) => req.speed === ShippingSpeed.UNSPECIFIED || speed === req.speed)
            .map(([speed, price]) => ({ speed, carrier: "sandbox", price: { amountMinor: price, currencyCode: req.currencyCode }, minTransitDays: 1, maxTransitDays: 5 }))
        : [],
    }),
  });
  return { ...d, prices, served };
}

// ---- catalog --------------------------------------------------------------------------------

export interface TestSku {
  readonly code: string;
  readonly priceMinor: bigint;
  readonly currency?: string;
  readonly weightGrams?: number;
  readonly purchasable?: boolean;
}

export interface CatalogDouble extends Double {
  put(sku: TestSku): void;
}

export async function startCatalogDouble(): Promise<CatalogDouble> {
  const known = new Map<string, TestSku>();
  const d = await serveDouble(CatalogService, {
    batchGetSkus: async (req) => ({
      skus: req.skus.flatMap((code) => {
        const s = known.get(code);
        if (!s) return [];
        return [
          {
            sku: { code, name: "Blue / M", price: { amountMinor: s.priceMinor, currencyCode: s.currency ?? "USD" }, weightGrams: s.weightGrams ?? 300, active: true, inStock: true },
            productId: randomUUID(),
            productName: `Product ${code}`,
            productSlug: code.toLowerCase(),
            imageUrl: `https://img.example.test/${code}.jpg`,
            categoryIds: [],
            purchasable: s.purchasable ?? true,
          },
        ];
      }),
      missingSkus: req.skus.filter((c) => !known.has(c)),
    }),
  });
  return { ...d, put: (s) => void known.set(s.code, s) };
}

// ---- cart -----------------------------------------------------------------------------------

export interface CartDouble extends Double {
  /** Lines per user id; the caller is read from the forwarded access token. */
  readonly carts: Map<string, { sku: string; quantity: number }[]>;
}

/** The cart double trusts the token's subject without verifying it: the order service verified it. */
const subjectOf: Authenticate = async (md: Metadata) => {
  const auth = md.get("authorization")[0];
  if (typeof auth !== "string") return undefined;
  const sub = decodeJwt(auth.replace(/^Bearer /, "")).sub;
  return sub ? { subject: sub, roles: [] } : undefined;
};

export async function startCartDouble(): Promise<CartDouble> {
  const carts = new Map<string, { sku: string; quantity: number }[]>();
  const d = await serveDouble(
    CartService,
    {
      getCart: async (_req, ctx) => {
        const userId = ctx.caller?.subject;
        if (!userId) throw new ShopError(Code.FAILED_PRECONDITION, "the cart double needs a signed-in caller");
        const lines = carts.get(userId) ?? [];
        return { cart: { id: userId, userId, lines: lines.map((l) => ({ sku: l.sku, quantity: l.quantity, availability: { inStock: true, quantityAvailable: 1000 } })) } };
      },
    },
    subjectOf,
  );
  return { ...d, carts };
}

// ---- users (JWKS) ---------------------------------------------------------------------------

export const AUTH = { issuer: "shop-users-order-test", audience: "shop-order-test" };

/** The users service as this service sees it: a JWKS, and tokens for AUTH signed with its key. */
export const startUsersDouble = (): Promise<UsersDouble> => startUsersDoubleFor(AUTH);
