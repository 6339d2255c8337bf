import assert from "node:assert/strict";
import { memorySpans } from "../../testing/memory-spans.js";
import { uniqueName } from "../../testing/names.js";
import { waitFor } from "../../testing/wait-for.js";
import { getTracer, inSpan, SpanKind } from "../../telemetry.js";
import { connectAmqpEventBus } from "../amqp-event-bus.js";
import type { EventBus } from "../event-bus.js";
import { createMemoryEventBus } from "../memory-bus.js";
import { enqueueEvent } from "../outbox.js";
import { createOutboxRelay } from "../outbox-relay.js";
import {
  amqpUrl,
  createEventsDb,
  deleteTopology,
  orderPlaced,
  OrderPlacedSchema,
  recordEffect,
  testLogger,
  type EventsDb,
} from "./event-fixtures.js";

const transports: { name: string; connect: (exchange: string) => Promise<EventBus> }[] = [
  {
    name: "RabbitMQ",
    connect: (exchange) => connectAmqpEventBus({ url: amqpUrl, exchange, appId: uniqueName("trace-test"), logger: testLogger() }),
  },
  { name: "memory bus", connect: async () => createMemoryEventBus({ logger: testLogger() }) },
];

describe("one trace across the outbox, the broker and the consumer", () => {
  let edb: EventsDb;
  before(async () => {
    edb = await createEventsDb();
  });
  after(async () => {
    await edb.drop();
  });

  for (const transport of transports) {
    it(`continues the producing request's trace through publish and consume (${transport.name})`, async () => {
      const spans = memorySpans();
      const exchange = uniqueName("evt_trace");
      const queue = uniqueName("q_trace");
      const bus = await transport.connect(exchange);
      const relay = createOutboxRelay({ db: edb.db, publisher: bus, logger: testLogger(), pollIntervalMs: 50 });
      try {
        await bus.subscribe({ queue, events: [OrderPlacedSchema], db: edb.db, handler: recordEffect(queue) });
        await relay.start();

        // The request that places the order; its trace must reach the consumer.
        const { traceId, spanId, eventId } = await inSpan(getTracer("test"), "PlaceOrder", { kind: SpanKind.SERVER }, async (span) => {
          const id = await edb.db.tx((q) => enqueueEvent(q, OrderPlacedSchema, orderPlaced("traced")));
          return { ...span.spanContext(), eventId: id };
        });

        const consumer = await waitFor("the consumer span", () =>
          spans.getFinishedSpans().find((s) => s.name === `process ${queue}` && s.attributes["messaging.message.id"] === eventId),
        );
        const ancestors = (id: string | undefined): string[] => {
          const chain: string[] = [];
          for (let cur = id; cur; cur = spans.getFinishedSpans().find((s) => s.spanContext().spanId === cur)?.parentSpanContext?.spanId) {
            chain.push(cur);
          }
          return chain;
        };
        const producer = spans
          .getFinishedSpans()
          .find((s) => s.kind === SpanKind.PRODUCER && s.attributes["messaging.message.id"] === eventId);
        assert.ok(producer, "a producer span for the event");
        assert.equal(producer.spanContext().traceId, traceId);
        // Captured at enqueue time, inside the request (and its SQL transaction's span).
        assert.ok(ancestors(producer.parentSpanContext?.spanId).includes(spanId), "publish descends from the request");
        assert.equal(consumer.kind, SpanKind.CONSUMER);
        assert.equal(consumer.spanContext().traceId, traceId, "one trace from request to consumer");
        assert.equal(consumer.parentSpanContext?.spanId, producer.spanContext().spanId, "consume is a child of publish");

        const handlerSql = spans.getFinishedSpans().filter((s) => s.parentSpanContext?.spanId === consumer.spanContext().spanId);
        assert.ok(handlerSql.length > 0, "the handler's transaction is inside the consumer span");
        const pollSql = spans.getFinishedSpans().filter((s) => String(s.attributes["db.query.text"] ?? "").includes("SKIP LOCKED"));
        assert.deepEqual(pollSql, [], "the relay's polling is not traced");
      } finally {
        await relay.stop();
        await bus.close();
        if (transport.name === "RabbitMQ") await deleteTopology(exchange, [queue]);
      }
    });
  }
});
