// The MongoDB outbox and inbox with the platform's one relay and consumer, against a real
// MongoDB replica set (MONGO_URL; skipped without it): only committed events go out, replicas
// share an outbox without publishing twice, a relay that dies before marking republishes, and
// the consumer's effect happens once however often an event arrives.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { ClientSession } from "mongodb";
import { OrderPlacedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { createEnvelope, createMemoryEventBus, createOutboxRelay, type EventBus, type EventEnvelope, type EventPublisher, type OutboxRelay } from "../../events/index.js";
import { createLogger } from "../../logger.js";
import { createTestMongoDatabase, requireMongo, type TestMongoDatabase } from "../../testing/mongo.js";
import { waitFor } from "../../testing/wait-for.js";
import { connectMongo, createMongoInbox, createMongoOutboxSource, enqueueMongoEvent, ensureMongoInbox, ensureMongoOutbox, type Mongo } from "../index.js";

const log = createLogger({ service: "mongo-events-test", level: "error" });
const placed = (orderId: string) => ({ order: { id: orderId, userId: "user-1" } });

/** A publisher that keeps what it was given; `fail` makes the next publishes reject. */
function recorder(): EventPublisher & { readonly seen: EventEnvelope[]; fail: boolean } {
  const r = {
    destination: { system: "test", name: "recorder" },
    seen: [] as EventEnvelope[],
    fail: false,
    publish(envelope: EventEnvelope) {
      if (r.fail) return Promise.reject(new Error("broker down"));
      r.seen.push(envelope);
      return Promise.resolve();
    },
  };
  return r;
}

describe("MongoDB outbox and inbox (real replica set)", function () {
  this.timeout(30_000);
  let database: TestMongoDatabase;
  let mongo: Mongo;
  const relays: OutboxRelay[] = [];

  before(async function () {
    const url = requireMongo(this, "MongoDB outbox and inbox");
    database = createTestMongoDatabase(url, "events");
    mongo = await connectMongo({ url: database.url, defaultDb: database.name, appName: "mongo-events-test", log });
    await ensureMongoOutbox(mongo);
    await ensureMongoInbox(mongo);
  });
  after(async () => {
    await mongo?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    await mongo.db.collection("outbox").deleteMany({});
    await mongo.db.collection("inbox").deleteMany({});
    await mongo.db.collection("effects").deleteMany({});
  });
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  });

  function relay(publisher: EventPublisher, opts: { batchSize?: number; beforeMark?: () => void } = {}): OutboxRelay {
    const r = createOutboxRelay({ source: createMongoOutboxSource(mongo, { log }), publisher, logger: log, pollIntervalMs: 100, batchSize: opts.batchSize ?? 10, ...(opts.beforeMark ? { beforeMark: opts.beforeMark } : {}) });
    relays.push(r);
    return r;
  }

  const enqueue = (orderId: string, abort = false) =>
    mongo
      .tx(async (s: ClientSession) => {
        await mongo.db.collection("orders").insertOne({ _id: orderId as never }, { session: s });
        await enqueueMongoEvent(mongo, s, OrderPlacedSchema, placed(orderId));
        if (abort) throw new Error("rolled back");
      })
      .catch((err: Error) => {
        if (!abort) throw err;
      });

  it("publishes committed events only, marks them, and reports an empty backlog after", async () => {
    const pub = recorder();
    const r = relay(pub);
    await enqueue("a");
    await enqueue("b", true);
    await enqueue("c");
    await r.start();
    await waitFor("two events out", () => (pub.seen.length >= 2 ? true : undefined));
    assert.deepEqual(pub.seen.map((e) => e.type), ["shop.order.v1.OrderPlaced", "shop.order.v1.OrderPlaced"]);
    await waitFor("marked", async () => ((await r.stats()).backlog === 0 ? true : undefined));
    assert.equal(await mongo.db.collection("outbox").countDocuments({ published: true }), 2);
  });

  it("lets two relays share one outbox without publishing any event twice", async () => {
    const pub = recorder();
    for (let i = 0; i < 40; i++) await enqueue(`o${i}`);
    const [r1, r2] = [relay(pub, { batchSize: 3 }), relay(pub, { batchSize: 3 })];
    await Promise.all([r1.start(), r2.start()]);
    await waitFor("all out", async () => ((await r1.stats()).backlog === 0 ? true : undefined));
    const ids = pub.seen.map((e) => e.id);
    assert.equal(ids.length, 40);
    assert.equal(new Set(ids).size, 40);
  });

  it("keeps events whose publish failed and sends them once the broker is back", async () => {
    const pub = recorder();
    pub.fail = true;
    const r = relay(pub);
    await r.start();
    await enqueue("late");
    await new Promise((res) => setTimeout(res, 300));
    assert.equal((await r.stats()).backlog, 1);
    pub.fail = false;
    await waitFor("sent after the outage", () => (pub.seen.length === 1 ? true : undefined));
  });

  it("republishes after a relay dies between publish and mark, and the consumer's effect still happens once", async () => {
    const bus: EventBus = createMemoryEventBus({ logger: log });
    try {
      const queue = `q_${randomUUID()}`;
      await bus.subscribe({
        queue,
        events: [OrderPlacedSchema],
        inbox: createMongoInbox(mongo),
        handler: async (event, s: ClientSession) => {
          await mongo.db.collection("effects").insertOne({ eventId: event.id, orderId: event.message.order?.id }, { session: s });
        },
      });
      await enqueue("crash");
      const dying = relay(bus, { beforeMark: () => { throw new Error("process died"); } });
      await dying.drain().catch(() => undefined);
      // A process that really died would leave its lease to expire; expire it now, and a later relay sends it again.
      await mongo.db.collection("outbox").updateMany({}, { $set: { leaseUntil: new Date(0) } });
      await relay(bus).drain();
      await waitFor("handled", async () => ((await mongo.db.collection("effects").countDocuments()) >= 1 ? true : undefined));
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(await mongo.db.collection("effects").countDocuments(), 1);
    } finally {
      await bus.close();
    }
  });

  it("handles concurrent copies of one event once", async () => {
    const inbox = createMongoInbox(mongo);
    const envelope = createEnvelope(OrderPlacedSchema, placed("dup"));
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => inbox.once("q", envelope.id, async (s) => void (await mongo.db.collection("effects").insertOne({ eventId: envelope.id }, { session: s })))),
    );
    assert.deepEqual(outcomes.filter((o) => o === "handled").length, 1);
    assert.equal(await mongo.db.collection("effects").countDocuments({ eventId: envelope.id }), 1);
  });
});
