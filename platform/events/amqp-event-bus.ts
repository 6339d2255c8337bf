// The RabbitMQ event bus: publisher, subscriber and dead-letter tools over one supervised
// connection, against one topic exchange.
//
// Every event type is its own routing key (`shop.order.v1.OrderPlaced`), so a queue binds to
// exactly the types it decodes, and a whole package can be bound with `shop.order.v1.*` later
// without changing producers.
import { createAmqpConnection, type AmqpConnection } from "./amqp-connection.js";
import { createAmqpSubscriber, deadLetterExchangeName } from "./consumer.js";
import { createAmqpDeadLetterAdmin } from "./dead-letters.js";
import type { EventBus, Subscription } from "./event-bus.js";
import { toAmqpOptions } from "./event-codec.js";
import type { Logger } from "../logger.js";
import { closeQuietly } from "./amqp-connection.js";

export interface AmqpEventBusOptions {
  connection: AmqpConnection;
  /** The topic exchange, e.g. `shop.events`. */
  exchange: string;
  /** The producing service, sent as the AMQP `app-id`. */
  appId: string;
  logger: Logger;
}

/**
 * Declares the exchanges (now if connected, and after every reconnection) and returns the bus.
 * Closing the bus cancels its subscriptions; the connection stays the caller's to close.
 */
export async function createAmqpEventBus(opts: AmqpEventBusOptions): Promise<EventBus> {
  const { connection, exchange } = opts;
  await connection.addSetup(async (model) => {
    const ch = await model.createChannel();
    try {
      await ch.assertExchange(exchange, "topic", { durable: true });
      await ch.assertExchange(deadLetterExchangeName(exchange), "direct", { durable: true });
    } finally {
      await closeQuietly(ch);
    }
  });
  const subscriber = createAmqpSubscriber({ connection, exchange, logger: opts.logger });
  const admin = createAmqpDeadLetterAdmin({ connection });
  const subscriptions = new Set<Subscription>();

  return {
    destination: { system: "rabbitmq", name: exchange },
    publish: (envelope) =>
      connection.publish(
        exchange,
        envelope.type,
        Buffer.from(envelope.payload.buffer, envelope.payload.byteOffset, envelope.payload.byteLength),
        toAmqpOptions(envelope, opts.appId),
      ),
    async subscribe(sub) {
      const s = await subscriber.subscribe(sub);
      const tracked: Subscription = {
        queue: s.queue,
        close: async () => {
          subscriptions.delete(tracked);
          await s.close();
        },
      };
      subscriptions.add(tracked);
      return tracked;
    },
    listDeadLetters: (queue, limit) => admin.listDeadLetters(queue, limit),
    replayDeadLetters: (queue, limit) => admin.replayDeadLetters(queue, limit),
    isReady: () => connection.isConnected(),
    async close() {
      await Promise.allSettled([...subscriptions].map((s) => s.close()));
    },
  };
}

export interface ConnectAmqpEventBusOptions extends Omit<AmqpEventBusOptions, "connection"> {
  url: string;
  /** How long start-up waits for the broker before giving up. Default 10s. */
  connectTimeoutMs?: number;
}

/**
 * The usual wiring for a service's main.ts: a supervised connection named after the service and
 * a bus on it. `close` closes both.
 */
export async function connectAmqpEventBus(opts: ConnectAmqpEventBusOptions): Promise<EventBus & { connection: AmqpConnection }> {
  const connection = createAmqpConnection({ url: opts.url, logger: opts.logger, name: opts.appId });
  try {
    await connection.waitConnected(opts.connectTimeoutMs ?? 10_000);
    const bus = await createAmqpEventBus({ ...opts, connection });
    return {
      ...bus,
      connection,
      async close() {
        await bus.close();
        await connection.close();
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}
