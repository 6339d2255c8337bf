// The contract every event transport implements: RabbitMQ (amqp-event-bus.ts) in production,
// an in-process bus (memory-bus.ts) in the embedded single-process mode. A service is written
// once against these interfaces and handed one or the other by its main.ts.
//
// Services do not call `publish` themselves: they enqueue events in their own SQL transaction
// (outbox.ts) and the outbox relay publishes them. `publish` is the relay's port to a transport.
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { Db, Queryable } from "../db/db.js";

/** An event as it travels: already encoded, so transports never need the schema. */
export interface EventEnvelope {
  /** UUID chosen when the event was enqueued; consumers deduplicate by it. */
  readonly id: string;
  /** Full protobuf type name, e.g. `shop.order.v1.OrderPlaced`; also the routing key. */
  readonly type: string;
  /** The message in protobuf binary encoding. */
  readonly payload: Uint8Array;
  /** When the state change that produced the event committed (enqueue time). */
  readonly timestamp: Date;
  /** W3C trace context (`traceparent`, `tracestate`) and nothing else secret or large. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface EventPublisher {
  /** Where events go, for span attributes: `rabbitmq` and the exchange, or `memory`. */
  readonly destination: { readonly system: string; readonly name: string };
  /**
   * Resolves once the transport has taken responsibility for the event (a broker confirm for
   * RabbitMQ, queued for the memory bus); rejects otherwise, and the caller must retry.
   */
  publish(envelope: EventEnvelope): Promise<void>;
}

/** What a handler receives: the decoded message and its identity. */
export interface ReceivedEvent<M = unknown> {
  readonly id: string;
  readonly type: string;
  readonly message: M;
  readonly timestamp: Date;
}

/**
 * Runs inside the transaction that also records the event id in the inbox, so its effect
 * commits together with the dedupe record. Use `q` (not the pool) for every write: a PostgreSQL
 * `Queryable` by default, or what the subscription's `inbox` hands out (a MongoDB session).
 * Throwing rolls both back and the event is retried, then dead-lettered.
 */
export type EventHandler<M, T = Queryable> = (event: ReceivedEvent<M>, q: T) => Promise<void>;

/**
 * Where a consumer records the events it handled: one transaction holds the record and the
 * handler's writes. PostgreSQL's (`db`, the inbox table) is the default; a service on another
 * store supplies its own (platform/mongo's `createMongoInbox`).
 */
export interface EventInbox<T> {
  /**
   * Records `eventId` for `consumer` and runs `fn` in the same transaction; resolves
   * "duplicate" without running `fn` when the id was recorded before (even concurrently).
   */
  once(consumer: string, eventId: string, fn: (tx: T) => Promise<void>): Promise<"handled" | "duplicate">;
}

/** The consuming service's store: its PostgreSQL (`db`, default inbox) or an inbox of its own. */
export type InboxOption<T> = T extends Queryable ? { readonly db: Db } | { readonly inbox: EventInbox<T> } : { readonly inbox: EventInbox<T> };

export type SubscribeOptions<S extends readonly DescMessage[], T = Queryable> = SubscribeCommon<S, T> & InboxOption<T>;

export interface SubscribeCommon<S extends readonly DescMessage[], T> {
  /**
   * Durable queue name, conventionally `<service>.<purpose>`. It is also the consumer's identity
   * in the inbox, so renaming a queue forgets which events were handled.
   */
  queue: string;
  /** The event types delivered to this queue; anything else arriving is treated as poison. */
  events: S;
  handler: EventHandler<MessageShape<S[number]>, T>;
  /**
   * The consuming service: the `service` label of the consumer's metrics. The service bootstrap
   * (platform/service.ts) fills it in; default `unknown`.
   */
  service?: string;
  /** Messages in flight at once (unacked). Default 10. */
  prefetch?: number;
  /** Deliveries before a failing message is dead-lettered. Default 5. */
  deliveryLimit?: number;
  /** Base delay before a failed message is handed back; grows with each delivery. Default 200ms. */
  retryDelayMs?: number;
}

export interface Subscription {
  readonly queue: string;
  /** Stops consuming; messages in flight are handed back, not lost. */
  close(): Promise<void>;
}

export interface EventSubscriber {
  subscribe<const S extends readonly DescMessage[], T = Queryable>(opts: SubscribeOptions<S, T>): Promise<Subscription>;
}

/** A message an operator may inspect in a dead-letter queue. */
export interface DeadLetter {
  readonly id: string;
  readonly type: string;
  readonly timestamp: Date | undefined;
  /** Why it was dead-lettered: `rejected` (undecodable), `delivery_limit`, ... */
  readonly reason: string;
  readonly payload: Uint8Array;
}

export interface DeadLetterAdmin {
  /** Up to `limit` dead letters of `queue`, left in place. */
  listDeadLetters(queue: string, limit?: number): Promise<DeadLetter[]>;
  /** Moves up to `limit` dead letters back to `queue` for another try; returns how many. */
  replayDeadLetters(queue: string, limit?: number): Promise<number>;
}

export interface EventBus extends EventPublisher, EventSubscriber, DeadLetterAdmin {
  /** Readiness: false while the broker connection is down. */
  isReady(): boolean;
  close(): Promise<void>;
}

export const defaultSubscribeOptions = { prefetch: 10, deliveryLimit: 5, retryDelayMs: 200 } as const;
