import assert from "node:assert/strict";
import { uniqueName } from "../../testing/names.js";
import { waitFor } from "../../testing/wait-for.js";
import amqp, { type Channel, type Options } from "amqplib";
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

  /** A queue bound to the suite's exchange by `bindingKey`, through an admin connection of the test's own. */
  async function scratchQueue(prefix: string, bindingKey: string, args: Options.AssertQueue = {}): Promise<{ queue: string; ch: Channel; drop(): Promise<void> }> {
    const queue = uniqueName(prefix);
    const admin = await amqp.connect(amqpUrl);
    const ch = await admin.createChannel();
    await ch.assertExchange(exchange, "topic", { durable: true });
    await ch.assertQueue(queue, { durable: true, ...args });
    await ch.bindQueue(queue, exchange, bindingKey);
    return {
      queue,
      ch,
      async drop() {
        await ch.deleteQueue(queue);
        await admin.close();
      },
    };
  }

  /**
   * Keeps windows of 100 publishes (`publish(i)`) in flight on `connection` while the broker cuts
   * it (found by its `name`), until the cut is done and some publish was rejected (or 20 windows
   * after the cut saw none). Fails when a window does not settle within 10 s: a publish neither
   * confirmed nor rejected.
   */
  async function publishThroughCut(connection: AmqpConnection, name: string, publish: (i: number) => Promise<void>): Promise<{ confirmed: number; rejected: number }> {
    let confirmed = 0;
    let rejected = 0;
    let cutDone = false;
    let windowsAfterCut = 0;
    const cutting = closeBrokerConnections(name).finally(() => (cutDone = true));
    while (!cutDone || (rejected === 0 && windowsAfterCut++ < 20)) {
      const window = Array.from({ length: 100 }, (_, i) => publish(i));
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<"stuck">((resolve) => (timer = setTimeout(() => resolve("stuck"), 10_000)));
      const results = await Promise.race([Promise.allSettled(window), stuck]);
      clearTimeout(timer);
      if (results === "stuck") assert.fail("a publish in flight at the cut was neither confirmed nor rejected");
      for (const r of results) {
        if (r.status === "fulfilled") confirmed++;
        else rejected++;
      }
      // While disconnected, publishes reject without I/O: let the cut's own exit event through.
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(await cutting, 1);
    return { confirmed, rejected };
  }

  it("resolves a publish only once confirmed: after a cut, every confirmed message is in the queue", async () => {
    const name = uniqueName("confirms");
    const target = await scratchQueue("q_confirms", "confirms.#");
    const connection = createAmqpConnection({ url: amqpUrl, logger, name });
    try {
      await connection.waitConnected();
      const { confirmed, rejected } = await publishThroughCut(connection, name, (i) =>
        connection.publish(exchange, "confirms.test", Buffer.from(String(i)), { persistent: true }),
      );
      assert.ok(rejected > 0, "publishes in flight at the cut were rejected, not reported as sent");
      const { messageCount } = await target.ch.checkQueue(target.queue);
      // A rejected publish may still have arrived (its confirm was lost with the connection): that
      // is the duplicate at-least-once allows. A confirmed one that did not arrive would be a loss.
      assert.ok(messageCount >= confirmed, `confirmed ${confirmed} but only ${messageCount} queued`);
      assert.ok(messageCount <= confirmed + rejected);
      await connection.waitConnected();
      assert.ok(connection.connectionCount() >= 2);
    } finally {
      await connection.close();
      await target.drop();
    }
  });

  it("settles every publish in flight at a cut, also when the broker confirmed them out of order", async () => {
    // Unroutable messages are confirmed at once, routed ones only after the quorum queue wrote
    // them: interleaved, the confirms come back out of order, and a cut then finds gaps in the
    // channel's window of unconfirmed publishes. Every publish of the window must still end,
    // confirmed or rejected; one that never does would hold a relay's batch forever.
    const name = uniqueName("gaps");
    const target = await scratchQueue("q_gaps", "gaps.routed", { arguments: { "x-queue-type": "quorum" } });
    const connection = createAmqpConnection({ url: amqpUrl, logger, name });
    try {
      await connection.waitConnected();
      await publishThroughCut(connection, name, (i) =>
        connection.publish(exchange, i % 2 === 0 ? "gaps.routed" : "gaps.nowhere", Buffer.from(String(i)), { persistent: true }),
      );
      await connection.waitConnected();
    } finally {
      await connection.close();
      await target.drop();
    }
  });
});
