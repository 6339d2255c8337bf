// Between the stored order and the contract's messages (shop.order.v1).
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { AddressSchema } from "../../gen/shop/common/v1/address_pb.js";
import { OrderStatus as ProtoStatus, type OrderLineSchema, type OrderSchema } from "../../gen/shop/order/v1/order_pb.js";
import type { Address, StoredOrder } from "./order-model.js";
import type { PricedLine } from "./pricing.js";
import type { OrderStatus } from "./transitions.js";

const toProto: Record<OrderStatus, ProtoStatus> = {
  pending: ProtoStatus.PENDING,
  confirmed: ProtoStatus.CONFIRMED,
  fulfilling: ProtoStatus.FULFILLING,
  shipped: ProtoStatus.SHIPPED,
  delivered: ProtoStatus.DELIVERED,
  cancelled: ProtoStatus.CANCELLED,
  return_requested: ProtoStatus.RETURN_REQUESTED,
  returned: ProtoStatus.RETURNED,
  refunded: ProtoStatus.REFUNDED,
  failed: ProtoStatus.FAILED,
};

const fromProto = new Map<ProtoStatus, OrderStatus>(Object.entries(toProto).map(([k, v]) => [v, k as OrderStatus]));

export const toProtoStatus = (s: OrderStatus): ProtoStatus => toProto[s];

/** Undefined for UNSPECIFIED (which means "any" in list filters). */
export const fromProtoStatus = (s: ProtoStatus): OrderStatus | undefined => fromProto.get(s);

export function fromProtoAddress(a: { recipientName: string; line1: string; line2: string; city: string; region: string; postalCode: string; countryCode: string; phone: string }): Address {
  return {
    recipientName: a.recipientName,
    line1: a.line1,
    line2: a.line2,
    city: a.city,
    region: a.region,
    postalCode: a.postalCode,
    countryCode: a.countryCode,
    phone: a.phone,
  };
}

const address = (a: Address): MessageInitShape<typeof AddressSchema> => ({ ...a });

export function toProtoLine(l: PricedLine, currency: string): MessageInitShape<typeof OrderLineSchema> {
  const m = (amountMinor: bigint) => ({ amountMinor, currencyCode: currency });
  return {
    sku: l.sku,
    productId: l.productId,
    productName: l.productName,
    skuName: l.skuName,
    imageUrl: l.imageUrl,
    quantity: l.quantity,
    unitPrice: m(l.unitPriceMinor),
    discount: m(l.discountMinor),
    lineTotal: m(l.lineTotalMinor),
  };
}

export function toProtoOrder(o: StoredOrder): MessageInitShape<typeof OrderSchema> {
  const m = (amountMinor: bigint) => ({ amountMinor, currencyCode: o.currency });
  return {
    id: o.id,
    userId: o.userId,
    status: toProto[o.status],
    lines: o.lines.map((l) => toProtoLine(l, o.currency)),
    totals: {
      subtotal: m(o.totals.subtotalMinor),
      discount: m(o.totals.discountMinor),
      shipping: m(o.totals.shippingMinor),
      tax: m(o.totals.taxMinor),
      total: m(o.totals.totalMinor),
    },
    discounts: o.discounts.map((d) => ({ promotionId: d.promotionId, name: d.name, couponCode: d.couponCode, amount: m(d.amountMinor) })),
    shippingAddress: address(o.shippingAddress),
    billingAddress: address(o.billingAddress),
    shippingSpeed: o.shippingSpeed,
    couponCodes: [...o.couponCodes],
    statusHistory: o.history.map((h) => ({ status: toProto[h.status], changeTime: timestampFromDate(h.changedAt), reason: h.reason })),
    paymentId: o.paymentId,
    shipmentId: o.shipmentId,
    createTime: timestampFromDate(o.createdAt),
    updateTime: timestampFromDate(o.updatedAt),
  };
}
