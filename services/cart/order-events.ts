// The cart's part of checkout: when the order service confirms an order (OrderPlaced, through
// the platform's inbox, so a redelivery changes nothing), the buyer's cart is emptied in the
// same transaction as the inbox row, and CartCleared(ORDER_PLACED) names the order.
//
// The whole cart goes, not only the ordered lines: the order service priced the cart as it was
// at PlaceOrder, and a line added in the seconds between checkout and this event is rare enough
// that a shopper re-adding it beats a half-cleared cart that looks like a failed checkout.
import { CartCleared_Reason } from "../../gen/shop/cart/v1/events_pb.js";
import { OrderPlacedSchema } from "../../gen/shop/order/v1/events_pb.js";
import type { Db } from "../../platform/db/db.js";
import { PoisonEventError, type EventSubscriber, type Subscription } from "../../platform/events/index.js";
import { ownerKey } from "./cart-owner.js";
import { clearCartIn } from "./store.js";

export function subscribeToOrderPlaced(opts: { bus: EventSubscriber; db: Db; queue: string }): Promise<Subscription> {
  return opts.bus.subscribe({
    queue: opts.queue,
    events: [OrderPlacedSchema],
    db: opts.db,
    handler: async (event, q) => {
      const order = event.message.order;
      if (!order?.userId) throw new PoisonEventError("OrderPlaced without an order or user id");
      await clearCartIn(q, ownerKey({ kind: "user", userId: order.userId }), { reason: CartCleared_Reason.ORDER_PLACED, orderId: order.id });
    },
  });
}
