import assert from "node:assert/strict";
import { uniqueName } from "../../testing/names.js";
import { waitFor } from "../../testing/wait-for.js";
import amqp from "amqplib";
import { connectAmqpEventBus, createAmqpEventBus } from "../amqp-event-bus.js";
import { createAmqpConnection, type AmqpConnection } from "../amqp-connection.js";
import type { EventBus } from "../event-bus.js";
import { enqueueEvent } from "../outbox.js";
import { createOutboxRelay, type OutboxRelay } from "../outbox-relay.js";
import {
  amqpUrl,
  closeBrokerConnections,
  createEventsDb,
  deleteTopology,
  effectOrderIds,
  orderPlaced,
  OrderPlacedSchema,
  recordEffect,
  testLogger,
  type EventsDb,
} from "./event-fixtures.js";

describe("supervised AMQP connection", () => {
  let edb: EventsDb;
  let exchange: string;
  let queue: string;
  let appPrefix: string;
  let producer: EventBus & { connection: AmqpConnection };
  let consumer: EventBus & { connection: AmqpConnection };
  let relay: OutboxRelay;
  const logger = testLogger();

  before(async () => {
    edb = await createEventsDb();
    exchange = uniqueName("evt_reconnect");
    queue = uniqueName("q_reconnect");
    appPrefix = uniqueName("reconnect");
    // Two services, two connections, as in production: the producer's relay and a consumer.
    // The producer reconnects slowly, so the relay surely tries to publish while disconnected.
    const producerConnection = createAmqpConnection({ url: amqpUrl, logger, name: `${appPrefix}-producer`, minBackoffMs: 600 });
    await producerConnection.waitConnected();
    const producerBus = await createAmqpEventBus({ connection: producerConnection, exchange, appId: "producer", logger });
    producer = { ...producerBus, connection: producerConnection, close: async () => (await producerBus.close(), await producerConnection.close()) };
    consumer = await connectAmqpEventBus({ url: amqpUrl, exchange, appId: `${appPrefix}-consumer`, logger });
    relay = createOutboxRelay({ db: edb.db, publisher: producer, logger, batchSize: 20, pollIntervalMs: 100 });
  });
  after(async () => {
    await relay.stop();
    await producer.close();
    await consumer.close();
    await deleteTopology(exchange, [queue]);
    await edb.drop();
  });

  it("delivers every event of a burst exactly once although the broker cuts both connections mid-stream", async () => {
    // After the first 20, handlers hold at a gate until the cut is done: the cut then lands with
    // deliveries in flight whose transactions commit but whose acks can no longer reach the broker.
    let started = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    await consumer.subscribe({
      queue,
      events: [OrderPlacedSchema],
      db: edb.db,
      prefetch: 5,
      deliveryLimit: 10,
      retryDelayMs: 10,
      handler: async (event, q) => {
        if (++started > 20) await gate;
        await recordEffect(queue)(event, q);
      },
    });
    await relay.start();
    const expected: string[] = [];
    const enqueueBatch = (): Promise<void> =>
      edb.db.tx(async (q) => {
        for (let i = 0; i < 5; i++) {
          const id = `burst-${expected.length}`;
          expected.push(id);
          await enqueueEvent(q, OrderPlacedSchema, orderPlaced(id));
        }
      });

    while (expected.length < 100) await enqueueBatch();
    await waitFor("the first events handled", async () => (await effectOrderIds(edb.db, queue)).length >= 20 || undefined);
    // The producer keeps producing while the connections are cut and re-established, so the
    // relay's publishes fail mid-stream and must be retried from the outbox.
    let cutDone = false;
    const producing = (async () => {
      while (!cutDone) await enqueueBatch();
      for (let i = 0; i < 20; i++) await enqueueBatch();
    })();
    const cut = await closeBrokerConnections(appPrefix);
    cutDone = true;
    await producing;
    assert.equal(cut, 2);
    const n = expected.length;
    await waitFor("the cut to be noticed", () => consumer.connection.connectionCount() > 1 || !consumer.isReady() || undefined);
    openGate();

    await waitFor("both sides reconnected", () => (producer.connection.connectionCount() >= 2 && consumer.connection.connectionCount() >= 2) || undefined);
    await waitFor("every event handled", async () => (await effectOrderIds(edb.db, queue)).length >= n || undefined, { timeoutMs: 15_000 });
    await waitFor("the outbox drained", async () => (await relay.stats()).backlog === 0 || undefined);
    const handled = await effectOrderIds(edb.db, queue);
    assert.equal(handled.length, n, "no event handled twice");
    assert.deepEqual([...handled].sort(), [...expected].sort(), "no event lost");
    assert.ok(producer.isReady() && consumer.isReady());
  });

  it("resolves a publish only once confirmed: after a cut, every confirmed message is in the queue", async () => {
    const name = uniqueName("confirms");
    const target = uniqueName("q_confirms");
    const admin = await amqp.connect(amqpUrl);
    const ch = await admin.createChannel();
    await ch.assertExchange(exchange, "topic", { durable: true });
    await ch.assertQueue(target, { durable: true });
    await ch.bindQueue(target, exchange, "confirms.#");
    const connection = createAmqpConnection({ url: amqpUrl, logger, name });
    try {
      await connection.waitConnected();
      let confirmed = 0;
      let rejected = 0;
      let cutDone = false;
      const cutting = closeBrokerConnections(name).finally(() => (cutDone = true));
      // Keep a window of publishes in flight until the cut has surely happened.
      while (!cutDone || rejected === 0) {
        const window = Array.from({ length: 50 }, (_, i) =>
          connection.publish(exchange, "confirms.test", Buffer.from(String(i)), { persistent: true }),
        );
        for (const r of await Promise.allSettled(window)) {
          if (r.status === "fulfilled") confirmed++;
          else rejected++;
        }
        if (confirmed + rejected > 200_000) break;
      }
      assert.equal(await cutting, 1);
      assert.ok(rejected > 0, "publishes in flight at the cut were rejected, not reported as sent");
      const { messageCount } = await ch.checkQueue(target);
      // A rejected publish may still have arrived (its confirm was lost with the connection): that
      // is the duplicate at-least-once allows. A confirmed one that did not arrive would be a loss.
      assert.ok(messageCount >= confirmed, `confirmed ${confirmed} but only ${messageCount} queued`);
      assert.ok(messageCount <= confirmed + rejected);
      await connection.waitConnected();
      assert.ok(connection.connectionCount() >= 2);
    } finally {
      await connection.close();
      await ch.deleteQueue(target);
      await admin.close();
    }
  });

  it("settles every publish in flight at a cut, also when the broker confirmed them out of order", async () => {
    // Unroutable messages are confirmed at once, routed ones only after the quorum queue wrote
    // them: interleaved, the confirms come back out of order, and a cut then finds gaps in the
    // channel's window of unconfirmed publishes. Every publish of the window must still end,
    // confirmed or rejected; one that never does would hold a relay's batch forever.
    const name = uniqueName("gaps");
    const target = uniqueName("q_gaps");
    const admin = await amqp.connect(amqpUrl);
    const ch = await admin.createChannel();
    await ch.assertExchange(exchange, "topic", { durable: true });
    await ch.assertQueue(target, { durable: true, arguments: { "x-queue-type": "quorum" } });
    await ch.bindQueue(target, exchange, "gaps.routed");
    const connection = createAmqpConnection({ url: amqpUrl, logger, name });
    try {
      await connection.waitConnected();
      let rejected = 0;
      let cutDone = false;
      const cutting = closeBrokerConnections(name).finally(() => (cutDone = true));
      while (!cutDone || rejected === 0) {
        const window = Array.from({ length: 100 }, (_, i) =>
          connection.publish(exchange, i % 2 === 0 ? "gaps.routed" : "gaps.nowhere", Buffer.from(String(i)), { persistent: true }),
        );
        let timer: NodeJS.Timeout | undefined;
        const stuck = new Promise<"stuck">((resolve) => (timer = setTimeout(() => resolve("stuck"), 10_000)));
        const results = await Promise.race([Promise.allSettled(window), stuck]);
        clearTimeout(timer);
        assert.notEqual(results, "stuck", "a publish in flight at the cut was neither confirmed nor rejected");
        if (results !== "stuck") rejected += results.filter((r) => r.status === "rejected").length;
        // While disconnected, publishes reject without I/O: let the cut's own exit event through.
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(await cutting, 1);
      await connection.waitConnected();
    } finally {
      await connection.close();
      await ch.deleteQueue(target);
      await admin.close();
    }
  });
});
