// Handling one delivered event, the same way for every transport: decode, open a CONSUMER span
// continuing the producer's trace, and run the handler in one transaction with the inbox insert.
//
// The inbox row and the handler's writes commit together or not at all. A redelivery (broker
// retry, relay republish after a crash, operator replay) finds the row and is acknowledged
// without running the handler, which is what makes at-least-once delivery safe.
//
// Outcomes are counted here when the processor knows them (handled, duplicate); what becomes of a
// delivery that threw (handed back, or dead-lettered) only the transport knows, so it counts those.
import { ROOT_CONTEXT } from "@opentelemetry/api";
import type { Db, Queryable } from "../db/db.js";
import { recordEventConsumed } from "../metrics/index.js";
import { extractContext, getTracer, inSpan, SpanKind } from "../telemetry.js";
import type { EventEnvelope, EventHandler, EventInbox } from "./event-bus.js";
import type { EventDecoder } from "./event-codec.js";

const tracer = getTracer("shop.events");

export type HandleOutcome = "handled" | "duplicate";

export interface EventProcessorOptions {
  /** Queue name; the consumer's identity in the inbox. */
  queue: string;
  inbox: EventInbox<unknown>;
  decoder: EventDecoder;
  handler: EventHandler<never, never>;
  /** `rabbitmq` or `memory`, for span attributes. */
  system: string;
  /** The consuming service, for metrics. */
  service: string;
}

/** Throws PoisonEventError (never retry) or the handler's error (retry). */
export type EventProcessor = (envelope: EventEnvelope, deliveryCount: number) => Promise<HandleOutcome>;

export function createEventProcessor(opts: EventProcessorOptions): EventProcessor {
  const handler = opts.handler as EventHandler<unknown, unknown>;
  return (envelope, deliveryCount) =>
    inSpan(
      tracer,
      `process ${opts.queue}`,
      {
        kind: SpanKind.CONSUMER,
        // The producer's context, not whatever context the transport's callback runs in.
        parent: extractContext(envelope.headers, ROOT_CONTEXT),
        attributes: {
          "messaging.system": opts.system,
          "messaging.operation.type": "process",
          "messaging.destination.name": opts.queue,
          "messaging.message.id": envelope.id,
          "messaging.message.body.size": envelope.payload.byteLength,
          "messaging.rabbitmq.destination.routing_key": envelope.type,
          "messaging.message.delivery_count": deliveryCount,
        },
      },
      async (span) => {
        const event = opts.decoder.decode(envelope);
        const outcome = await opts.inbox.once(opts.queue, event.id, (q) => handler(event, q));
        span.setAttribute("shop.event.outcome", outcome);
        recordEventConsumed({ service: opts.service, queue: opts.queue, type: event.type, occurredAt: envelope.timestamp }, outcome);
        return outcome;
      },
    );
}

/** The inbox of a subscription: its own, or the inbox table of its PostgreSQL database. */
export function inboxOf(sub: { readonly db: Db } | { readonly inbox: EventInbox<never> }): EventInbox<unknown> {
  return "inbox" in sub ? sub.inbox : createPostgresInbox(sub.db);
}

/** The inbox table of `db` (the eventsMigrationSet's), in the handler's transaction. */
export function createPostgresInbox(db: Db): EventInbox<Queryable> {
  return {
    once: (consumer, eventId, fn) =>
      db.tx(async (q) => {
        if (!(await recordInInbox(q, consumer, eventId))) return "duplicate" as const;
        await fn(q);
        return "handled" as const;
      }),
  };
}

/** True when this is the first time `consumer` sees `eventId` (in this transaction's view). */
async function recordInInbox(q: Queryable, consumer: string, eventId: string): Promise<boolean> {
  // A concurrent delivery of the same id blocks on the primary key until the first transaction
  // ends, then sees the conflict: the handler never runs twice, even in parallel.
  const { rowCount } = await q.query(
    "INSERT INTO inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    [consumer, eventId],
  );
  return rowCount === 1;
}

/**
 * Forgets handled events older than `olderThanMs`, at most `limit` per call. The window must be
 * longer than any redelivery can arrive late, dead-letter replays included (weeks, not hours).
 */
export async function pruneInbox(q: Queryable, olderThanMs: number, limit = 10_000): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM inbox WHERE (consumer, event_id) IN (
       SELECT consumer, event_id FROM inbox
       WHERE handled_at < now() - make_interval(secs => $1::double precision / 1000)
       LIMIT $2)`,
    [olderThanMs, limit],
  );
  return rowCount;
}
