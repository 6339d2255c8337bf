// The order service's events over real RabbitMQ: shipping's ShipmentCreated/Shipped/Delivered
// move orders to FULFILLING, SHIPPED and DELIVERED (with OrderShipped and OrderDelivered),
// a redelivered event changes nothing, an event behind the order's status or for a cancelled
// order is ignored; and OrderPlaced leaves through the outbox to the exchange.
import assert from "node:assert/strict";
import amqp from "amqplib";
import { OrderStatus } from "../../../gen/shop/order/v1/order_pb.js";
import { OrderDeliveredSchema, OrderPlacedSchema, OrderShippedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { ShipmentCreatedSchema, ShipmentDeliveredSchema, ShipmentShippedSchema } from "../../../gen/shop/shipping/v1/events_pb.js";
import type { Db } from "../../../platform/db/db.js";
import { connectAmqpEventBus, createEnvelope, deadLetterExchangeName, deadLetterQueueName, type EventBus, queueName } from "../../../platform/events/index.js";
import { createLogger } from "../../../platform/logger.js";
import { uniqueName } from "../../../platform/testing/names.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { fillCart, newShopper, orderDb, orderEnv, outboxEvents, placeRequest, startOrder, startPeers, stockedSku, type Peers, type RunningOrder, type Shopper } from "./helpers.js";

const amqpUrl = process.env["TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";

describe("order service: events over RabbitMQ (shipping in, OrderPlaced out)", () => {
  let tdb: TestDatabase;
  let peers: Peers;
  let order: RunningOrder;
  let db: Db;
  let bus: EventBus;
  const exchange = uniqueName("order_events_test");
  const shippingQueue = queueName(exchange, "order", "shipping-events");
  const placedQueue = uniqueName("order_placed_probe");
  const placed: string[] = [];

  before(async () => {
    tdb = await createTestDatabase("order_events");
    peers = await startPeers();
    order = await startOrder(orderEnv(tdb.url, peers, { AMQP_URL: amqpUrl, AMQP_EXCHANGE: exchange }));
    db = orderDb(tdb.url);
    bus = await connectAmqpEventBus({ url: amqpUrl, exchange, appId: uniqueName("shipping-test"), logger: createLogger({ service: "order-events-test", level: "error" }) });
    // A consumer standing in for shipping/cart/notification, to see OrderPlaced arrive.
    await bus.subscribe({ queue: placedQueue, events: [OrderPlacedSchema], db, handler: async (e) => void placed.push(e.message.order?.id ?? "") });
  });

  after(async () => {
    await bus?.close();
    await order?.stop();
    await db?.close();
    await peers?.stop();
    await tdb?.drop();
    const conn = await amqp.connect(amqpUrl);
    try {
      const ch = await conn.createChannel();
      for (const q of [shippingQueue, placedQueue]) {
        await ch.deleteQueue(q);
        await ch.deleteQueue(deadLetterQueueName(q));
      }
      await ch.deleteExchange(exchange);
      await ch.deleteExchange(deadLetterExchangeName(exchange));
    } finally {
      await conn.close();
    }
  });

  async function confirmedOrder(): Promise<{ shopper: Shopper; id: string }> {
    const sku = stockedSku(peers, 1000n);
    const shopper = await newShopper(peers);
    fillCart(peers, shopper, { [sku]: 1 });
    const o = (await order.client.placeOrder(placeRequest(), shopper.call)).order!;
    assert.equal(o.status, OrderStatus.CONFIRMED);
    return { shopper, id: o.id };
  }

  const statusOf = async (s: Shopper, id: string) => (await order.client.getOrder({ orderId: id }, s.call)).order!;
  /** Waits until the order service's consumer has handled (or deliberately ignored) the event. */
  const handled = (eventId: string) =>
    waitFor(`event ${eventId} handled`, async () => ((await db.query("SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2", [shippingQueue, eventId])).rowCount > 0 ? true : undefined));
  const send = async (envelope: ReturnType<typeof createEnvelope>) => {
    await bus.publish(envelope);
    return envelope.id;
  };
  const reach = (s: Shopper, id: string, status: OrderStatus) => waitFor(`order ${OrderStatus[status]}`, async () => ((await statusOf(s, id)).status === status ? true : undefined));

  it("publishes OrderPlaced to the exchange through the outbox", async () => {
    const { id } = await confirmedOrder();
    await waitFor("OrderPlaced delivered", () => placed.includes(id) || undefined);
  });

  it("follows the shipment to SHIPPED and DELIVERED, once per event, emitting OrderShipped and OrderDelivered", async () => {
    const { shopper, id } = await confirmedOrder();
    const shipmentId = "3f0c4b5e-8a55-4d1e-9a0b-6f7e8d9c0a1b";
    const base = { shipmentId, orderId: id, userId: shopper.id };
    await bus.publish(createEnvelope(ShipmentCreatedSchema, base));
    await reach(shopper, id, OrderStatus.FULFILLING);
    const shipped = createEnvelope(ShipmentShippedSchema, { ...base, carrier: "sandbox", trackingNumber: "SBX123" });
    await bus.publish(shipped);
    await bus.publish(shipped); // a redelivery: same event id
    await reach(shopper, id, OrderStatus.SHIPPED);
    await bus.publish(createEnvelope(ShipmentDeliveredSchema, base));
    await reach(shopper, id, OrderStatus.DELIVERED);
    // A late ShipmentCreated is behind the order now: ignored.
    await handled(await send(createEnvelope(ShipmentCreatedSchema, base)));

    const o = await statusOf(shopper, id);
    assert.equal(o.shipmentId, shipmentId);
    assert.deepEqual(o.statusHistory.map((h) => h.status), [OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.FULFILLING, OrderStatus.SHIPPED, OrderStatus.DELIVERED]);
    const shippedEvents = (await outboxEvents(db, OrderShippedSchema)).filter((e) => e.orderId === id);
    assert.deepEqual(shippedEvents.map((e) => [e.carrier, e.trackingNumber, e.shipmentId]), [["sandbox", "SBX123", shipmentId]]);
    const delivered = (await outboxEvents(db, OrderDeliveredSchema)).filter((e) => e.orderId === id);
    assert.equal(delivered.length, 1);
    assert.equal(delivered[0]?.lines.length, 1);
  });

  it("leaves a cancelled order cancelled when its shipment reports shipped", async () => {
    const { shopper, id } = await confirmedOrder();
    await order.client.cancelOrder({ orderId: id, reason: "no longer needed" }, shopper.call);
    await handled(await send(createEnvelope(ShipmentShippedSchema, { shipmentId: "5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", orderId: id, userId: shopper.id, carrier: "sandbox" })));
    assert.equal((await statusOf(shopper, id)).status, OrderStatus.CANCELLED);
  });
});
