// The shipping service's events move orders along fulfilment: ShipmentCreated -> FULFILLING,
// ShipmentShipped -> SHIPPED, ShipmentDelivered -> DELIVERED. Each is handled inside the
// platform's inbox transaction, so a redelivered event changes nothing.
import { ShipmentCreatedSchema, ShipmentDeliveredSchema, ShipmentShippedSchema } from "../../gen/shop/shipping/v1/events_pb.js";
import type { Db } from "../../platform/db/db.js";
import type { EventSubscriber, Subscription } from "../../platform/events/index.js";
import type { Orders } from "./orders.js";
import { orderTx } from "./store.js";


export function subscribeShippingEvents(bus: EventSubscriber, db: Db, orders: Orders, queue: string): Promise<Subscription> {
  return bus.subscribe({
    queue,
    db,
    events: [ShipmentCreatedSchema, ShipmentShippedSchema, ShipmentDeliveredSchema],
    handler: async ({ message: m }, q) => {
      const tx = orderTx(q);
      switch (m.$typeName) {
        case "shop.shipping.v1.ShipmentCreated":
          return orders.applyShipmentEvent(tx, { to: "fulfilling", orderId: m.orderId, shipmentId: m.shipmentId });
        case "shop.shipping.v1.ShipmentShipped":
          return orders.applyShipmentEvent(tx, { to: "shipped", orderId: m.orderId, shipmentId: m.shipmentId, carrier: m.carrier, trackingNumber: m.trackingNumber });
        case "shop.shipping.v1.ShipmentDelivered":
          return orders.applyShipmentEvent(tx, { to: "delivered", orderId: m.orderId, shipmentId: m.shipmentId });
      }
    },
  });
}
