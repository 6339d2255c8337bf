// The order-event consumer on real RabbitMQ (a unique exchange, so runs never share queues): an
// OrderPlaced delivered twice by the broker creates one shipment, and the shipment's own events
// leave through the outbox relay to the same exchange.
import assert from "node:assert/strict";
import amqp from "amqplib";
import { OrderPlacedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { ShipmentCreatedSchema } from "../../../gen/shop/shipping/v1/events_pb.js";
import { connectAmqpEventBus, createEnvelope, deadLetterExchangeName, deadLetterQueueName, type EventBus } from "../../../platform/events/index.js";
import { createLogger } from "../../../platform/logger.js";
import { memorySpans } from "../../../platform/testing/memory-spans.js";
import { uniqueName } from "../../../platform/testing/names.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { as, consumerSpan, deadAddress, orderPlaced, outboxEvents, startShipping, startUsersDouble, type RunningShipping, type UsersDouble } from "./helpers.js";

const AMQP_URL = process.env["TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";
const spans = memorySpans();

describe("shipments from order events (real PostgreSQL and RabbitMQ)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let shipping: RunningShipping;
  let producer: EventBus;
  let exchange: string;

  before(async () => {
    tdb = await createTestDatabase("shipping_amqp");
    users = await startUsersDouble();
    exchange = uniqueName("test_shipping");
    shipping = await startShipping(
      { databaseUrl: tdb.url, users: users.address, catalog: await deadAddress() },
      { env: { AMQP_URL, AMQP_EXCHANGE: exchange } },
    );
    // The order service's side of the broker.
    producer = await connectAmqpEventBus({ url: AMQP_URL, exchange, appId: "order-test", logger: createLogger({ service: "order-test", level: "error" }) });
  });

  after(async () => {
    await shipping?.stop();
    await producer?.close();
    await users?.stop();
    await tdb?.drop();
    const conn = await amqp.connect(AMQP_URL);
    try {
      const ch = await conn.createChannel();
      const queue = `${exchange}.shipping.orders`;
      await ch.deleteQueue(queue);
      await ch.deleteQueue(deadLetterQueueName(queue));
      await ch.deleteExchange(exchange);
      await ch.deleteExchange(deadLetterExchangeName(exchange));
    } finally {
      await conn.close();
    }
  });

  it("creates one shipment when the broker delivers OrderPlaced twice", async () => {
    const placed = orderPlaced();
    const envelope = createEnvelope(OrderPlacedSchema, placed.message);
    spans.reset();
    await producer.publish(envelope);
    await producer.publish(envelope);

    await waitFor("the first delivery to be handled", () => consumerSpan(spans.getFinishedSpans(), envelope.id, "handled"));
    await waitFor("the second delivery to be recognized", () => consumerSpan(spans.getFinishedSpans(), envelope.id, "duplicate"));
    const owner = as(await users.tokenFor(placed.userId));
    const { shipments } = await shipping.client.listShipments({ orderId: placed.orderId }, owner);
    assert.equal(shipments.length, 1);

    const created = (await outboxEvents(shipping.db, ShipmentCreatedSchema)).filter((e) => e.orderId === placed.orderId);
    assert.deepEqual(created.map((e) => e.shipmentId), [shipments[0]?.id]);
    await waitFor("ShipmentCreated to be published", async () => {
      const { rows } = await shipping.db.query("SELECT 1 FROM outbox WHERE type = $1 AND published_at IS NOT NULL", [ShipmentCreatedSchema.typeName]);
      return rows.length === 1 || undefined;
    });
  });
});
