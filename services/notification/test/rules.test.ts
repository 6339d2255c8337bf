// The notification service's rules in memory: templates and money, preferences, the retry
// schedule, MIME encoding, SMTP reply parsing and dot-stuffing, page tokens, and the live fan-out.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ConfigError, loadConfig } from "../../../platform/config.js";
import { Code, ShopError } from "../../../platform/errors.js";
import { notificationConfig } from "../config.js";
import { createLiveUpdates, type LiveItem, type OrderUpdate } from "../live-updates.js";
import { buildMessage, encodeHeaderText, parseMailbox, quotedPrintable } from "../mime.js";
import { formatMoneyForPeople as formatMoney } from "../../../platform/money.js";
import { decodeLiveSignal, encodeLiveSignal } from "../notifications.js";
import { decodePageToken, encodePageToken } from "../page-token.js";
import { allowsLive, allowsMail, DEFAULT_PREFERENCES } from "../preferences.js";
import { afterFailure } from "../retry-policy.js";
import * as templates from "../templates.js";
import { createReplyParser, dotStuff, ehloExtensions } from "../transports/smtp-protocol.js";
import { decodeQuotedPrintable, header, textPart } from "./smtp-server.js";

const usd = (amountMinor: bigint) => ({ amountMinor, currency: "USD" });
const shop = { shopName: "Test Shop", name: "Ada" };
const ORDER = "1a2b3c4d-0000-4000-8000-000000000001";

describe("notification rules (in memory)", () => {
  describe("configuration", () => {
    it("names a malformed MAIL_FROM or SMTP_URL, and accepts the defaults", () => {
      assert.throws(
        () => loadConfig(notificationConfig, { MAIL_FROM: "nobody", SMTP_URL: "http://mail.example" }),
        (err: ConfigError) => err.problems.some((p) => p.startsWith("MAIL_FROM is malformed")) && err.problems.some((p) => p.startsWith("SMTP_URL is malformed")),
      );
      const config = loadConfig(notificationConfig, { NOTIFICATION_LOG_RETENTION: "90d" });
      assert.equal(config.SMTP_URL, undefined);
      assert.equal(config.NOTIFICATION_LOG_RETENTION, 90 * 24 * 3_600_000);
      assert.equal(config.LIVE_HEARTBEAT_INTERVAL, 30_000);
    });
  });

  describe("money", () => {
    it("formats minor units exactly, per the currency's digits", () => {
      assert.equal(formatMoney(usd(1999n)), "$19.99");
      assert.equal(formatMoney(usd(5n)), "$0.05");
      assert.equal(formatMoney(usd(-1250n)), "-$12.50");
      assert.equal(formatMoney({ amountMinor: 500n, currency: "JPY" }), "¥500");
      assert.equal(formatMoney({ amountMinor: 1234n, currency: "KWD" }), "KWD\u00a01.234");
      // Beyond 2^53: a float would lose the last cents.
      assert.equal(formatMoney(usd(900719925474099317n)), "$9,007,199,254,740,993.17");
    });
  });

  describe("templates", () => {
    const order: templates.OrderSummary = {
      orderId: ORDER,
      lines: [
        { name: "Shirt <b>", variant: "Blue / M", quantity: 2, lineTotal: usd(3998n) },
        { name: "Socks", variant: "", quantity: 1, lineTotal: usd(500n) },
      ],
      subtotal: usd(4498n),
      discount: usd(450n),
      shipping: usd(599n),
      tax: usd(0n),
      total: usd(4647n),
      shipTo: ["Ada Lovelace", "1 Main St", "10001 New York", "US"],
    };

    it("order confirmation: number, lines, totals with the discount, address; no tax row when zero", () => {
      const m = templates.orderConfirmation(shop, order);
      assert.equal(m.subject, "Order #1A2B3C4D confirmed");
      assert.match(m.text, /^Hello Ada,/);
      assert.match(m.text, /2 x Shirt <b> \(Blue \/ M\) +\$39\.98/);
      assert.match(m.text, /Discount +-\$4\.50/);
      assert.match(m.text, /Total +\$46\.47/);
      assert.doesNotMatch(m.text, /Tax/);
      assert.match(m.text, /Shipping to:\nAda Lovelace\n1 Main St/);
      assert.match(m.text, /-- Test Shop\n$/);
    });

    it("HTML escapes everything that came from outside", () => {
      const m = templates.orderConfirmation({ shopName: "A&B", name: "<script>x</script>" }, order);
      assert.match(m.html, /Shirt &lt;b&gt;/);
      assert.match(m.html, /Hello &lt;script&gt;x&lt;\/script&gt;,/);
      assert.match(m.html, /A&amp;B/);
      assert.doesNotMatch(m.html, /<script>|<b>/);
    });

    it("greets plainly without a name; cancellation mentions the refund only when there was one", () => {
      const none = templates.orderCancelled({ shopName: "S", name: "" }, ORDER, "", usd(0n));
      assert.match(none.text, /^Hello,\n/);
      assert.match(none.text, /not charged/);
      const refunded = templates.orderCancelled(shop, ORDER, "changed my mind", usd(4647n));
      assert.match(refunded.text, /cancelled: changed my mind/);
      assert.match(refunded.text, /\$46\.47 is on its way back/);
    });

    it("shipped carries carrier and tracking; refunds show the running total only when it differs", () => {
      assert.match(templates.orderShipped(shop, ORDER, "sandbox", "TRK123").text, /Tracking number +TRK123/);
      assert.doesNotMatch(templates.refundIssued(shop, ORDER, usd(1000n), usd(1000n)).text, /so far/);
      const partial = templates.refundIssued(shop, ORDER, usd(1000n), usd(2500n));
      assert.equal(partial.subject, "Refund of $10.00 for order #1A2B3C4D");
      assert.match(partial.text, /so far: \$25\.00/);
    });
  });

  describe("preferences", () => {
    it("defaults: order updates and live on, marketing off (opt-in)", () => {
      assert.deepEqual(DEFAULT_PREFERENCES, { orderUpdatesEmail: true, marketingEmail: false, liveOrderUpdates: true });
    });

    it("transactional mails go whatever the switches; the others follow theirs", () => {
      const off = { orderUpdatesEmail: false, marketingEmail: false, liveOrderUpdates: false };
      const on = { orderUpdatesEmail: true, marketingEmail: true, liveOrderUpdates: true };
      assert.equal(allowsMail(off, "transactional"), true);
      assert.equal(allowsMail(off, "order_updates"), false);
      assert.equal(allowsMail(off, "marketing"), false);
      assert.equal(allowsMail(on, "order_updates"), true);
      assert.equal(allowsMail(on, "marketing"), true);
      assert.equal(allowsLive(off), false);
      assert.equal(allowsLive(on), true);
    });
  });

  describe("retry policy", () => {
    const s = { maxAttempts: 4, baseMs: 1000, maxMs: 5000 };
    it("doubles the pause up to the cap, then gives up after the last attempt", () => {
      const noJitter = () => 0;
      assert.deepEqual(afterFailure(1, false, s, noJitter), { retryInMs: 1000 });
      assert.deepEqual(afterFailure(2, false, s, noJitter), { retryInMs: 2000 });
      assert.deepEqual(afterFailure(3, false, s, noJitter), { retryInMs: 4000 });
      assert.deepEqual(afterFailure(4, false, s, noJitter), { giveUp: true });
      assert.deepEqual(afterFailure(3, false, { ...s, maxAttempts: 10 }, noJitter), { retryInMs: 4000 });
      assert.deepEqual(afterFailure(5, false, { ...s, maxAttempts: 10 }, noJitter), { retryInMs: 5000 });
    });
    it("jitters down by at most 20%, and a permanent failure is never retried", () => {
      assert.deepEqual(afterFailure(1, false, s, () => 1), { retryInMs: 800 });
      assert.deepEqual(afterFailure(1, true, s), { giveUp: true });
    });
  });

  describe("MIME", () => {
    it("parses a sender with or without a display name, and refuses what is not an address", () => {
      assert.deepEqual(parseMailbox("Shop <no-reply@shop.example>"), { name: "Shop", address: "no-reply@shop.example" });
      assert.deepEqual(parseMailbox("a@b.c"), { name: "", address: "a@b.c" });
      assert.equal(parseMailbox("not an address"), undefined);
      assert.equal(parseMailbox("a@b.c\r\nBcc: x@y.z"), undefined);
    });

    it("quoted-printable: UTF-8, '=' and trailing spaces encoded, lines at most 76 characters, round-trips", () => {
      const text = `Grüße = ok \n${"x".repeat(200)}\n.leading dot`;
      const qp = quotedPrintable(text);
      assert.match(qp, /^Gr=C3=BC=C3=9Fe =3D ok=20\r\n/);
      for (const line of qp.split("\r\n")) assert.ok(line.length <= 76, `line of ${line.length}`);
      assert.equal(decodeQuotedPrintable(qp), text.replace(/\n/g, "\r\n"));
    });

    it("header text: encoded words for non-ASCII, and no line break can inject a header", () => {
      assert.equal(encodeHeaderText("Order #1 confirmed"), "Order #1 confirmed");
      assert.equal(encodeHeaderText("evil\r\nBcc: x@y.z"), "evil Bcc: x@y.z");
      const encoded = encodeHeaderText("Bestellung für Jürgen ✓");
      assert.match(encoded, /^=\?UTF-8\?B\?/);
      const decoded = encoded.split("\r\n ").map((w) => Buffer.from(/=\?UTF-8\?B\?(.*)\?=/.exec(w)![1]!, "base64").toString("utf8")).join("");
      assert.equal(decoded, "Bestellung für Jürgen ✓");
    });

    it("builds a multipart/alternative message with the id as Message-ID", () => {
      const msg = buildMessage({ id: "abc", from: { name: "Shop", address: "s@shop.example" }, to: "ada@example.test", date: new Date(0), subject: "Hi", text: "plain ✓", html: "<p>html</p>" });
      assert.equal(header(msg, "From"), "Shop <s@shop.example>");
      assert.equal(header(msg, "Message-ID"), "<abc@shop.example>");
      assert.equal(header(msg, "Date"), "Thu, 01 Jan 1970 00:00:00 +0000");
      assert.match(header(msg, "Content-Type") ?? "", /^multipart\/alternative; boundary="/);
      assert.equal(textPart(msg), "plain ✓");
      assert.ok([...msg].every((c) => c.charCodeAt(0) < 128), "7-bit only");
    });
  });

  describe("SMTP replies and dot-stuffing", () => {
    it("assembles multi-line replies, across chunk boundaries", () => {
      const p = createReplyParser();
      assert.deepEqual(p.push("250-smtp.test greets\r\n250-AUTH PLAIN LO"), []);
      const [ehlo] = p.push("GIN\r\n250 SIZE 100\r\n");
      assert.deepEqual(ehlo, { code: 250, lines: ["smtp.test greets", "AUTH PLAIN LOGIN", "SIZE 100"] });
      assert.deepEqual([...ehloExtensions(ehlo)], [["AUTH", ["PLAIN", "LOGIN"]], ["SIZE", ["100"]]]);
      assert.deepEqual(p.push("220 ready\r\n354\n"), [{ code: 220, lines: ["ready"] }, { code: 354, lines: [""] }]);
      assert.equal(p.pending(), "");
    });

    it("refuses what is not a reply, and a code that changes within one reply", () => {
      assert.throws(() => createReplyParser().push("hello\r\n"), /not an SMTP reply/);
      assert.throws(() => createReplyParser().push("250-a\r\n251 b\r\n"), /code changed/);
    });

    it("doubles leading dots, normalizes line ends, and appends the end marker", () => {
      assert.equal(dotStuff("a\n.b\r\n..c\r\n.\r\nd"), "a\r\n..b\r\n...c\r\n..\r\nd\r\n.\r\n");
      assert.equal(dotStuff("x\r\n"), "x\r\n.\r\n");
    });
  });

  describe("page tokens and live signals", () => {
    it("round-trips a page key and rejects junk naming page_token", () => {
      const key = { time: new Date("2026-01-02T03:04:05.678Z"), id: randomUUID() };
      assert.deepEqual(decodePageToken(encodePageToken(key)), key);
      assert.equal(decodePageToken(""), undefined);
      assert.throws(() => decodePageToken("junk"), (err: ShopError) => err.code === Code.INVALID_ARGUMENT && err.violations[0]?.field === "page_token");
    });

    it("a live update survives the NOTIFY payload", () => {
      const u: OrderUpdate = { userId: randomUUID(), orderId: randomUUID(), oldStatus: 2, newStatus: 4, reason: "r", changeTime: new Date("2026-01-01T00:00:00.000Z") };
      assert.deepEqual(decodeLiveSignal(encodeLiveSignal(u)), u);
      assert.equal(decodeLiveSignal("{}"), undefined);
      assert.equal(decodeLiveSignal("mail"), undefined);
    });
  });

  describe("live fan-out", () => {
    const update = (userId: string, orderId: string, newStatus = 4): OrderUpdate => ({ userId, orderId, oldStatus: 2, newStatus, reason: "", changeTime: new Date() });

    it("starts with a heartbeat, then delivers only the watcher's user's (and order's) updates, and ends on abort", async () => {
      const live = createLiveUpdates({ heartbeatMs: 60_000, maxStreamsPerUser: 5 });
      const [ada, bob] = [randomUUID(), randomUUID()];
      const [o1, o2] = [randomUUID(), randomUUID()];
      const abort = new AbortController();
      const all = live.watch(ada, undefined, abort.signal);
      const one = live.watch(ada, o2, abort.signal);
      assert.equal((await all.next()).value, "heartbeat");
      assert.equal((await one.next()).value, "heartbeat");
      assert.equal(live.streams(ada), 2);
      live.publish(update(bob, o1));
      live.publish(update(ada, o1));
      live.publish(update(ada, o2));
      const first = (await all.next()).value as OrderUpdate;
      assert.equal(first.orderId, o1);
      assert.equal(((await all.next()).value as OrderUpdate).orderId, o2);
      assert.equal(((await one.next()).value as OrderUpdate).orderId, o2);
      const pending = all.next();
      abort.abort();
      assert.deepEqual(await pending, { done: true, value: undefined });
      assert.equal((await one.next()).done, true);
      assert.equal(live.streams(), 0);
    });

    it("sends heartbeats while idle", async () => {
      const live = createLiveUpdates({ heartbeatMs: 10, maxStreamsPerUser: 5 });
      const abort = new AbortController();
      const stream = live.watch(randomUUID(), undefined, abort.signal);
      const items: LiveItem[] = [];
      for (let i = 0; i < 3; i++) items.push((await stream.next()).value as LiveItem);
      assert.deepEqual(items, ["heartbeat", "heartbeat", "heartbeat"]);
      abort.abort();
      await stream.return();
    });

    it("limits streams per user, and close() ends every stream", async () => {
      const live = createLiveUpdates({ heartbeatMs: 60_000, maxStreamsPerUser: 1 });
      const user = randomUUID();
      const signal = new AbortController().signal;
      const first = live.watch(user, undefined, signal);
      await first.next();
      await assert.rejects(live.watch(user, undefined, signal).next(), (err: ShopError) => err.code === Code.RESOURCE_EXHAUSTED);
      const pending = first.next();
      live.close();
      assert.equal((await pending).done, true);
    });

    it("ends a stream whose client fell too far behind", async () => {
      const live = createLiveUpdates({ heartbeatMs: 60_000, maxStreamsPerUser: 1, maxBuffered: 2 });
      const user = randomUUID();
      const stream = live.watch(user, undefined, new AbortController().signal);
      await stream.next();
      for (let i = 0; i < 3; i++) live.publish(update(user, randomUUID()));
      await stream.next();
      await stream.next();
      await assert.rejects(stream.next(), (err: ShopError) => err.code === Code.RESOURCE_EXHAUSTED);
    });
  });
});
