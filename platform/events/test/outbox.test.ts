import assert from "node:assert/strict";
import { uniqueName } from "../../testing/names.js";
import { waitFor } from "../../testing/wait-for.js";
import { connectAmqpEventBus } from "../amqp-event-bus.js";
import type { EventBus } from "../event-bus.js";
import { enqueueEvent, pruneOutbox } from "../outbox.js";
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

describe("outbox and relay (PostgreSQL + RabbitMQ)", () => {
  let edb: EventsDb;
  let exchange: string;
  let queue: string;
  let bus: EventBus;
  let tap: Tap;
  const relays: OutboxRelay[] = [];
  const logger = testLogger();

  before(async () => {
    edb = await createEventsDb();
  });
  after(async () => {
    await edb.drop();
  });

  beforeEach(async () => {
    exchange = uniqueName("evt_outbox");
    queue = uniqueName("q_outbox");
    await edb.db.query("TRUNCATE outbox, inbox, effects");
    tap = await tapExchange(exchange);
    bus = await connectAmqpEventBus({ url: amqpUrl, exchange, appId: uniqueName("outbox-test"), logger });
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await bus.close();
    await tap.close();
    await deleteTopology(exchange, [queue]);
  });

  function relay(opts: { pollIntervalMs?: number; batchSize?: number } = {}): OutboxRelay {
    const r = createOutboxRelay({ db: edb.db, publisher: bus, logger, batchSize: opts.batchSize ?? 10, pollIntervalMs: opts.pollIntervalMs ?? 100 });
    relays.push(r);
    return r;
  }

  it("never publishes an event from a rolled-back transaction; committed ones go out in order and are marked", async () => {
    await bus.subscribe({ queue, events: [OrderPlacedSchema], db: edb.db, handler: recordEffect(queue), prefetch: 1 });
    // A long poll interval: the relay must be woken by the commit's NOTIFY, not by its timer.
    await relay({ pollIntervalMs: 60_000 }).start();

    await assert.rejects(
      edb.db.tx(async (q) => {
        await enqueueEvent(q, OrderPlacedSchema, orderPlaced("rolled-back"));
        throw new Error("business rule failed after the event was enqueued");
      }),
      /business rule failed/,
    );
    const expected = Array.from({ length: 25 }, (_, i) => `order-${i}`);
    const ids: string[] = [];
    for (const orderId of expected) {
      ids.push(await edb.db.tx((q) => enqueueEvent(q, OrderPlacedSchema, orderPlaced(orderId))));
    }

    await waitFor("every committed event handled", async () => (await effectOrderIds(edb.db, queue)).length === expected.length || undefined);
    assert.deepEqual(await effectOrderIds(edb.db, queue), expected, "handled in commit order, rolled-back one absent");
    assert.deepEqual(tap.ids, ids, "published exactly these ids, in order, once each");
    const { rows } = await edb.db.query<{ n: number; unmarked: number }>(
      "SELECT count(*)::int AS n, count(*) FILTER (WHERE published_at IS NULL)::int AS unmarked FROM outbox",
    );
    assert.deepEqual(rows[0], { n: 25, unmarked: 0 });
  });

  it("reports backlog and lag while the relay is stopped, and zero once drained", async () => {
    const r = relay();
    for (let i = 0; i < 3; i++) await edb.db.tx((q) => enqueueEvent(q, OrderPlacedSchema, orderPlaced(`o${i}`)));
    await edb.db.query("UPDATE outbox SET created_at = now() - interval '5 seconds'");
    const before = await r.stats();
    assert.equal(before.backlog, 3);
    assert.ok(before.lagMs >= 5000 && before.lagMs < 60_000, `lag ${before.lagMs}`);

    assert.equal(await r.drain(), 3);
    assert.deepEqual(await r.stats(), { backlog: 0, lagMs: 0 });
    await waitFor("three publishes seen", () => tap.ids.length === 3 || undefined);
  });

  it("gives up on a confirm that never comes: the row stays unpublished and goes out on the next round", async () => {
    // A publisher whose first publish is never confirmed (a broker that loses a confirm on a live channel).
    let calls = 0;
    const lossy: EventBus = { ...bus, publish: (envelope) => (++calls === 1 ? new Promise<void>(() => undefined) : bus.publish(envelope)) };
    const r = createOutboxRelay({ db: edb.db, publisher: lossy, logger, batchSize: 10, pollIntervalMs: 100, confirmTimeoutMs: 300 });
    relays.push(r);
    await edb.db.tx(async (q) => {
      await enqueueEvent(q, OrderPlacedSchema, orderPlaced("lost-confirm"));
      await enqueueEvent(q, OrderPlacedSchema, orderPlaced("confirmed"));
    });
    await assert.rejects(r.drain(), /no publisher confirm within 300ms/);
    assert.equal((await r.stats()).backlog, 1, "the confirmed row is marked, the unconfirmed one is not");
    assert.equal(await r.drain(), 1);
    assert.equal((await r.stats()).backlog, 0);
    await waitFor("both events reached the exchange", () => tap.ids.length >= 2 || undefined);
  });

  it("lets several relays share one outbox without publishing any row twice", async () => {
    const n = 120;
    await edb.db.tx(async (q) => {
      for (let i = 0; i < n; i++) await enqueueEvent(q, OrderPlacedSchema, orderPlaced(`bulk-${i}`));
    });
    await Promise.all([relay({ batchSize: 7 }).start(), relay({ batchSize: 7 }).start(), relay({ batchSize: 7 }).start()]);
    await waitFor("all rows published", async () => (await relays[0]!.stats()).backlog === 0 || undefined);
    await waitFor("all publishes reached the exchange", () => tap.ids.length >= n || undefined);
    assert.equal(tap.ids.length, n);
    assert.equal(new Set(tap.ids).size, n);
  });

  it("prunes published rows only", async () => {
    const r = relay();
    await edb.db.tx((q) => enqueueEvent(q, OrderPlacedSchema, orderPlaced("old")));
    await r.drain();
    await edb.db.tx((q) => enqueueEvent(q, OrderPlacedSchema, orderPlaced("pending")));
    await edb.db.query("UPDATE outbox SET created_at = now() - interval '2 days', published_at = CASE WHEN published_at IS NULL THEN NULL ELSE now() - interval '2 days' END");
    assert.equal(await pruneOutbox(edb.db, 24 * 3600 * 1000), 1);
    assert.deepEqual((await r.stats()).backlog, 1);
  });
});
