// What the notification service does with other services' events, each delivered once through
// the platform's inbox (the mail is logged in the transaction that records the event id).
//
// Two queues, so a backlog of mails never delays the live stream:
//   <exchange>.notification.mail  users' UserRegistered, PasswordChanged (addresses + mails);
//                                 order's OrderPlaced, OrderCancelled, OrderFailed, ReturnRequested;
//                                 shipping's ShipmentShipped, ShipmentDelivered; payment's PaymentRefunded
//   <exchange>.notification.live  order's OrderStatusChanged (the WatchOrderUpdates stream)
//
// Each fact is mailed from exactly one event: shipped/delivered from shipping (which carries the
// tracking number), refunds from payment (which covers partial refunds too). The order service's
// OrderShipped, OrderDelivered and OrderRefunded say the same things again and are not consumed.
import type { MessageShape } from "@bufbuild/protobuf";
import type { Address } from "../../gen/shop/common/v1/address_pb.js";
import {
  OrderCancelledSchema,
  OrderFailedSchema,
  OrderPlacedSchema,
  OrderStatusChangedSchema,
  ReturnRequestedSchema,
  type OrderPlaced,
} from "../../gen/shop/order/v1/events_pb.js";
import { PaymentRefundedSchema } from "../../gen/shop/payment/v1/events_pb.js";
import { ShipmentDeliveredSchema, ShipmentShippedSchema } from "../../gen/shop/shipping/v1/events_pb.js";
import { PasswordChangedSchema, UserRegisteredSchema } from "../../gen/shop/users/v1/events_pb.js";
import type { Db, Queryable } from "../../platform/db/db.js";
import { type EventSubscriber, PoisonEventError, queueName, type ReceivedEvent, type Subscription } from "../../platform/events/index.js";
import { parseMailbox } from "./mime.js";
import { fromProtoMoney } from "../../platform/money.js";
import type { MailRequest, Notifications } from "./notifications.js";
import * as templates from "./templates.js";

export const mailEvents = [
  UserRegisteredSchema,
  PasswordChangedSchema,
  OrderPlacedSchema,
  OrderCancelledSchema,
  OrderFailedSchema,
  ReturnRequestedSchema,
  ShipmentShippedSchema,
  ShipmentDeliveredSchema,
  PaymentRefundedSchema,
] as const;

export const liveEvents = [OrderStatusChangedSchema] as const;

export interface EventConsumersOptions {
  readonly bus: EventSubscriber;
  readonly db: Db;
  /** Queue names are `<prefix>.notification.mail` and `<prefix>.notification.live`. */
  /** The topic exchange: queue names start with it. */
  readonly exchange: string;
  readonly notifications: Notifications;
  readonly shopName: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids that can never become valid on a retry send the event straight to the dead-letter queue. */
function ids<T extends Record<string, string>>(type: string, values: T): T {
  for (const [field, v] of Object.entries(values)) {
    if (!UUID.test(v)) throw new PoisonEventError(`${type} without a valid ${field}`);
  }
  return values;
}


function addressLines(a: Address | undefined): string[] {
  if (!a) return [];
  return [a.recipientName, a.line1, a.line2, [a.postalCode, a.city].filter(Boolean).join(" "), a.region, a.countryCode].filter((l) => l !== "");
}

export function orderSummary(placed: OrderPlaced): templates.OrderSummary {
  const o = placed.order!;
  return {
    orderId: o.id,
    lines: o.lines.map((l) => ({ name: l.productName || l.sku, variant: l.skuName, quantity: l.quantity, lineTotal: fromProtoMoney(l.lineTotal) })),
    subtotal: fromProtoMoney(o.totals?.subtotal),
    discount: fromProtoMoney(o.totals?.discount),
    shipping: fromProtoMoney(o.totals?.shipping),
    tax: fromProtoMoney(o.totals?.tax),
    total: fromProtoMoney(o.totals?.total),
    shipTo: addressLines(o.shippingAddress),
  };
}

type MailEvent = ReceivedEvent<MessageShape<(typeof mailEvents)[number]>>;

export async function subscribeToEvents(opts: EventConsumersOptions): Promise<Subscription[]> {
  const { notifications: n, shopName } = opts;
  const greeting = async (q: Queryable, userId: string, fallbackName = ""): Promise<templates.Greeting> => ({ shopName, name: await n.nameOf(q, userId, fallbackName) });

  /** The mail this event means, after any bookkeeping it carries (addresses). */
  async function mailFor(event: MailEvent, q: Queryable): Promise<MailRequest> {
    const m = event.message;
    switch (m.$typeName) {
      case "shop.users.v1.UserRegistered": {
        const { userId } = ids(m.$typeName, { userId: m.userId });
        if (!parseMailbox(m.email)) throw new PoisonEventError("UserRegistered without a valid email");
        await n.rememberRecipient(q, userId, m.email, m.displayName);
        return { userId, template: "welcome", kind: "transactional", dedupeKey: "account", content: templates.welcome({ shopName, name: m.displayName }) };
      }
      case "shop.users.v1.PasswordChanged": {
        const { userId } = ids(m.$typeName, { userId: m.userId });
        if (!parseMailbox(m.email)) throw new PoisonEventError("PasswordChanged without a valid email");
        await n.rememberRecipient(q, userId, m.email, undefined);
        // Every change is its own mail.
        return { userId, template: "password_changed", kind: "transactional", dedupeKey: event.id, content: templates.passwordChanged(await greeting(q, userId), event.timestamp) };
      }
      case "shop.order.v1.OrderPlaced": {
        const o = m.order;
        if (!o) throw new PoisonEventError("OrderPlaced without an order");
        const { userId, orderId } = ids(m.$typeName, { userId: o.userId, orderId: o.id });
        const g = await greeting(q, userId, o.shippingAddress?.recipientName);
        return { userId, orderId, template: "order_confirmation", kind: "transactional", dedupeKey: orderId, content: templates.orderConfirmation(g, orderSummary(m)) };
      }
      case "shop.order.v1.OrderCancelled": {
        const { userId, orderId } = ids(m.$typeName, { userId: m.userId, orderId: m.orderId });
        const content = templates.orderCancelled(await greeting(q, userId), orderId, m.reason, fromProtoMoney(m.refundedAmount));
        return { userId, orderId, template: "order_cancelled", kind: "transactional", dedupeKey: orderId, content };
      }
      case "shop.order.v1.OrderFailed": {
        const { userId, orderId } = ids(m.$typeName, { userId: m.userId, orderId: m.orderId });
        return { userId, orderId, template: "order_failed", kind: "transactional", dedupeKey: orderId, content: templates.orderFailed(await greeting(q, userId), orderId) };
      }
      case "shop.order.v1.ReturnRequested": {
        const { userId, orderId } = ids(m.$typeName, { userId: m.userId, orderId: m.orderId });
        return { userId, orderId, template: "return_requested", kind: "transactional", dedupeKey: orderId, content: templates.returnRequested(await greeting(q, userId), orderId) };
      }
      case "shop.shipping.v1.ShipmentShipped": {
        const { userId, orderId } = ids(m.$typeName, { userId: m.userId, orderId: m.orderId });
        const content = templates.orderShipped(await greeting(q, userId), orderId, m.carrier, m.trackingNumber);
        return { userId, orderId, template: "order_shipped", kind: "order_updates", dedupeKey: m.shipmentId || orderId, content };
      }
      case "shop.shipping.v1.ShipmentDelivered": {
        const { userId, orderId } = ids(m.$typeName, { userId: m.userId, orderId: m.orderId });
        return { userId, orderId, template: "order_delivered", kind: "order_updates", dedupeKey: m.shipmentId || orderId, content: templates.orderDelivered(await greeting(q, userId), orderId) };
      }
      case "shop.payment.v1.PaymentRefunded": {
        const { userId, orderId } = ids(m.$typeName, { userId: m.userId, orderId: m.orderId });
        const amount = fromProtoMoney(m.amount);
        if (!amount) throw new PoisonEventError("PaymentRefunded without an amount");
        const total = fromProtoMoney(m.refundedTotal);
        // The running total grows with every refund of a payment: it tells one refund from the next.
        const dedupeKey = total ? `${m.paymentId}:${total.amountMinor}` : event.id;
        return { userId, orderId, template: "refund_issued", kind: "order_updates", dedupeKey, content: templates.refundIssued(await greeting(q, userId), orderId, amount, total) };
      }
    }
  }

  const mail = await opts.bus.subscribe({
    queue: queueName(opts.exchange, "notification", "mail"),
    events: mailEvents,
    db: opts.db,
    handler: async (event, q) => {
      await n.queueMail(q, await mailFor(event, q));
    },
  });
  const live = await opts.bus.subscribe({
    queue: queueName(opts.exchange, "notification", "live"),
    events: liveEvents,
    db: opts.db,
    handler: async (event, q) => {
      const m = event.message;
      const { userId, orderId } = ids(m.$typeName, { userId: m.userId, orderId: m.orderId });
      await n.publishLive(q, { userId, orderId, oldStatus: m.oldStatus, newStatus: m.newStatus, reason: m.reason, changeTime: event.timestamp });
    },
  });
  return [mail, live];
}
