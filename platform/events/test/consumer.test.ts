import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { metricsText } from "../../metrics/index.js";
import { exposition } from "../../testing/metrics.js";
import { memorySpans } from "../../testing/memory-spans.js";
import { uniqueName } from "../../testing/names.js";
import { waitFor } from "../../testing/wait-for.js";
import type { AmqpConnection } from "../amqp-connection.js";
import { connectAmqpEventBus } from "../amqp-event-bus.js";
import type { EventBus } from "../event-bus.js";
import { createEnvelope, EVENT_CONTENT_TYPE } from "../event-codec.js";
import {
  amqpUrl,
  createEventsDb,
  deleteTopology,
  effectOrderIds,
  orderPlaced,
  OrderPlacedSchema,
  recordEffect,
  testLogger,
  type EventsDb,
} from "./event-fixtures.js";

describe("AMQP consumer: dedupe, retries, dead letters", () => {
  let edb: EventsDb;
  let exchange: string;
  let queue: string;
  let bus: EventBus & { connection: AmqpConnection };
  const logger = testLogger();

  before(async () => {
    edb = await createEventsDb();
  });
  after(async () => {
    await edb.drop();
  });
  beforeEach(async () => {
    exchange = uniqueName("evt_consumer");
    queue = uniqueName("q_consumer");
    bus = await connectAmqpEventBus({ url: amqpUrl, exchange, appId: uniqueName("consumer-test"), logger });
  });
  afterEach(async () => {
    await bus.close();
    await deleteTopology(exchange, [queue]);
  });

  const publishOrder = (orderId: string) => bus.publish(createEnvelope(OrderPlacedSchema, orderPlaced(orderId)));

  it("does not run the handler again for a redelivered event id", async () => {
    await bus.subscribe({ queue, events: [OrderPlacedSchema], db: edb.db, handler: recordEffect(queue), prefetch: 1 });
    const dup = createEnvelope(OrderPlacedSchema, orderPlaced("dup"));
    await bus.publish(dup);
    await bus.publish(dup);
    await publishOrder("marker"); // handled strictly after both copies (prefetch 1)
    await waitFor("the marker handled", async () => (await effectOrderIds(edb.db, queue)).includes("marker") || undefined);
    assert.deepEqual(await effectOrderIds(edb.db, queue), ["dup", "marker"]);
  });

  it("does not run the handler twice when copies of one event are handled concurrently", async () => {
    const spans = memorySpans();
    await bus.subscribe({
      queue,
      events: [OrderPlacedSchema],
      db: edb.db,
      prefetch: 10,
      handler: async (event, q) => {
        await new Promise((r) => setTimeout(r, 30)); // keep the first transaction open while the others arrive
        await recordEffect(queue)(event, q);
      },
    });
    const dup = createEnvelope(OrderPlacedSchema, orderPlaced("parallel"));
    await Promise.all(Array.from({ length: 5 }, () => bus.publish(dup)));
    const outcomes = await waitFor("all five copies processed", () => {
      const mine = spans.getFinishedSpans().filter((s) => s.name === `process ${queue}`);
      return mine.length === 5 ? mine.map((s) => s.attributes["shop.event.outcome"]) : undefined;
    });
    assert.deepEqual([...outcomes].sort(), ["duplicate", "duplicate", "duplicate", "duplicate", "handled"]);
    assert.deepEqual(await effectOrderIds(edb.db, queue), ["parallel"]);
  });

  it("dead-letters a message whose handler always fails, after the delivery limit, while others flow; replay brings it back", async () => {
    let failing = true;
    let attempts = 0;
    const service = uniqueName("svc");
    await bus.subscribe({
      queue,
      events: [OrderPlacedSchema],
      db: edb.db,
      service,
      prefetch: 5,
      deliveryLimit: 3,
      retryDelayMs: 5,
      handler: async (event, q) => {
        if (event.message.order?.id === "poison" && failing) {
          attempts++;
          throw new Error("handler bug");
        }
        await recordEffect(queue)(event, q);
      },
    });
    const poison = createEnvelope(OrderPlacedSchema, orderPlaced("poison"));
    await bus.publish(poison);
    for (let i = 0; i < 5; i++) await publishOrder(`good-${i}`);

    await waitFor("the good messages handled", async () => (await effectOrderIds(edb.db, queue)).length === 5 || undefined);
    const dead = await waitFor("the poison message in the DLQ", async () => {
      const list = await bus.listDeadLetters(queue);
      return list.length === 1 ? list : undefined;
    });
    assert.equal(attempts, 3, "delivered exactly deliveryLimit times");
    assert.equal(dead[0]?.id, poison.id);
    assert.equal(dead[0]?.type, "shop.order.v1.OrderPlaced");
    assert.equal(dead[0]?.reason, "delivery_limit");
    assert.equal((await bus.listDeadLetters(queue)).length, 1, "listing does not consume");
    const labels = { service, queue };
    const counted = await waitFor("the dead letter counted and seen in the DLQ's depth", async () => {
      const m = exposition(await metricsText());
      return m.value("shop_events_consumed_total", { ...labels, outcome: "handled" }) === 5 && m.value("shop_events_dead_letters", labels) === 1 ? m : undefined;
    });
    assert.equal(counted.value("shop_events_consumed_total", { ...labels, type: OrderPlacedSchema.typeName, outcome: "failed" }), 2, "handed back twice");
    assert.equal(counted.value("shop_events_consumed_total", { ...labels, outcome: "dead_lettered" }), 1, "given up on the third delivery");
    assert.equal(counted.value("shop_events_queue_depth", labels), 0);

    failing = false; // the bug is fixed and deployed
    assert.equal(await bus.replayDeadLetters(queue), 1);
    await waitFor("the replayed message handled", async () => (await effectOrderIds(edb.db, queue)).includes("poison") || undefined);
    assert.deepEqual(await bus.listDeadLetters(queue), []);
    assert.equal((await effectOrderIds(edb.db, queue)).length, 6);
    const replayed = await waitFor("the replay counted", async () => {
      const m = exposition(await metricsText());
      return m.value("shop_events_consumed_total", { ...labels, outcome: "handled" }) === 6 ? m : undefined;
    });
    assert.equal(replayed.value("shop_events_dead_letters", labels), 0);
  });

  it("sends undecodable payloads straight to the DLQ without running the handler", async () => {
    let calls = 0;
    const service = uniqueName("svc");
    await bus.subscribe({
      queue,
      events: [OrderPlacedSchema],
      db: edb.db,
      service,
      deliveryLimit: 5,
      handler: async (event, q) => {
        calls++;
        await recordEffect(queue)(event, q);
      },
    });
    const garbageId = randomUUID();
    const props = { type: OrderPlacedSchema.typeName, contentType: EVENT_CONTENT_TYPE, persistent: true };
    await bus.connection.publish(exchange, OrderPlacedSchema.typeName, Buffer.from([0xff, 0xff, 0xff]), { ...props, messageId: garbageId });
    await bus.connection.publish(exchange, OrderPlacedSchema.typeName, Buffer.from([]), props); // no message id
    await publishOrder("fine");

    await waitFor("the good message handled", async () => (await effectOrderIds(edb.db, queue)).includes("fine") || undefined);
    const dead = await waitFor("both poison messages dead-lettered", async () => {
      const list = await bus.listDeadLetters(queue);
      return list.length === 2 ? list : undefined;
    });
    assert.deepEqual(dead.map((d) => d.reason), ["rejected", "rejected"], "rejected at once, not after retries");
    assert.ok(dead.some((d) => d.id === garbageId));
    assert.equal(calls, 1);
    const m = exposition(await metricsText());
    assert.equal(m.value("shop_events_consumed_total", { service, queue, outcome: "dead_lettered" }), 2);
    assert.equal(m.value("shop_events_consumed_total", { service, queue, outcome: "failed" }), undefined, "never retried");
  });
});
