// The event platform's public surface. A service produces events with `enqueueEvent` inside its
// own transactions, runs one `createOutboxRelay`, and consumes with `bus.subscribe`; main.ts
// decides whether the bus is RabbitMQ (`connectAmqpEventBus`) or in-process (`createMemoryEventBus`).
export type {
  DeadLetter,
  DeadLetterAdmin,
  EventBus,
  EventEnvelope,
  EventHandler,
  EventInbox,
  InboxOption,
  EventPublisher,
  EventSubscriber,
  ReceivedEvent,
  SubscribeCommon,
  SubscribeOptions,
  Subscription,
} from "./event-bus.js";
export {
  createEnvelope,
  createEventDecoder,
  EVENT_CONTENT_TYPE,
  PoisonEventError,
  type EnvelopeOptions,
  type EventDecoder,
} from "./event-codec.js";
export { enqueueEvent, pruneOutbox, type EnqueueOptions } from "./outbox.js";
export { createPostgresInbox, pruneInbox } from "./handle-event.js";
export { queueName } from "./queue-name.js";
export { eventsMigrationSet } from "./events-migration-set.js";
export {
  createOutboxRelay,
  createPostgresOutboxSource,
  type OutboxRecord,
  type OutboxRelay,
  type OutboxRelayOptions,
  type OutboxSource,
  type OutboxStats,
} from "./outbox-relay.js";
export { createAmqpConnection, type AmqpConnection, type AmqpConnectionOptions } from "./amqp-connection.js";
export {
  connectAmqpEventBus,
  createAmqpEventBus,
  type AmqpEventBusOptions,
  type ConnectAmqpEventBusOptions,
} from "./amqp-event-bus.js";
export { deadLetterExchangeName, deadLetterQueueName } from "./consumer.js";
export { createMemoryEventBus, type MemoryEventBusOptions } from "./memory-bus.js";
