// Operator tools for a queue's dead letters: look without losing, and send back for another try.
//
// Listing takes messages with `basic.get` on a throw-away channel and never acks them; closing
// the channel returns them all to the DLQ. Replay republishes each message with publisher
// confirms and only then acks it in the DLQ, so a crash mid-replay duplicates (harmless: the
// inbox) but never loses a message.
//
// Replay sends to the originating queue (through the default exchange), not to the topic
// exchange: a message dead-lettered by one consumer should come back to that consumer only,
// not be redelivered to every other service bound to its type.
import type { ConfirmChannel, GetMessage, Options } from "amqplib";
import { asError, type AmqpConnection } from "./amqp-connection.js";
import type { DeadLetter, DeadLetterAdmin } from "./event-bus.js";
import { deadLetterQueueName } from "./consumer.js";

export interface AmqpDeadLetterAdminOptions {
  connection: AmqpConnection;
}

const defaultLimit = 100;

export function createAmqpDeadLetterAdmin(opts: AmqpDeadLetterAdminOptions): DeadLetterAdmin {
  const { connection } = opts;
  return {
    listDeadLetters(queue, limit = defaultLimit) {
      return connection.withChannel(async (ch) => {
        const out: DeadLetter[] = [];
        while (out.length < limit) {
          const msg = await ch.get(deadLetterQueueName(queue), { noAck: false });
          if (msg === false) break;
          out.push(toDeadLetter(msg));
        }
        return out; // withChannel closes the channel, which hands every message back
      });
    },
    replayDeadLetters(queue, limit = defaultLimit) {
      return connection.withChannel(async (ch) => {
        // A message sent to a queue that does not exist is confirmed and dropped; acking its
        // dead letter afterwards would lose it. checkQueue fails loudly instead.
        await ch.checkQueue(queue);
        let moved = 0;
        while (moved < limit) {
          const msg = await ch.get(deadLetterQueueName(queue), { noAck: false });
          if (msg === false) break;
          await sendConfirmed(ch, queue, msg);
          ch.ack(msg);
          moved++;
        }
        return moved;
      });
    },
  };
}

function sendConfirmed(ch: ConfirmChannel, queue: string, msg: GetMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    ch.sendToQueue(queue, msg.content, republishOptions(msg), (err: unknown) =>
      err ? reject(asError(err)) : resolve(),
    );
  });
}

// Dead-lettering history (x-death, x-first-death-*, x-last-death-*) and the delivery count are
// the broker's bookkeeping about the previous life of the message; the replayed copy starts fresh.
const brokerHeader = /^x-(death|first-death-|last-death-|delivery-count)/;

function republishOptions(msg: GetMessage): Options.Publish {
  const p = msg.properties;
  const headers: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.headers ?? {})) if (!brokerHeader.test(k)) headers[k] = v;
  const out: Options.Publish = { persistent: true, headers };
  if (p.messageId !== undefined) out.messageId = p.messageId as string;
  if (p.type !== undefined) out.type = p.type as string;
  if (p.contentType !== undefined) out.contentType = p.contentType as string;
  if (p.timestamp !== undefined) out.timestamp = p.timestamp as number;
  if (p.appId !== undefined) out.appId = p.appId as string;
  return out;
}

function toDeadLetter(msg: GetMessage): DeadLetter {
  const p = msg.properties;
  const headers = (p.headers ?? {}) as Record<string, unknown>;
  const deaths = headers["x-death"];
  const firstDeath = Array.isArray(deaths) ? (deaths[0] as { reason?: unknown } | undefined) : undefined;
  const reason = headers["x-first-death-reason"] ?? firstDeath?.reason;
  return {
    id: typeof p.messageId === "string" ? p.messageId : "",
    type: typeof p.type === "string" ? p.type : msg.fields.routingKey,
    timestamp: typeof p.timestamp === "number" ? new Date(p.timestamp * 1000) : undefined,
    reason: typeof reason === "string" ? reason : Buffer.isBuffer(reason) ? reason.toString("utf8") : "unknown",
    payload: msg.content,
  };
}
