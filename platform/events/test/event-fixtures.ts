// Small named fixtures for the platform/events tests: a migrated database per suite with an
// `effects` table handlers write to (so "exactly once" is a row count), a real order event, a
// tap that sees everything reaching an exchange, and ways to break the broker connection.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import amqp from "amqplib";
import { OrderPlacedSchema, type OrderPlaced } from "../../../gen/shop/order/v1/events_pb.js";
import { createDb, type Db } from "../../db/db.js";
import { migrate } from "../../db/migrate.js";
import { createLogger, type Logger } from "../../logger.js";
import { memorySpans } from "../../testing/memory-spans.js";
import { createTestDatabase } from "../../testing/pg.js";
import type { EventHandler } from "../event-bus.js";
import { eventsMigrationSet } from "../events-migration-set.js";
import { deadLetterExchangeName, deadLetterQueueName } from "../consumer.js";

// The SDK can be installed once per process; install it before any test, whatever the file order.
memorySpans();

export { OrderPlacedSchema, type OrderPlaced };

export const amqpUrl = process.env["TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";

/** Silent unless EVENTS_TEST_LOG is set: failures are asserted, not read from logs. */
export function testLogger(): Logger {
  const verbose = process.env["EVENTS_TEST_LOG"] !== undefined;
  return createLogger({ service: "events-test", level: "debug", write: verbose ? (l) => process.stderr.write(l + "\n") : () => undefined });
}

export interface EventsDb {
  readonly db: Db;
  drop(): Promise<void>;
}

/** A fresh database with the outbox and inbox migrated, plus an `effects` table for handlers. */
export async function createEventsDb(): Promise<EventsDb> {
  const t = await createTestDatabase("events");
  const db = createDb({ url: t.url, applicationName: "events-test", max: 12 });
  await migrate(db, [eventsMigrationSet]);
  // No unique constraint on purpose: a handler running twice must show up as two rows.
  await db.query(`CREATE TABLE effects (
    seq bigserial PRIMARY KEY, consumer text NOT NULL, event_id uuid NOT NULL, order_id text NOT NULL)`);
  return {
    db,
    async drop() {
      await db.close();
      await t.drop();
    },
  };
}

export function orderPlaced(orderId: string): MessageInitShape<typeof OrderPlacedSchema> {
  return { order: { id: orderId, userId: "user-1", couponCodes: ["WELCOME"] } };
}

/** A handler whose effect is one `effects` row, written in the handler's transaction. */
export function recordEffect(consumer: string): EventHandler<OrderPlaced> {
  return async (event, q) => {
    await q.query("INSERT INTO effects (consumer, event_id, order_id) VALUES ($1, $2, $3)", [
      consumer,
      event.id,
      event.message.order?.id ?? "",
    ]);
  };
}

export async function effectOrderIds(db: Db, consumer: string): Promise<string[]> {
  const { rows } = await db.query<{ order_id: string }>("SELECT order_id FROM effects WHERE consumer = $1 ORDER BY seq", [consumer]);
  return rows.map((r) => r.order_id);
}

export interface Tap {
  /** Message ids in arrival order, duplicates included. */
  readonly ids: string[];
  close(): Promise<void>;
}

/** Sees every message published to `exchange` (declared here if missing), duplicates included. */
export async function tapExchange(exchange: string): Promise<Tap> {
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, "topic", { durable: true });
  const { queue } = await ch.assertQueue("", { exclusive: true, autoDelete: true });
  await ch.bindQueue(queue, exchange, "#");
  const ids: string[] = [];
  await ch.consume(queue, (m) => void (m && ids.push(String(m.properties.messageId))), { noAck: true });
  return { ids, close: () => conn.close() };
}

/** Deletes the exchange, its dead-letter exchange, and each queue with its DLQ. */
export async function deleteTopology(exchange: string, queues: readonly string[]): Promise<void> {
  const conn = await amqp.connect(amqpUrl);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) {
      await ch.deleteQueue(q);
      await ch.deleteQueue(deadLetterQueueName(q));
    }
    await ch.deleteExchange(exchange);
    await ch.deleteExchange(deadLetterExchangeName(exchange));
  } finally {
    await conn.close();
  }
}

const run = promisify(execFile);

/** Has the broker close every connection whose client-provided name starts with `prefix`. */
export async function closeBrokerConnections(prefix: string): Promise<number> {
  // The tab-separated form, because close_connection wants the `<node.x.y.z>` pid it prints.
  const { stdout } = await run("rabbitmqctl", ["list_connections", "pid", "client_properties", "-q", "--no-table-headers"]);
  const pids: string[] = [];
  for (const line of stdout.split("\n")) {
    const [pid, props] = line.split("\t");
    const name = /\{"connection_name","([^"]*)"\}/.exec(props ?? "")?.[1];
    if (pid && name?.startsWith(prefix)) pids.push(pid);
  }
  await Promise.all(pids.map((pid) => run("rabbitmqctl", ["close_connection", pid, "test: connection cut"])));
  return pids.length;
}
