// OrderService's gRPC handlers: who is calling (from the verified token, never the request),
// then checkout.ts or orders.ts, then the result mapped to the contract. Access levels are
// enforced by the platform before these run; ownership is in orders.ts.
import { OrderService, OrderStatus as ProtoStatus } from "../../gen/shop/order/v1/order_pb.js";
import { ShippingSpeed } from "../../gen/shop/common/v1/shipping_speed_pb.js";
import { fieldError } from "../../platform/errors.js";
import { ADMIN_ROLE, requireCaller, type CallContext, type ServiceImpl } from "../../platform/grpc/index.js";
import type { Checkout } from "./checkout.js";
import type { StoredOrder } from "./order-model.js";
import { fromProtoAddress, fromProtoStatus, toProtoLine, toProtoOrder } from "./order-proto.js";
import type { Orders } from "./orders.js";
import { decodePageToken, encodePageToken, pageSize } from "../../platform/page-token.js";

const isAdmin = (ctx: CallContext) => requireCaller(ctx).roles.includes(ADMIN_ROLE);

/** Orders are read a screenful at a time. */
const ORDERS_PAGE_SIZE = 20;

async function page(orders: Orders, filter: { userId?: string; status: ProtoStatus; pageSize: number; pageToken: string }) {
  const limit = pageSize(filter.pageSize, ORDERS_PAGE_SIZE);
  const status = fromProtoStatus(filter.status);
  const after = decodePageToken(filter.pageToken);
  const rows = await orders.list({
    ...(filter.userId ? { userId: filter.userId } : {}),
    ...(status ? { status } : {}),
    ...(after ? { after } : {}),
    limit: limit + 1,
  });
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return {
    orders: shown.map(toProtoOrder),
    nextPageToken: rows.length > limit && last ? encodePageToken({ time: last.createdAt, id: last.id }) : "",
  };
}

const one = (o: StoredOrder) => ({ order: toProtoOrder(o) });

export function createOrderService(deps: { checkout: Checkout; orders: Orders }): ServiceImpl<typeof OrderService> {
  const { checkout, orders } = deps;
  return {
    async placeOrder(req, ctx) {
      const userId = requireCaller(ctx).subject;
      if (!req.shippingAddress) throw fieldError("shipping_address", "is required");
      const order = await checkout.place(userId, {
        idempotencyKey: req.idempotencyKey,
        shippingAddress: fromProtoAddress(req.shippingAddress),
        billingAddress: req.billingAddress ? fromProtoAddress(req.billingAddress) : undefined,
        speed: req.shippingSpeed,
        paymentMethodToken: req.paymentMethodToken,
        couponCodes: req.couponCodes,
        expectedTotal: req.expectedTotal ? { amountMinor: req.expectedTotal.amountMinor, currency: req.expectedTotal.currencyCode } : undefined,
      });
      return one(order);
    },

    async previewCheckout(req, ctx) {
      const userId = requireCaller(ctx).subject;
      const { priced, rejected, warnings } = await checkout.preview(userId, {
        destination: { countryCode: req.countryCode, region: req.region, postalCode: req.postalCode },
        speed: req.shippingSpeed === ShippingSpeed.UNSPECIFIED ? ShippingSpeed.STANDARD : req.shippingSpeed,
        couponCodes: req.couponCodes,
      });
      const m = (amountMinor: bigint) => ({ amountMinor, currencyCode: priced.currency });
      const t = priced.totals;
      return {
        lines: priced.lines.map((l) => toProtoLine(l, priced.currency)),
        totals: { subtotal: m(t.subtotalMinor), discount: m(t.discountMinor), shipping: m(t.shippingMinor), tax: m(t.taxMinor), total: m(t.totalMinor) },
        discounts: priced.discounts.map((d) => ({ promotionId: d.promotionId, name: d.name, couponCode: d.couponCode, amount: m(d.amountMinor) })),
        rejectedCoupons: rejected.map((r) => ({ couponCode: r.couponCode, reason: r.message })),
        warnings: [...warnings],
      };
    },

    getOrder: async (req, ctx) => one(await orders.get({ userId: requireCaller(ctx).subject, admin: isAdmin(ctx) }, req.orderId)),

    listOrders: async (req, ctx) => page(orders, { userId: requireCaller(ctx).subject, status: req.status, pageSize: req.pageSize, pageToken: req.pageToken }),

    cancelOrder: async (req, ctx) => one(await orders.changeStatus("customer", requireCaller(ctx).subject, req.orderId, "cancelled", req.reason || "cancelled by the customer")),

    requestReturn: async (req, ctx) => one(await orders.changeStatus("customer", requireCaller(ctx).subject, req.orderId, "return_requested", req.reason)),

    async updateOrderStatus(req) {
      const to = fromProtoStatus(req.status);
      if (!to) throw fieldError("status", "must be a status");
      return one(await orders.changeStatus("admin", undefined, req.orderId, to, req.reason));
    },

    listAllOrders: async (req) =>
      page(orders, { ...(req.userId ? { userId: req.userId } : {}), status: req.status, pageSize: req.pageSize, pageToken: req.pageToken }),
  };
}

export { OrderService };
