// The in-process event bus for the embedded single-process mode (`npm start` without AMQP_URL).
//
// It keeps the semantics a service relies on from RabbitMQ, so the same service code runs on
// both: named queues bound to event types that keep collecting while no consumer is attached,
// payloads that cross as bytes and are decoded per consumer (no shared mutable objects), handler
// plus inbox in one transaction, retries with a growing pause up to a delivery limit, then a
// dead-letter list an operator can read and replay. What it cannot keep is durability: events
// accepted by `publish` live in memory, so a crash loses the ones not yet handled. That is the
// price of running without a broker and is acceptable for development only.
import type { Logger } from "../logger.js";
import { recordEventConsumed, watchQueue } from "../metrics/index.js";
import { defaultSubscribeOptions, type DeadLetter, type EventBus, type EventEnvelope } from "./event-bus.js";
import { createEventDecoder, PoisonEventError } from "./event-codec.js";
import { createEventProcessor, inboxOf, type EventProcessor } from "./handle-event.js";

export interface MemoryEventBusOptions {
  logger: Logger;
}

interface Delivery {
  envelope: EventEnvelope;
  deliveries: number;
}

interface Consumer {
  service: string;
  process: EventProcessor;
  prefetch: number;
  deliveryLimit: number;
  retryDelayMs: number;
  active: number;
}

interface MemoryQueue {
  name: string;
  types: Set<string>;
  ready: Delivery[];
  deadLetters: { envelope: EventEnvelope; reason: string }[];
  consumer: Consumer | undefined;
}

const maxRetryDelayMs = 30_000;

export function createMemoryEventBus(opts: MemoryEventBusOptions): EventBus {
  const queues = new Map<string, MemoryQueue>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  function pump(q: MemoryQueue): void {
    const c = q.consumer;
    if (!c || closed) return;
    while (c.active < c.prefetch && q.ready.length > 0) {
      const d = q.ready.shift()!;
      c.active++;
      void deliver(q, c, d).finally(() => {
        c.active--;
        pump(q);
      });
    }
  }

  async function deliver(q: MemoryQueue, c: Consumer, d: Delivery): Promise<void> {
    d.deliveries++;
    try {
      await c.process(d.envelope, d.deliveries);
    } catch (err) {
      const log = opts.logger.child({ queue: q.name, eventId: d.envelope.id });
      const poison = err instanceof PoisonEventError;
      const deadLettered = poison || d.deliveries >= c.deliveryLimit;
      recordEventConsumed({ service: c.service, queue: q.name, type: d.envelope.type }, deadLettered ? "dead_lettered" : "failed");
      if (poison) {
        log.error("poison event dead-lettered", { err });
        q.deadLetters.push({ envelope: d.envelope, reason: "rejected" });
      } else if (deadLettered) {
        log.error("event dead-lettered after the delivery limit", { err, deliveries: d.deliveries });
        q.deadLetters.push({ envelope: d.envelope, reason: "delivery_limit" });
      } else {
        log.warn("event handler failed; will retry", { err, deliveries: d.deliveries });
        // Back at the tail after a pause, like a broker requeue: other events keep flowing meanwhile.
        const t = setTimeout(() => {
          timers.delete(t);
          q.ready.push(d);
          pump(q);
        }, Math.min(maxRetryDelayMs, c.retryDelayMs * 2 ** (d.deliveries - 1)));
        timers.add(t);
      }
    }
  }

  function queueNamed(name: string): MemoryQueue {
    let q = queues.get(name);
    if (!q) {
      q = { name, types: new Set(), ready: [], deadLetters: [], consumer: undefined };
      queues.set(name, q);
    }
    return q;
  }

  return {
    destination: { system: "memory", name: "memory" },
    async publish(envelope) {
      if (closed) throw new Error("event bus closed");
      for (const q of queues.values()) {
        if (!q.types.has(envelope.type)) continue;
        // Each queue gets its own copy of the bytes, as each RabbitMQ queue would.
        q.ready.push({ envelope: { ...envelope, payload: Uint8Array.from(envelope.payload), headers: { ...envelope.headers } }, deliveries: 0 });
        pump(q);
      }
    },
    async subscribe(sub) {
      const q = queueNamed(sub.queue);
      if (q.consumer) throw new Error(`queue ${sub.queue} already has a consumer in this process`);
      const deliveryLimit = sub.deliveryLimit ?? defaultSubscribeOptions.deliveryLimit;
      if (deliveryLimit < 1) throw new Error("deliveryLimit must be at least 1");
      const decoder = createEventDecoder(sub.events);
      // Bindings outlive the subscription, as a durable queue's do.
      for (const t of decoder.types) q.types.add(t);
      const service = sub.service ?? "unknown";
      const consumer: Consumer = {
        service,
        process: createEventProcessor({ queue: sub.queue, inbox: inboxOf(sub as Parameters<typeof inboxOf>[0]), decoder, handler: sub.handler, system: "memory", service }),
        prefetch: sub.prefetch ?? defaultSubscribeOptions.prefetch,
        deliveryLimit,
        retryDelayMs: sub.retryDelayMs ?? defaultSubscribeOptions.retryDelayMs,
        active: 0,
      };
      q.consumer = consumer;
      const unwatch = watchQueue(service, sub.queue, () => ({ ready: q.ready.length, deadLettered: q.deadLetters.length }));
      pump(q);
      return {
        queue: sub.queue,
        async close() {
          unwatch();
          if (q.consumer === consumer) q.consumer = undefined;
          // Wait for deliveries in progress; what is still queued waits for the next consumer.
          while (consumer.active > 0) await new Promise((r) => setTimeout(r, 5));
        },
      };
    },
    async listDeadLetters(queue, limit = 100) {
      return (queues.get(queue)?.deadLetters ?? []).slice(0, limit).map(({ envelope, reason }): DeadLetter => ({
        id: envelope.id,
        type: envelope.type,
        timestamp: envelope.timestamp,
        reason,
        payload: envelope.payload,
      }));
    },
    async replayDeadLetters(queue, limit = 100) {
      const q = queues.get(queue);
      if (!q) return 0;
      const moved = q.deadLetters.splice(0, limit);
      for (const { envelope } of moved) q.ready.push({ envelope, deliveries: 0 });
      pump(q);
      return moved.length;
    },
    isReady: () => !closed,
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const q of queues.values()) {
        const c = q.consumer;
        q.consumer = undefined;
        while (c && c.active > 0) await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}
