import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { metricsText } from "../../metrics/index.js";
import { exposition } from "../../testing/metrics.js";
import { uniqueName } from "../../testing/names.js";
import { waitFor } from "../../testing/wait-for.js";
import type { EventBus } from "../event-bus.js";
import { createEnvelope } from "../event-codec.js";
import { createMemoryEventBus } from "../memory-bus.js";
import { enqueueEvent } from "../outbox.js";
import { createOutboxRelay } from "../outbox-relay.js";
import { createEventsDb, effectOrderIds, orderPlaced, OrderPlacedSchema, recordEffect, testLogger, type EventsDb } from "./event-fixtures.js";

describe("in-process event bus (embedded mode)", () => {
  let edb: EventsDb;
  let bus: EventBus;
  let queue: string;

  before(async () => {
    edb = await createEventsDb();
  });
  after(async () => {
    await edb.drop();
  });
  beforeEach(() => {
    bus = createMemoryEventBus({ logger: testLogger() });
    queue = uniqueName("mem");
  });
  afterEach(async () => {
    await bus.close();
  });

  const publishOrder = (orderId: string) => bus.publish(createEnvelope(OrderPlacedSchema, orderPlaced(orderId)));

  it("carries committed outbox events to subscribers in order, and never rolled-back ones", async () => {
    await bus.subscribe({ queue, events: [OrderPlacedSchema], db: edb.db, handler: recordEffect(queue), prefetch: 1 });
    const relay = createOutboxRelay({ db: edb.db, publisher: bus, logger: testLogger(), pollIntervalMs: 60_000 });
    await relay.start();
    try {
      await assert.rejects(
        edb.db.tx(async (q) => {
          await enqueueEvent(q, OrderPlacedSchema, orderPlaced("rolled-back"));
          throw new Error("abort");
        }),
      );
      for (const id of ["a", "b", "c"]) await edb.db.tx((q) => enqueueEvent(q, OrderPlacedSchema, orderPlaced(id)));
      await waitFor("three handled", async () => (await effectOrderIds(edb.db, queue)).length === 3 || undefined);
      assert.deepEqual(await effectOrderIds(edb.db, queue), ["a", "b", "c"]);
    } finally {
      await relay.stop();
    }
  });

  it("does not run the handler again for a redelivered event id", async () => {
    await bus.subscribe({ queue, events: [OrderPlacedSchema], db: edb.db, handler: recordEffect(queue), prefetch: 4 });
    const dup = createEnvelope(OrderPlacedSchema, orderPlaced("dup"));
    await Promise.all([bus.publish(dup), bus.publish(dup), bus.publish(dup)]);
    await publishOrder("marker");
    await waitFor("the marker handled", async () => (await effectOrderIds(edb.db, queue)).includes("marker") || undefined);
    // Let the copies still in flight finish before counting.
    await waitFor("both distinct events recorded in the inbox", async () => {
      const { rows } = await edb.db.query<{ n: number }>("SELECT count(*)::int AS n FROM inbox WHERE consumer = $1", [queue]);
      return rows[0]?.n === 2 || undefined;
    });
    await bus.close(); // waits for deliveries in progress
    assert.deepEqual([...(await effectOrderIds(edb.db, queue))].sort(), ["dup", "marker"]);
  });

  it("retries a failing handler and succeeds within the delivery limit", async () => {
    let attempts = 0;
    await bus.subscribe({
      queue,
      events: [OrderPlacedSchema],
      db: edb.db,
      deliveryLimit: 3,
      retryDelayMs: 5,
      handler: async (event, q) => {
        if (++attempts < 3) throw new Error("transient");
        await recordEffect(queue)(event, q);
      },
    });
    await publishOrder("flaky");
    await waitFor("handled on the third try", async () => (await effectOrderIds(edb.db, queue)).includes("flaky") || undefined);
    assert.equal(attempts, 3);
    assert.deepEqual(await bus.listDeadLetters(queue), []);
  });

  it("dead-letters after the delivery limit while others flow, and replays on request", async () => {
    let failing = true;
    let attempts = 0;
    const service = uniqueName("svc");
    await bus.subscribe({
      queue,
      events: [OrderPlacedSchema],
      db: edb.db,
      service,
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
    for (let i = 0; i < 4; i++) await publishOrder(`good-${i}`);
    await waitFor("the good ones handled", async () => (await effectOrderIds(edb.db, queue)).length === 4 || undefined);
    const dead = await waitFor("a dead letter", async () => ((await bus.listDeadLetters(queue)).length === 1 ? bus.listDeadLetters(queue) : undefined));
    assert.equal(attempts, 3);
    assert.deepEqual(
      dead.map((d) => [d.id, d.reason]),
      [[poison.id, "delivery_limit"]],
    );
    const labels = { service, queue };
    const counted = await waitFor("the good ones counted", async () => {
      const m = exposition(await metricsText());
      return m.value("shop_events_consumed_total", { ...labels, outcome: "handled" }) === 4 ? m : undefined;
    });
    assert.equal(counted.value("shop_events_consumed_total", { ...labels, outcome: "failed" }), 2);
    assert.equal(counted.value("shop_events_consumed_total", { ...labels, outcome: "dead_lettered" }), 1);
    assert.equal(counted.value("shop_events_dead_letters", labels), 1);
    assert.equal(counted.value("shop_events_queue_depth", labels), 0);

    failing = false;
    assert.equal(await bus.replayDeadLetters(queue), 1);
    await waitFor("the replayed one handled", async () => (await effectOrderIds(edb.db, queue)).includes("poison") || undefined);
    assert.deepEqual(await bus.listDeadLetters(queue), []);
    assert.equal(exposition(await metricsText()).value("shop_events_dead_letters", labels), 0);
  });

  it("dead-letters undecodable payloads at once", async () => {
    let calls = 0;
    await bus.subscribe({
      queue,
      events: [OrderPlacedSchema],
      db: edb.db,
      handler: async () => {
        calls++;
      },
    });
    const garbage = { id: randomUUID(), type: OrderPlacedSchema.typeName, payload: new Uint8Array([0xff, 0xff]), timestamp: new Date(), headers: {} };
    await bus.publish(garbage);
    const dead = await waitFor("a dead letter", async () => ((await bus.listDeadLetters(queue)).length === 1 ? bus.listDeadLetters(queue) : undefined));
    assert.equal(dead[0]?.reason, "rejected");
    assert.equal(calls, 0);
  });
});
