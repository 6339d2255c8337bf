// Who counts as a verified buyer of a product, learned from the order service's events.
//
// - OrderDelivered records the order with its user and products: the buyer received them.
// - OrderRefunded and OrderCancelled mark the order void: money went back, so it no longer makes
//   its buyer verified for new reviews (reviews already written stay; a refund is not a
//   moderation decision). The contract refunds whole orders, so the whole order goes.
// - Only a delivered, not voided order containing the product makes its user verified.
//
// Each event sets its own fields of the order's one document (an upsert), so the outcome does
// not depend on the order events arrive in: a refund seen before the delivery still voids it.
import type { OrderDelivered } from "../../gen/shop/order/v1/events_pb.js";
import { PoisonEventError } from "../../platform/events/index.js";

export interface PurchaseRecord {
  readonly orderId: string;
  readonly userId: string;
  readonly productIds: readonly string[];
  readonly deliveredAt?: Date;
  readonly voidedAt?: Date;
}

export interface Delivery {
  readonly orderId: string;
  readonly userId: string;
  readonly productIds: readonly string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The delivery an OrderDelivered event reports; PoisonEventError when it can never be used. */
export function deliveryOf(event: OrderDelivered): Delivery {
  if (!UUID.test(event.orderId) || !UUID.test(event.userId)) throw new PoisonEventError("OrderDelivered without a valid order or user id");
  const productIds = [...new Set(event.lines.map((l) => l.productId.toLowerCase()).filter((id) => UUID.test(id)))];
  if (productIds.length === 0) throw new PoisonEventError(`OrderDelivered ${event.orderId} names no product`);
  return { orderId: event.orderId.toLowerCase(), userId: event.userId.toLowerCase(), productIds };
}

/** The order an OrderRefunded/OrderCancelled event voids. */
export function voidedOrderOf(event: { readonly orderId: string; readonly userId: string }): { orderId: string; userId: string } {
  if (!UUID.test(event.orderId) || !UUID.test(event.userId)) throw new PoisonEventError("order event without a valid order or user id");
  return { orderId: event.orderId.toLowerCase(), userId: event.userId.toLowerCase() };
}

/** Whether this order makes its user a verified buyer of `productId`. */
export function grantsReview(p: PurchaseRecord, productId: string): boolean {
  return p.deliveredAt !== undefined && p.voidedAt === undefined && p.productIds.includes(productId.toLowerCase());
}

export const NOT_A_BUYER =
  "only verified buyers may review a product: this account has no delivered (and not refunded or cancelled) order containing it";
