// What the reviews service learns from the order service's events: who received which products
// (verified-purchase.ts). Delivered through the platform's consumer with the inbox in MongoDB
// (platform/mongo/inbox.ts): the event id is recorded in the transaction that records the
// purchase, so a redelivery changes nothing. The records are also upserts whose result does not
// depend on arrival order, so a refund that overtakes its delivery still voids the order.
//
// Why the inbox and not only the idempotent upsert: the upsert alone would make redelivery
// harmless for these three events, but the inbox is the platform's one way to consume, costs one
// small write in a transaction the service needs anyway (a replica set is required for the
// outbox), and stays correct when a handler later does something that is not idempotent.
import type { ClientSession } from "mongodb";
import { OrderCancelledSchema, OrderDeliveredSchema, OrderRefundedSchema } from "../../gen/shop/order/v1/events_pb.js";
import type { EventSubscriber, Subscription } from "../../platform/events/index.js";
import { createMongoInbox, type Mongo } from "../../platform/mongo/index.js";
import type { ReviewsStore } from "./store.js";
import { deliveryOf, voidedOrderOf } from "./verified-purchase.js";

export interface OrderEventsOptions {
  readonly bus: EventSubscriber;
  readonly mongo: Mongo;
  readonly store: ReviewsStore;
  readonly queue: string;
}

export function subscribeToOrderEvents(opts: OrderEventsOptions): Promise<Subscription> {
  const { store } = opts;
  return opts.bus.subscribe({
    queue: opts.queue,
    events: [OrderDeliveredSchema, OrderRefundedSchema, OrderCancelledSchema],
    inbox: createMongoInbox(opts.mongo),
    handler: async (event, s: ClientSession) => {
      const m = event.message;
      if (m.$typeName === "shop.order.v1.OrderDelivered") await store.recordDelivery(s, deliveryOf(m), event.timestamp);
      else await store.recordVoided(s, voidedOrderOf(m), event.timestamp);
    },
  });
}
