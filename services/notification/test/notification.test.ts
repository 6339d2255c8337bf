// The notification service on a real port with real PostgreSQL, the platform's memory bus, a
// local SMTP server (test/smtp-server.ts) and a users service double serving the JWKS: events
// in, mails out (once), preferences, the delivery log, and the live order stream.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { SpanKind } from "@opentelemetry/api";
import { NotificationSentSchema } from "../../../gen/shop/notification/v1/events_pb.js";
import { Channel, DeliveryStatus, type WatchOrderUpdatesResponse } from "../../../gen/shop/notification/v1/notification_pb.js";
import { OrderPlacedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { OrderStatus } from "../../../gen/shop/order/v1/order_pb.js";
import { PaymentRefundedSchema } from "../../../gen/shop/payment/v1/events_pb.js";
import { ShipmentShippedSchema } from "../../../gen/shop/shipping/v1/events_pb.js";
import type { Db } from "../../../platform/db/db.js";
import { Code } from "../../../platform/errors.js";
import { createMemoryEventBus, type EventBus, type EventEnvelope } from "../../../platform/events/index.js";
import type { CallOptions } from "../../../platform/grpc/index.js";
import { createLogger } from "../../../platform/logger.js";
import { memorySpans } from "../../../platform/testing/memory-spans.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import {
  as,
  envelope,
  freePort,
  logRows,
  notificationDb,
  orderPlaced,
  rejectionOf,
  startNotification,
  startUsersDouble,
  statusChanged,
  usd,
  userRegistered,
  type NotificationClient,
  type RunningNotification,
  type UsersDouble,
} from "./helpers.js";
import { startHousekeeping } from "../housekeeping.js";
import { createNotificationStore } from "../store.js";
import { header, startSmtpServer, textPart, type ReceivedMail, type TestSmtpServer } from "./smtp-server.js";

const spans = memorySpans();
const quiet = createLogger({ service: "bus", level: "error" });

/** Waits until the service has processed the event; "handled" or "duplicate" (the inbox already had it). */
function processed(eventId: string): Promise<string> {
  return waitFor(`event ${eventId} to be processed`, () => {
    const span = spans.getFinishedSpans().find((s) => s.kind === SpanKind.CONSUMER && s.attributes["messaging.message.id"] === eventId);
    return span ? String(span.attributes["shop.event.outcome"]) : undefined;
  });
}

interface TestUser {
  readonly id: string;
  readonly email: string;
  readonly call: CallOptions;
}

describe("notification service (real PostgreSQL, memory bus, local SMTP server)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let smtp: TestSmtpServer;
  let bus: EventBus;
  let notification: RunningNotification;
  let client: NotificationClient;
  let db: Db;

  before(async () => {
    tdb = await createTestDatabase("notification");
    users = await startUsersDouble();
    smtp = await startSmtpServer({ refuse: new Map([["gone@example.test", "550 5.1.1 no such user"]]) });
    bus = createMemoryEventBus({ logger: quiet });
    notification = await startNotification(
      { databaseUrl: tdb.url, users: users.address, bus },
      { SMTP_URL: smtp.url, LIVE_HEARTBEAT_INTERVAL: "1h", LIVE_MAX_STREAMS_PER_USER: "2" },
    );
    client = notification.client;
    db = notificationDb(tdb.url);
  });

  after(async () => {
    await notification?.stop();
    await bus?.close();
    await db?.close();
    await smtp?.stop();
    await users?.stop();
    await tdb?.drop();
  });

  const publish = async (e: EventEnvelope) => {
    await bus.publish(e);
    return e;
  };

  /** A user the service knows the address of (its UserRegistered was handled). */
  async function registeredUser(name = "Ada"): Promise<TestUser> {
    const id = randomUUID();
    const email = `${name.toLowerCase()}-${id.slice(0, 8)}@example.test`;
    await processed((await publish(userRegistered(id, email, name))).id);
    return { id, email, call: as(await users.tokenFor(id)) };
  }

  const mailsTo = (email: string) => smtp.mails.filter((m) => m.to.includes(email));
  const mailWith = (email: string, subject: RegExp) =>
    waitFor(`a mail to ${email} matching ${subject}`, () => mailsTo(email).find((m) => subject.test(header(m.data, "Subject") ?? "")));

  it("welcomes a registered user by mail, logs it as sent after one attempt, and emits NotificationSent", async () => {
    const id = randomUUID();
    const registered = userRegistered(id, `ada-${id.slice(0, 8)}@example.test`, "Ada");
    await processed((await publish(registered)).id);
    const ada = { id, email: `ada-${id.slice(0, 8)}@example.test` };
    const mail: ReceivedMail = await mailWith(ada.email, /^Welcome to Test Shop$/);
    assert.equal(mail.from, "shop@notification.test");
    assert.match(header(mail.data, "From") ?? "", /^Test Shop <shop@notification\.test>$/);
    assert.match(textPart(mail.data), /^Hello Ada,/);
    const [row] = await waitFor("the log row to say sent", async () => {
      const rows = await logRows(db, ada.id);
      return rows[0]?.status === "sent" ? rows : undefined;
    });
    assert.equal(row!.template, "welcome");
    assert.equal(row!.attempts, 1);
    assert.equal(row!.to_address, ada.email);
    assert.equal(header(mail.data, "Message-ID"), `<${row!.id}@notification.test>`);
    const { rows: events } = await db.query<{ payload: Buffer }>("SELECT payload FROM outbox WHERE type = 'shop.notification.v1.NotificationSent'");
    const sent = events.map((e) => fromBinary(NotificationSentSchema, new Uint8Array(e.payload))).find((e) => e.notificationId === row!.id);
    assert.ok(sent, "NotificationSent in the outbox");
    assert.equal(sent.status, DeliveryStatus.SENT);
    assert.equal(sent.channel, Channel.EMAIL);
    assert.equal(sent.template, "welcome");
    // The send continues the trace of the event that queued the mail.
    const sendSpan = await waitFor("the send span", () => spans.getFinishedSpans().find((s) => s.name === "send mail" && s.attributes["shop.notification.id"] === row!.id));
    const consumer = spans.getFinishedSpans().find((s) => s.kind === SpanKind.CONSUMER && s.attributes["messaging.message.id"] === registered.id)!;
    assert.equal(sendSpan.spanContext().traceId, consumer.spanContext().traceId);
  });

  it("an OrderPlaced delivered twice, and republished under a new event id, sends exactly one confirmation", async () => {
    const ada = await registeredUser("Ada");
    const orderId = randomUUID();
    const placed = orderPlaced(ada.id, orderId);
    await publish(placed);
    await publish(placed); // the broker redelivers the same message
    const outcomes = await waitFor("both deliveries", () => {
      const seen = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER && s.attributes["messaging.message.id"] === placed.id);
      return seen.length === 2 ? seen.map((s) => String(s.attributes["shop.event.outcome"])).sort() : undefined;
    });
    assert.deepEqual(outcomes, ["duplicate", "handled"]);
    // The order service's relay republishing after a crash mints no new mail either.
    const again = await publish(envelope(OrderPlacedSchema, fromBinary(OrderPlacedSchema, placed.payload)));
    assert.equal(await processed(again.id), "handled");

    const mail = await mailWith(ada.email, /^Order #[0-9A-F]{8} confirmed$/);
    assert.match(textPart(mail.data), /2 x Shirt \(Blue \/ M\) +\$39\.98/);
    assert.match(textPart(mail.data), /Total +\$44\.98/);
    const confirmations = await waitFor("the confirmation to be sent", async () => {
      const rows = (await logRows(db, ada.id)).filter((r) => r.template === "order_confirmation");
      return rows.every((r) => r.status === "sent") ? rows : undefined;
    });
    assert.equal(confirmations.length, 1);
    assert.equal(mailsTo(ada.email).filter((m) => /confirmed/.test(header(m.data, "Subject") ?? "")).length, 1);
  });

  it("respects an opt-out of order updates (logged as skipped), while the transactional confirmation still goes", async () => {
    const bob = await registeredUser("Bob");
    const prefs = { orderUpdatesEmail: false, marketingEmail: false, liveOrderUpdates: true };
    assert.deepEqual((await client.updatePreferences({ preferences: prefs }, bob.call)).preferences, { $typeName: "shop.notification.v1.Preferences", ...prefs });
    const orderId = randomUUID();
    await processed((await publish(orderPlaced(bob.id, orderId))).id);
    const shipped = await publish(envelope(ShipmentShippedSchema, { shipmentId: randomUUID(), orderId, userId: bob.id, carrier: "sandbox", trackingNumber: "TRK1" }));
    await processed(shipped.id);
    await mailWith(bob.email, /confirmed/);
    const rows = await waitFor("the confirmation sent and the shipped mail skipped", async () => {
      const all = await logRows(db, bob.id);
      const byTemplate = Object.fromEntries(all.map((r) => [r.template, r.status]));
      return byTemplate["order_confirmation"] === "sent" && byTemplate["order_shipped"] === "skipped" ? all : undefined;
    });
    assert.equal(rows.find((r) => r.template === "order_shipped")!.attempts, 0);
    assert.equal(mailsTo(bob.email).filter((m) => /shipped/.test(header(m.data, "Subject") ?? "")).length, 0);

    // Opted back in, the next update is mailed.
    await client.updatePreferences({ preferences: { ...prefs, orderUpdatesEmail: true } }, bob.call);
    await publish(envelope(PaymentRefundedSchema, { paymentId: randomUUID(), orderId, userId: bob.id, amount: usd(1000n), refundedTotal: usd(1000n) }));
    const refund = await mailWith(bob.email, /^Refund of \$10\.00 for order/);
    assert.match(textPart(refund.data), /We refunded \$10\.00/);
  });

  it("keeps preferences per user: defaults until set, then exactly what was set", async () => {
    const [ada, bob] = [await registeredUser("Ada"), await registeredUser("Bob")];
    const defaults = (await client.getPreferences({}, ada.call)).preferences!;
    assert.deepEqual([defaults.orderUpdatesEmail, defaults.marketingEmail, defaults.liveOrderUpdates], [true, false, true]);
    await client.updatePreferences({ preferences: { orderUpdatesEmail: false, marketingEmail: true, liveOrderUpdates: false } }, ada.call);
    const mine = (await client.getPreferences({}, ada.call)).preferences!;
    assert.deepEqual([mine.orderUpdatesEmail, mine.marketingEmail, mine.liveOrderUpdates], [false, true, false]);
    const other = (await client.getPreferences({}, bob.call)).preferences!;
    assert.deepEqual([other.orderUpdatesEmail, other.marketingEmail, other.liveOrderUpdates], [true, false, true]);
    const missing = await rejectionOf(client.updatePreferences({}, ada.call));
    assert.equal(missing.code, Code.INVALID_ARGUMENT);
    assert.equal(missing.violations[0]?.field, "preferences");
    assert.equal((await rejectionOf(client.getPreferences({}))).code, Code.UNAUTHENTICATED);
  });

  it("ListNotifications shows only the caller's own, newest first, in keyset pages", async () => {
    const [ada, bob] = [await registeredUser("Ada"), await registeredUser("Bob")];
    for (let i = 0; i < 3; i++) await processed((await publish(orderPlaced(ada.id))).id);
    await processed((await publish(orderPlaced(bob.id))).id);

    const first = await client.listNotifications({ pageSize: 2 }, ada.call);
    assert.equal(first.notifications.length, 2);
    assert.notEqual(first.nextPageToken, "");
    const second = await client.listNotifications({ pageSize: 2, pageToken: first.nextPageToken }, ada.call);
    assert.equal(second.notifications.length, 2);
    assert.equal(second.nextPageToken, "");
    const all = [...first.notifications, ...second.notifications];
    assert.deepEqual(all.map((n) => n.template), ["order_confirmation", "order_confirmation", "order_confirmation", "welcome"]);
    const times = all.map((n) => Number(n.createTime!.seconds) * 1000 + n.createTime!.nanos / 1e6);
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    const own = new Set((await logRows(db, ada.id)).map((r) => r.id));
    assert.ok(all.every((n) => own.has(n.id)), "every entry is Ada's");
    assert.ok(all.every((n) => n.channel === Channel.EMAIL));

    const bobs = await client.listNotifications({}, bob.call);
    assert.deepEqual(bobs.notifications.map((n) => n.template), ["order_confirmation", "welcome"]);
    assert.ok(bobs.notifications.every((n) => !own.has(n.id)));

    const bad = await rejectionOf(client.listNotifications({ pageToken: "not-a-token" }, ada.call));
    assert.equal(bad.code, Code.INVALID_ARGUMENT);
    assert.equal(bad.violations[0]?.field, "page_token");
  });

  it("holds a mail for a user whose address is not known yet, and sends it once UserRegistered arrives", async () => {
    const id = randomUUID();
    const email = `late-${id.slice(0, 8)}@example.test`;
    await processed((await publish(orderPlaced(id))).id);
    const [waiting] = await waitFor("a failed attempt for want of an address", async () => {
      const rows = await logRows(db, id);
      return rows[0] && rows[0].status === "queued" && rows[0].failure_reason !== "" ? rows : undefined;
    });
    assert.match(waiting!.failure_reason, /no email address is known/);
    await publish(userRegistered(id, email, "Late"));
    const mail = await mailWith(email, /confirmed/);
    // Rendered when the order event was handled: the name on the parcel was all it knew then.
    assert.match(textPart(mail.data), /^Hello Ada Lovelace,/);
  });

  it("marks a mail the server refuses for good (5xx to RCPT) as failed after one attempt, with the reason", async () => {
    const id = randomUUID();
    await processed((await publish(userRegistered(id, "gone@example.test", "Gone"))).id);
    const [row] = await waitFor("the mail to fail", async () => {
      const rows = await logRows(db, id);
      return rows[0]?.status === "failed" ? rows : undefined;
    });
    assert.equal(row!.attempts, 1);
    assert.match(row!.failure_reason, /550 5\.1\.1 no such user/);
    const listed = (await client.listNotifications({}, as(await users.tokenFor(id)))).notifications[0]!;
    assert.equal(listed.status, DeliveryStatus.FAILED);
    assert.equal(listed.attempts, 1);
    assert.match(listed.failureReason, /550/);
  });

  it("sends an event that can never be handled to the dead letters", async () => {
    const poison = await publish(envelope(OrderPlacedSchema, {}));
    const dead = await waitFor("the dead letter", async () => (await bus.listDeadLetters("shop.events.notification.mail")).find((d) => d.id === poison.id));
    assert.equal(dead.reason, "rejected");
  });

  describe("WatchOrderUpdates", () => {
    /** Opens the stream and waits for its first message (the heartbeat that says it is live). */
    async function watch(user: TestUser, orderId = "") {
      const abort = new AbortController();
      const it = client.watchOrderUpdates({ orderId }, { ...user.call, signal: abort.signal })[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal((first.value as WatchOrderUpdatesResponse).orderId, "", "the first message is a heartbeat");
      return {
        next: async () => (await it.next()).value as WatchOrderUpdatesResponse,
        close: () => abort.abort(),
      };
    }

    it("streams a status change published after the stream opened, to its owner only", async () => {
      const [ada, bob] = [await registeredUser("Ada"), await registeredUser("Bob")];
      const adas = await watch(ada);
      const bobs = await watch(bob);
      const order = randomUUID();
      await publish(statusChanged(ada.id, order, OrderStatus.CONFIRMED, OrderStatus.SHIPPED));
      const update = await adas.next();
      assert.equal(update.orderId, order);
      assert.equal(update.oldStatus, OrderStatus.CONFIRMED);
      assert.equal(update.newStatus, OrderStatus.SHIPPED);
      assert.equal(update.reason, "test");
      assert.ok(update.changeTime);
      // Bob's next message is his own change, not Ada's (which was committed and fanned out first).
      const bobsOrder = randomUUID();
      await publish(statusChanged(bob.id, bobsOrder, OrderStatus.SHIPPED, OrderStatus.DELIVERED));
      assert.equal((await bobs.next()).orderId, bobsOrder);
      adas.close();
      bobs.close();
    });

    it("filters by order when asked, and sends nothing to a user who turned live updates off", async () => {
      const ada = await registeredUser("Ada");
      const [o1, o2] = [randomUUID(), randomUUID()];
      const onlyO2 = await watch(ada, o2);
      await publish(statusChanged(ada.id, o1, OrderStatus.CONFIRMED, OrderStatus.FULFILLING));
      await publish(statusChanged(ada.id, o2, OrderStatus.CONFIRMED, OrderStatus.FULFILLING));
      assert.equal((await onlyO2.next()).orderId, o2);
      onlyO2.close();

      const carl = await registeredUser("Carl");
      const all = await watch(carl);
      await client.updatePreferences({ preferences: { orderUpdatesEmail: true, marketingEmail: false, liveOrderUpdates: false } }, carl.call);
      const hidden = await publish(statusChanged(carl.id, o1, OrderStatus.CONFIRMED, OrderStatus.CANCELLED));
      await processed(hidden.id);
      await client.updatePreferences({ preferences: { orderUpdatesEmail: true, marketingEmail: false, liveOrderUpdates: true } }, carl.call);
      await publish(statusChanged(carl.id, o2, OrderStatus.CONFIRMED, OrderStatus.SHIPPED));
      const next = await all.next();
      assert.equal(next.orderId, o2, "the change made while live updates were off never arrived");
      all.close();
    });

    it("ends cleanly when the client leaves, freeing its place under the per-user limit", async () => {
      const ada = await registeredUser("Ada");
      const [a, b] = [await watch(ada), await watch(ada)];
      const third = await rejectionOf(watch(ada));
      assert.equal(third.code, Code.RESOURCE_EXHAUSTED);
      a.close();
      const c = await waitFor("a free place after the client left", async () => {
        try {
          return await watch(ada);
        } catch {
          return undefined;
        }
      });
      b.close();
      c.close();
    });

    it("is refused without a signed-in caller", async () => {
      const it = client.watchOrderUpdates({})[Symbol.asyncIterator]();
      assert.equal((await rejectionOf(it.next())).code, Code.UNAUTHENTICATED);
    });
  });
});

describe("notification service with its mail server down, then up (real PostgreSQL, memory bus)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let bus: EventBus;
  let notification: RunningNotification;
  let smtp: TestSmtpServer | undefined;
  let db: Db;
  let port: number;

  before(async () => {
    tdb = await createTestDatabase("notification_outage");
    users = await startUsersDouble();
    bus = createMemoryEventBus({ logger: quiet });
    port = await freePort();
    notification = await startNotification({ databaseUrl: tdb.url, users: users.address, bus }, { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_MAX_ATTEMPTS: "50" });
    db = notificationDb(tdb.url);
  });

  after(async () => {
    await notification?.stop();
    await bus?.close();
    await db?.close();
    await smtp?.stop();
    await users?.stop();
    await tdb?.drop();
  });

  it("keeps the mail queued with each failed attempt recorded, and sends it once the server is back", async () => {
    const id = randomUUID();
    const email = `outage-${id.slice(0, 8)}@example.test`;
    await bus.publish(userRegistered(id, email, "Ada"));
    await processed((await (async () => {
      const placed = orderPlaced(id);
      await bus.publish(placed);
      return placed;
    })()).id);
    const waiting = await waitFor("two failed attempts per mail while the server is down", async () => {
      const rows = await logRows(db, id);
      return rows.length === 2 && rows.every((r) => r.status === "queued" && r.attempts >= 2) ? rows : undefined;
    });
    for (const r of waiting) assert.match(r.failure_reason, /connecting to 127\.0\.0\.1:\d+ failed/);

    smtp = await startSmtpServer({ port });
    const server = smtp;
    const sent = await waitFor("both mails to be sent", async () => {
      const rows = await logRows(db, id);
      return rows.every((r) => r.status === "sent") ? rows : undefined;
    });
    assert.ok(sent.every((r) => r.attempts >= 3 && r.failure_reason === ""));
    assert.deepEqual(server.mails.map((m) => header(m.data, "Subject")?.replace(/#\w+/, "#")).sort(), ["Order # confirmed", "Welcome to Test Shop"]);
  });

  it("refuses to start with retention or interval settings that contradict each other", async () => {
    await assert.rejects(
      startNotification({ databaseUrl: tdb.url, users: users.address, bus: createMemoryEventBus({ logger: quiet }) }, { NOTIFICATION_INBOX_RETENTION: "400d", MAIL_POLL_INTERVAL: "0" }),
      (err: Error) => /NOTIFICATION_INBOX_RETENTION must not be longer than NOTIFICATION_LOG_RETENTION/.test(err.message) && /MAIL_POLL_INTERVAL must be positive/.test(err.message),
    );
  });

  it("retention deletes finished log entries past the limit, never a queued mail", async () => {
    const id = randomUUID();
    const store = createNotificationStore(db);
    const old = new Date(Date.now() - 400 * 24 * 3_600_000);
    for (const status of ["sent", "queued"] as const) {
      await db.query(
        `INSERT INTO notifications (user_id, id, channel, template, dedupe_key, subject, body_text, body_html, status, next_attempt_at, created_at)
         VALUES ($1, $2, 'email', 'welcome', $3, 's', 't', 'h', $3, CASE WHEN $3 = 'queued' THEN now() + interval '1 hour' END, $4)`,
        [id, randomUUID(), status, old],
      );
    }
    const job = startHousekeeping({
      db, store, clock: () => new Date(), log: quiet, intervalMs: 3_600_000,
      logRetentionMs: 365 * 24 * 3_600_000, inboxRetentionMs: 30 * 24 * 3_600_000, outboxRetentionMs: 3_600_000,
    });
    try {
      await job.runOnce();
    } finally {
      await job.stop();
    }
    assert.deepEqual((await logRows(db, id)).map((r) => r.status), ["queued"]);
  });
});
