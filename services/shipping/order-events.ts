// What the shipping service does on the order service's events, delivered through the
// platform's inbox (a redelivery is acknowledged without running the handler again, and the
// unique order_id on shipments makes a second OrderPlaced with another event id harmless too).
//
// - OrderPlaced creates the shipment. It is the event that means "paid and confirmed": the order
//   contract has no separate confirmed event, an order is placed only once stock is reserved and
//   payment captured.
// - OrderCancelled cancels the shipment while the carrier does not have it yet, and is remembered
//   so an OrderPlaced arriving after it (events may be reordered) creates nothing.
import { OrderCancelledSchema, OrderPlacedSchema, type OrderCancelled, type OrderPlaced } from "../../gen/shop/order/v1/events_pb.js";
import type { Db, Queryable } from "../../platform/db/db.js";
import { PoisonEventError, type EventSubscriber, type Subscription } from "../../platform/events/index.js";
import { fromProtoAddress, fromProtoSpeed } from "./proto-mapping.js";
import type { ShipmentItem } from "./shipment.js";
import type { Shipments } from "./shipments.js";

export interface OrderEventsOptions {
  readonly bus: EventSubscriber;
  readonly db: Db;
  readonly queue: string;
  readonly shipments: Shipments;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One line per SKU, in first-seen order. */
function itemsOf(placed: OrderPlaced): ShipmentItem[] {
  const bySku = new Map<string, number>();
  for (const line of placed.order?.lines ?? []) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku].map(([sku, quantity]) => ({ sku, quantity }));
}

export function subscribeToOrderEvents(opts: OrderEventsOptions): Promise<Subscription> {
  const { shipments } = opts;

  async function placed(event: OrderPlaced, q: Queryable): Promise<void> {
    const order = event.order;
    // None of these can ever succeed on a retry: straight to the dead-letter queue for a human.
    if (!order || !UUID.test(order.id) || !UUID.test(order.userId)) throw new PoisonEventError("OrderPlaced without a valid order or user id");
    if (!order.shippingAddress) throw new PoisonEventError(`OrderPlaced ${order.id} has no shipping address`);
    const items = itemsOf(event).filter((i) => i.quantity > 0);
    if (items.length === 0) throw new PoisonEventError(`OrderPlaced ${order.id} has nothing to ship`);
    await shipments.createForOrder(
      {
        orderId: order.id,
        userId: order.userId,
        destination: fromProtoAddress(order.shippingAddress),
        // The order service always sets a speed; one it did not is shipped standard.
        speed: fromProtoSpeed(order.shippingSpeed) ?? "standard",
        items,
        // OrderPlaced carries no weights: the tracking job weighs the parcel (catalog) before
        // labelling it, outside this transaction.
        totalWeightGrams: 0,
      },
      q,
    );
  }

  async function cancelled(event: OrderCancelled, q: Queryable): Promise<void> {
    if (!UUID.test(event.orderId)) throw new PoisonEventError("OrderCancelled without a valid order id");
    await shipments.cancelForOrder(event.orderId, event.reason, q);
  }

  return opts.bus.subscribe({
    queue: opts.queue,
    events: [OrderPlacedSchema, OrderCancelledSchema],
    db: opts.db,
    handler: (event, q) => (event.message.$typeName === "shop.order.v1.OrderPlaced" ? placed(event.message, q) : cancelled(event.message, q)),
  });
}
