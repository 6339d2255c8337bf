import assert from "node:assert/strict";
import { uniqueName } from "../../testing/names.js";
import { waitFor } from "../../testing/wait-for.js";
import { connectAmqpEventBus } from "../amqp-event-bus.js";
import type { EventBus } from "../event-bus.js";
import { enqueueEvent } from "../outbox.js";
import { createOutboxRelay, type OutboxRelay } from "../outbox-relay.js";
import {
  amqpUrl,
  createEventsDb,
  deleteTopology,
  effectOrderIds,
  orderPlaced,
  OrderPlacedSchema,
  recordEffect,
  tapExchange,
  testLogger,
  type EventsDb,
  type Tap,
} from "./event-fixtures.js";

describe("outbox relay crash between publish and mark", () => {
  let edb: EventsDb;
  let exchange: string;
  let queue: string;
  let bus: EventBus;
  let tap: Tap;
  const relays: OutboxRelay[] = [];
  const logger = testLogger();

  before(async () => {
    edb = await createEventsDb();
    exchange = uniqueName("evt_crash");
    queue = uniqueName("q_crash");
    tap = await tapExchange(exchange);
    bus = await connectAmqpEventBus({ url: amqpUrl, exchange, appId: uniqueName("crash-test"), logger });
  });
  after(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await bus.close();
    await tap.close();
    await deleteTopology(exchange, [queue]);
    await edb.drop();
  });

  it("republishes after a restart, and the consumer's effect still happens exactly once", async () => {
    // prefetch 1: the queue is handled strictly in order, so once a later event's effect shows,
    // every delivery before it (the republished duplicate included) has been dealt with.
    await bus.subscribe({ queue, events: [OrderPlacedSchema], db: edb.db, handler: recordEffect(queue), prefetch: 1 });

    // This relay "dies" every time right after the broker confirmed and before the rows are marked.
    let crashes = 0;
    const dying = createOutboxRelay({
      db: edb.db,
      publisher: bus,
      logger,
      pollIntervalMs: 50,
      beforeMark: () => {
        crashes++;
        throw new Error("simulated crash after publish, before mark");
      },
    });
    relays.push(dying);
    await dying.start();

    const eventId = await edb.db.tx((q) => enqueueEvent(q, OrderPlacedSchema, orderPlaced("crash-1")));
    await waitFor("the first publish to be handled", async () => (await effectOrderIds(edb.db, queue)).length === 1 || undefined);
    await dying.stop();
    assert.ok(crashes >= 1);
    const { rows } = await edb.db.query<{ published_at: Date | null }>("SELECT published_at FROM outbox WHERE event_id = $1", [eventId]);
    assert.equal(rows[0]?.published_at, null, "the crash left the row unmarked");
    const publishedBeforeRestart = tap.ids.filter((id) => id === eventId).length;

    // The replacement process.
    const healthy = createOutboxRelay({ db: edb.db, publisher: bus, logger, pollIntervalMs: 50 });
    relays.push(healthy);
    await healthy.start();
    await waitFor("the row to be marked", async () => (await healthy.stats()).backlog === 0 || undefined);
    assert.ok(tap.ids.filter((id) => id === eventId).length > publishedBeforeRestart, "published again after the restart");

    await edb.db.tx((q) => enqueueEvent(q, OrderPlacedSchema, orderPlaced("after-crash")));
    await waitFor("the later event to be handled", async () => (await effectOrderIds(edb.db, queue)).includes("after-crash") || undefined);
    assert.deepEqual(await effectOrderIds(edb.db, queue), ["crash-1", "after-crash"]);
  });
});
