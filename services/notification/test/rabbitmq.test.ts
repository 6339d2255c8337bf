// The notification service consuming over real RabbitMQ (a unique exchange, so parallel runs never
// share queues), with real PostgreSQL and a local SMTP server: a redelivered OrderPlaced still
// makes one confirmation mail, and an order status change reaches the owner's live stream.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import amqp from "amqplib";
import { SpanKind } from "@opentelemetry/api";
import { OrderStatus } from "../../../gen/shop/order/v1/order_pb.js";
import { connectAmqpEventBus, type EventBus } from "../../../platform/events/index.js";
import { createLogger } from "../../../platform/logger.js";
import { memorySpans } from "../../../platform/testing/memory-spans.js";
import { uniqueName } from "../../../platform/testing/names.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { as, logRows, notificationDb, orderPlaced, startNotification, startUsersDouble, statusChanged, userRegistered, type RunningNotification, type UsersDouble } from "./helpers.js";
import { header, startSmtpServer, type TestSmtpServer } from "./smtp-server.js";

const AMQP_URL = process.env["TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";
const spans = memorySpans();

async function deleteTopology(exchange: string): Promise<void> {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  for (const purpose of ["mail", "live"]) {
    const queue = `${exchange}.notification.${purpose}`;
    await ch.deleteQueue(queue);
    await ch.deleteQueue(`${queue}.dlq`);
  }
  await ch.deleteExchange(exchange);
  await ch.deleteExchange(`${exchange}.dlx`);
  await conn.close();
}

describe("notification service over RabbitMQ (real PostgreSQL and RabbitMQ, local SMTP server)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let smtp: TestSmtpServer;
  let exchange: string;
  let producer: EventBus;
  let notification: RunningNotification;

  before(async () => {
    tdb = await createTestDatabase("notification_amqp");
    users = await startUsersDouble();
    smtp = await startSmtpServer();
    exchange = uniqueName("test_notification");
    notification = await startNotification(
      { databaseUrl: tdb.url, users: users.address },
      { AMQP_URL, AMQP_EXCHANGE: exchange, SMTP_URL: smtp.url, LIVE_HEARTBEAT_INTERVAL: "1h" },
    );
    // Another service's relay, publishing to the same exchange.
    producer = await connectAmqpEventBus({ url: AMQP_URL, exchange, appId: "order-test", logger: createLogger({ service: "order-test", level: "error" }) });
  });

  after(async () => {
    await producer?.close();
    await notification?.stop();
    await smtp?.stop();
    await users?.stop();
    await deleteTopology(exchange).catch(() => undefined);
    await tdb?.drop();
  });

  it("sends one confirmation for an OrderPlaced the broker delivers twice, and streams status changes live", async () => {
    const userId = randomUUID();
    const email = `rabbit-${userId.slice(0, 8)}@example.test`;
    await producer.publish(userRegistered(userId, email, "Ada"));
    const placed = orderPlaced(userId);
    await producer.publish(placed);
    await producer.publish(placed);
    const outcomes = await waitFor("both deliveries of the OrderPlaced", () => {
      const seen = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER && s.attributes["messaging.message.id"] === placed.id);
      return seen.length === 2 ? seen.map((s) => String(s.attributes["shop.event.outcome"])).sort() : undefined;
    });
    assert.deepEqual(outcomes, ["duplicate", "handled"]);
    const db = notificationDb(tdb.url);
    try {
      const rows = await waitFor("welcome and confirmation sent", async () => {
        const all = await logRows(db, userId);
        return all.length === 2 && all.every((r) => r.status === "sent") ? all : undefined;
      });
      assert.deepEqual(rows.map((r) => r.template).sort(), ["order_confirmation", "welcome"]);
    } finally {
      await db.close();
    }
    assert.equal(smtp.mails.filter((m) => m.to.includes(email) && /confirmed/.test(header(m.data, "Subject") ?? "")).length, 1);

    const abort = new AbortController();
    const stream = notification.client.watchOrderUpdates({}, { ...as(await users.tokenFor(userId)), signal: abort.signal })[Symbol.asyncIterator]();
    assert.equal((await stream.next()).value?.orderId, "", "heartbeat first");
    const orderId = placed.id; // any id will do; the stream is keyed by user
    await producer.publish(statusChanged(userId, orderId, OrderStatus.CONFIRMED, OrderStatus.FULFILLING));
    const update = (await stream.next()).value;
    assert.equal(update?.orderId, orderId);
    assert.equal(update?.newStatus, OrderStatus.FULFILLING);
    abort.abort();
  });
});
