// Consuming events from RabbitMQ: one durable quorum queue per subscription, manual acks,
// bounded redelivery counted by the broker, and a dead-letter queue per queue.
//
// Why quorum queues: they are replicated, and they count deliveries themselves
// (`x-delivery-limit`), so a message that crashes its consumer every time still reaches the DLQ
// even though the consumer never gets to say so. `x-dead-letter-strategy: at-least-once` makes
// the broker keep a message until the DLQ confirmed it (it requires `x-overflow: reject-publish`).
import type { Channel, ChannelModel, ConsumeMessage } from "amqplib";
import type { Logger } from "../logger.js";
import { recordEventConsumed, watchQueue } from "../metrics/index.js";
import type { ConnectionSetup, AmqpConnection } from "./amqp-connection.js";
import { closeQuietly } from "./amqp-connection.js";
import { defaultSubscribeOptions, type EventSubscriber, type Subscription } from "./event-bus.js";
import { createEventDecoder, fromAmqpMessage, PoisonEventError } from "./event-codec.js";
import { createEventProcessor, inboxOf } from "./handle-event.js";

export interface AmqpSubscriberOptions {
  connection: AmqpConnection;
  /** The topic exchange events are published to. */
  exchange: string;
  logger: Logger;
}

/** One dead-letter exchange per event exchange; each queue's dead letters are routed by its name. */
export const deadLetterExchangeName = (exchange: string): string => `${exchange}.dlx`;
export const deadLetterQueueName = (queue: string): string => `${queue}.dlq`;

const maxRetryDelayMs = 30_000;

export function createAmqpSubscriber(opts: AmqpSubscriberOptions): EventSubscriber {
  const { connection, exchange } = opts;
  const dlx = deadLetterExchangeName(exchange);

  return {
    async subscribe(sub) {
      const { queue } = sub;
      const prefetch = sub.prefetch ?? defaultSubscribeOptions.prefetch;
      const deliveryLimit = sub.deliveryLimit ?? defaultSubscribeOptions.deliveryLimit;
      const retryDelayMs = sub.retryDelayMs ?? defaultSubscribeOptions.retryDelayMs;
      if (deliveryLimit < 1) throw new Error("deliveryLimit must be at least 1");
      const service = sub.service ?? "unknown";
      const decoder = createEventDecoder(sub.events);
      const processEvent = createEventProcessor({ queue, inbox: inboxOf(sub as Parameters<typeof inboxOf>[0]), decoder, handler: sub.handler, system: "rabbitmq", service });
      const logger = opts.logger.child({ queue });
      let closed = false;
      let current: { ch: Channel; tag: string } | undefined;
      const inFlight = new Set<Promise<void>>();
      const sleepers = new Set<() => void>();
      // A retry pause ends early when the subscription closes, so close() does not wait it out.
      const pause = (ms: number): Promise<void> =>
        new Promise((resolve) => {
          const done = (): void => {
            clearTimeout(t);
            sleepers.delete(done);
            resolve();
          };
          const t = setTimeout(done, ms);
          sleepers.add(done);
        });

      async function handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
        // The broker counts earlier returns of this message in x-delivery-count.
        const deliveryCount = Number((msg.properties.headers ?? {})["x-delivery-count"] ?? 0) + 1;
        // The `type` label: one of the queue's own types, never a value a publisher made up (cardinality).
        const type = [msg.properties.type as unknown, msg.fields.routingKey].find((t): t is string => typeof t === "string" && decoder.types.includes(t)) ?? "unknown";
        try {
          await processEvent(fromAmqpMessage(msg), deliveryCount);
          settle(() => ch.ack(msg));
        } catch (err) {
          if (err instanceof PoisonEventError) {
            // No number of retries will decode it: straight to the DLQ, keeping the queue moving.
            logger.error("poison event dead-lettered", { err, messageId: msg.properties.messageId as unknown });
            recordEventConsumed({ service, queue, type }, "dead_lettered");
            settle(() => ch.nack(msg, false, false));
            return;
          }
          logger.warn("event handler failed; will retry", { err, deliveryCount, messageId: msg.properties.messageId as unknown });
          // Handed back after its last allowed delivery, the broker moves it to the DLQ.
          recordEventConsumed({ service, queue, type }, deliveryCount >= deliveryLimit ? "dead_lettered" : "failed");
          // Holding the message a while before handing it back spaces the retries out, so a short
          // outage of a dependency does not burn through the delivery limit in milliseconds.
          if (!closed) await pause(Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (deliveryCount - 1)));
          settle(() => ch.nack(msg, false, true));
        }
      }

      // After a connection loss the channel is gone and so is the delivery: the broker has already
      // put it back, and acking it on a new channel is impossible. The inbox absorbs the redelivery.
      function settle(fn: () => void): void {
        try {
          fn();
        } catch (err) {
          logger.debug("could not settle a delivery; the broker will redeliver it", { err });
        }
      }

      const setup: ConnectionSetup = async (model: ChannelModel) => {
        const ch = await model.createChannel();
        ch.on("error", (err: unknown) => logger.warn("consumer channel error", { err }));
        try {
          await ch.assertExchange(dlx, "direct", { durable: true });
          await ch.assertQueue(deadLetterQueueName(queue), { durable: true, arguments: { "x-queue-type": "quorum" } });
          await ch.bindQueue(deadLetterQueueName(queue), dlx, queue);
          await ch.assertQueue(queue, {
            durable: true,
            arguments: {
              "x-queue-type": "quorum",
              // The broker's limit counts redeliveries, ours counts deliveries.
              "x-delivery-limit": deliveryLimit - 1,
              "x-dead-letter-exchange": dlx,
              "x-dead-letter-routing-key": queue,
              "x-dead-letter-strategy": "at-least-once",
              "x-overflow": "reject-publish",
            },
          });
          for (const type of decoder.types) await ch.bindQueue(queue, exchange, type);
          await ch.prefetch(prefetch);
          const { consumerTag } = await ch.consume(
            queue,
            (msg) => {
              if (msg === null) {
                logger.warn("consumer cancelled by the broker; re-subscribing");
                connection.retrySetup(setup, model);
                return;
              }
              const p = handle(ch, msg).finally(() => inFlight.delete(p));
              inFlight.add(p);
            },
            { noAck: false },
          );
          current = { ch, tag: consumerTag };
          ch.on("close", () => {
            if (current?.ch === ch) current = undefined;
            if (!closed) connection.retrySetup(setup, model);
          });
        } catch (err) {
          await closeQuietly(ch);
          throw err;
        }
      };

      const unregister = await connection.addSetup(setup);
      // Depth of the queue and its DLQ, asked of the broker when Prometheus scrapes.
      const unwatch = watchQueue(service, queue, () =>
        connection.withChannel(async (ch) => ({
          ready: (await ch.checkQueue(queue)).messageCount,
          deadLettered: (await ch.checkQueue(deadLetterQueueName(queue))).messageCount,
        })),
      );
      const subscription: Subscription = {
        queue,
        async close() {
          closed = true;
          unregister();
          unwatch();
          for (const wake of [...sleepers]) wake();
          const c = current;
          current = undefined;
          if (!c) return;
          try {
            await c.ch.cancel(c.tag);
          } catch {
            // the channel is already gone; its deliveries went back to the queue
          }
          // Let handlers in progress commit and ack; unsettled deliveries return with the channel.
          await Promise.allSettled([...inFlight]);
          await closeQuietly(c.ch);
        },
      };
      return subscription;
    },
  };
}
