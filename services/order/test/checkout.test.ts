// The order service on a real port and real PostgreSQL, with real gRPC test doubles of every
// peer: the checkout saga's happy path and its failures (declined card, no stock, coupon used
// up, peers unavailable), idempotent replays, PENDING answers when the deadline runs out,
// ownership, pagination, cancellation, returns and refunds, and the events in the outbox.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ShippingSpeed } from "../../../gen/shop/common/v1/shipping_speed_pb.js";
import { OrderStatus, type Order } from "../../../gen/shop/order/v1/order_pb.js";
import {
  OrderCancelledSchema,
  OrderFailedSchema,
  OrderPlacedSchema,
  OrderRefundedSchema,
  OrderStatusChangedSchema,
  ReturnRequestedSchema,
} from "../../../gen/shop/order/v1/events_pb.js";
import { PaymentStatus } from "../../../gen/shop/payment/v1/payment_pb.js";
import type { Db } from "../../../platform/db/db.js";
import { Code } from "../../../platform/errors.js";
import { metricsText } from "../../../platform/metrics/index.js";
import { exposition, type Exposition } from "../../../platform/testing/metrics.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import {
  as,
  fillCart,
  newShopper,
  orderDb,
  orderEnv,
  outboxEvents,
  placeRequest,
  rejectionOf,
  sagaSteps,
  startOrder,
  startPeers,
  stockedSku,
  testAddress,
  type OrderClient,
  type Peers,
  type RunningOrder,
  type Shopper,
} from "./helpers.js";

describe("order service: checkout saga (real PostgreSQL, gRPC doubles of every peer)", () => {
  let tdb: TestDatabase;
  let peers: Peers;
  let order: RunningOrder;
  let client: OrderClient;
  let db: Db;

  before(async () => {
    tdb = await createTestDatabase("order");
    peers = await startPeers();
    order = await startOrder(orderEnv(tdb.url, peers));
    client = order.client;
    db = orderDb(tdb.url);
  });

  after(async () => {
    await order?.stop();
    await db?.close();
    await peers?.stop();
    await tdb?.drop();
  });

  afterEach(() => peers.heal());

  /** A shopper with `lines` (sku -> quantity) in the cart. */
  async function shopperWith(lines: Record<string, number>): Promise<Shopper> {
    const s = await newShopper(peers);
    fillCart(peers, s, lines);
    return s;
  }

  const place = (s: Shopper, overrides: Parameters<typeof placeRequest>[0] = {}) => client.placeOrder(placeRequest(overrides), s.call);
  const statusOf = async (s: Shopper, id: string) => (await client.getOrder({ orderId: id }, s.call)).order?.status;
  const orderIdsOf = (method: string) => peers.inventory.callsOf<{ orderId: string }>(method).map((r) => r.orderId);

  /** What the checkout counted since `before` (this process's registry, as /metrics serves it). */
  async function countedSince(before: Exposition) {
    const now = exposition(await metricsText());
    const delta = (name: string, labels: Record<string, string>) => now.sum(name, labels) - before.sum(name, labels);
    return {
      step: (step: string, outcome: "ok" | "failed") => delta("shop_checkout_steps_total", { step, outcome }),
      placed: (currency: string) => delta("shop_orders_placed_total", { currency }),
      revenue: (currency: string) => delta("shop_revenue_minor_total", { currency }),
      failed: (reason: string) => delta("shop_orders_failed_total", { reason }),
    };
  }
  const metricsNow = async () => exposition(await metricsText());

  async function failedOrderOf(s: Shopper): Promise<Order> {
    const { orders } = await client.listOrders({}, s.call);
    assert.equal(orders.length, 1);
    return orders[0]!;
  }

  describe("happy path", () => {
    it("prices the cart server side, runs every step and confirms, with OrderPlaced in the outbox", async () => {
      const shirt = stockedSku(peers, 1999n, 10);
      const mug = stockedSku(peers, 850n, 10);
      const s = await shopperWith({ [shirt]: 2, [mug]: 1 });
      const before = await metricsNow();
      const placed = (await place(s, { shippingAddress: testAddress("DE") })).order!;

      assert.equal(placed.status, OrderStatus.CONFIRMED);
      assert.equal(placed.userId, s.id);
      // 2 x 19.99 + 8.50 = 48.48; shipping 5.00; 19% DE tax of 53.48 = 10.16 (10.1612)
      assert.deepEqual(
        [placed.totals?.subtotal?.amountMinor, placed.totals?.discount?.amountMinor, placed.totals?.shipping?.amountMinor, placed.totals?.tax?.amountMinor, placed.totals?.total?.amountMinor],
        [4848n, 0n, 500n, 1016n, 6364n],
      );
      assert.deepEqual(placed.lines.map((l) => [l.sku, l.quantity, l.unitPrice?.amountMinor, l.lineTotal?.amountMinor]), [
        [shirt, 2, 1999n, 3998n],
        [mug, 1, 850n, 850n],
      ]);
      assert.deepEqual(placed.statusHistory.map((h) => h.status), [OrderStatus.PENDING, OrderStatus.CONFIRMED]);

      // Every peer call is keyed by the order.
      assert.deepEqual(orderIdsOf("reserveStock"), [placed.id]);
      assert.deepEqual(orderIdsOf("commitReservation"), [placed.id]);
      assert.equal(peers.inventory.reservations.get(placed.id)?.status, "committed");
      assert.equal(peers.inventory.stock.get(shirt), 8);
      const [payment, ...more] = peers.payment.ofOrder(placed.id);
      assert.equal(more.length, 0);
      assert.equal(payment?.status, PaymentStatus.CAPTURED);
      assert.equal(payment?.amount.amountMinor, 6364n);
      assert.equal(placed.paymentId, payment?.id);
      const authorize = peers.payment.callsOf<{ idempotencyKey: string; userId: string }>("authorizePayment").filter((c) => c.idempotencyKey.startsWith(placed.id));
      assert.deepEqual(authorize.map((a) => [a.idempotencyKey, a.userId]), [[`${placed.id}:authorize`, s.id]]);
      assert.ok(!peers.promotion.redeemed.has(placed.id), "nothing to redeem without a discount");

      const steps = await sagaSteps(db, placed.id);
      for (const step of ["reserve_stock", "authorize_payment", "redeem_promotions", "capture_payment", "commit_stock"]) assert.equal(steps[step]?.status, "done", step);

      const event = (await outboxEvents(db, OrderPlacedSchema)).find((e) => e.order?.id === placed.id);
      assert.equal(event?.order?.status, OrderStatus.CONFIRMED);
      assert.equal(event?.order?.totals?.total?.amountMinor, 6364n);
      const changes = (await outboxEvents(db, OrderStatusChangedSchema)).filter((e) => e.orderId === placed.id);
      assert.deepEqual(changes.map((c) => [c.oldStatus, c.newStatus]), [[OrderStatus.PENDING, OrderStatus.CONFIRMED]]);

      // The saga counts its confirmation just after the commit the shopper's answer was read from.
      const counted = await waitFor("the order counted", async () => {
        const c = await countedSince(before);
        return c.placed("USD") === 1 ? c : undefined;
      });
      assert.equal(counted.revenue("USD"), 6364);
      for (const step of ["priced", "reserved", "authorized", "redeemed", "captured", "committed", "confirmed"]) assert.equal(counted.step(step, "ok"), 1, step);
      assert.equal(counted.step("compensated", "ok"), 0);
    });

    it("applies a coupon from the promotion service and redeems it for the order", async () => {
      const shirt = stockedSku(peers, 2000n);
      const promotionId = peers.promotion.add({ code: `TEN${randomUUID().slice(0, 6)}`.toUpperCase(), percentBps: 1000 });
      const code = [...peers.promotion.coupons.values()].find((c) => c.promotionId === promotionId)!.code;
      const s = await shopperWith({ [shirt]: 1 });
      const preview = await client.previewCheckout({ countryCode: "US", shippingSpeed: ShippingSpeed.STANDARD, couponCodes: [code.toLowerCase()] }, s.call);
      assert.equal(preview.totals?.discount?.amountMinor, 200n);
      assert.equal(preview.totals?.total?.amountMinor, 2000n - 200n + 500n);

      const placed = (await place(s, { couponCodes: [code.toLowerCase()], expectedTotal: preview.totals?.total })).order!;
      assert.equal(placed.status, OrderStatus.CONFIRMED);
      assert.equal(placed.totals?.total?.amountMinor, 2300n);
      assert.deepEqual(placed.discounts.map((d) => [d.promotionId, d.amount?.amountMinor]), [[promotionId, 200n]]);
      assert.deepEqual(placed.lines.map((l) => l.discount?.amountMinor), [200n]);
      assert.deepEqual(peers.promotion.redeemed.get(placed.id), [promotionId]);
    });

    it("shows PreviewCheckout's rejected coupons and refuses them at PlaceOrder, naming the field", async () => {
      const shirt = stockedSku(peers, 1000n);
      const s = await shopperWith({ [shirt]: 1 });
      const preview = await client.previewCheckout({ countryCode: "US", couponCodes: ["NOPE123"] }, s.call);
      assert.deepEqual(preview.rejectedCoupons.map((r) => r.couponCode), ["NOPE123"]);
      const before = await metricsNow();
      const err = await rejectionOf(place(s, { couponCodes: ["NOPE123"] }));
      const counted = await countedSince(before);
      assert.deepEqual([counted.step("priced", "failed"), counted.failed("not_priced"), counted.step("reserved", "ok")], [1, 1, 0]);
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.equal(err.violations[0]?.field, "coupon_codes[0]");
      assert.equal((await client.listOrders({}, s.call)).orders.length, 0);
    });

    it("refuses to charge a total the shopper did not see, and an empty cart", async () => {
      const shirt = stockedSku(peers, 1000n);
      const s = await shopperWith({ [shirt]: 1 });
      const err = await rejectionOf(place(s, { expectedTotal: { amountMinor: 999n, currencyCode: "USD" } }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.equal(err.violations[0]?.field, "expected_total");
      const empty = await newShopper(peers);
      assert.equal((await rejectionOf(place(empty))).code, Code.FAILED_PRECONDITION);
      assert.equal(peers.payment.callsOf("authorizePayment").filter((c) => c["userId"] === s.id).length, 0);
    });

    it("refuses a destination the shipping service does not serve", async () => {
      const shirt = stockedSku(peers, 1000n);
      const s = await shopperWith({ [shirt]: 1 });
      const err = await rejectionOf(place(s, { shippingAddress: testAddress("AQ") }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.equal(err.violations[0]?.field, "shipping_address.country_code");
    });
  });

  describe("failures and compensation", () => {
    it("a declined card fails the order (ABORTED), releases the stock and redeems nothing", async () => {
      const shirt = stockedSku(peers, 1500n, 5);
      const code = `DECL${randomUUID().slice(0, 6)}`.toUpperCase();
      peers.promotion.add({ code, percentBps: 500 });
      peers.payment.declined.add("tok_declined");
      const s = await shopperWith({ [shirt]: 2 });
      const before = await metricsNow();
      const err = await rejectionOf(place(s, { paymentMethodToken: "tok_declined", couponCodes: [code] }));
      assert.equal(err.code, Code.ABORTED);
      assert.match(err.message, /card declined/);
      const counted = await waitFor("the failed checkout counted", async () => {
        const c = await countedSince(before);
        return c.failed("payment_declined") === 1 ? c : undefined;
      });
      assert.deepEqual(
        [counted.step("reserved", "ok"), counted.step("authorized", "failed"), counted.step("compensated", "ok"), counted.step("captured", "ok"), counted.placed("USD")],
        [1, 1, 1, 0, 0],
      );

      const failed = await failedOrderOf(s);
      assert.equal(failed.status, OrderStatus.FAILED);
      assert.match(failed.statusHistory.at(-1)?.reason ?? "", /card declined/);
      assert.equal(peers.inventory.reservations.get(failed.id)?.status, "released");
      assert.equal(peers.inventory.stock.get(shirt), 5);
      assert.ok(!peers.promotion.redeemed.has(failed.id));
      const payments = peers.payment.ofOrder(failed.id);
      assert.deepEqual(payments.map((p) => p.status), [PaymentStatus.FAILED]);
      assert.equal(peers.payment.callsOf("capturePayment").filter((c) => c["paymentId"] === payments[0]?.id).length, 0);
      const [event] = (await outboxEvents(db, OrderFailedSchema)).filter((e) => e.orderId === failed.id);
      assert.equal(event?.failedStep, "authorize_payment");
      assert.ok(!(await outboxEvents(db, OrderPlacedSchema)).some((e) => e.order?.id === failed.id));
    });

    it("out of stock fails the order (FAILED_PRECONDITION) before any payment", async () => {
      const shirt = stockedSku(peers, 1500n, 1);
      const s = await shopperWith({ [shirt]: 3 });
      const err = await rejectionOf(place(s));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, new RegExp(`insufficient stock: ${shirt}`));
      const failed = await failedOrderOf(s);
      assert.equal(failed.status, OrderStatus.FAILED);
      assert.equal(peers.payment.ofOrder(failed.id).length, 0);
      assert.equal(peers.inventory.stock.get(shirt), 1);
      const steps = await sagaSteps(db, failed.id);
      assert.equal(steps["reserve_stock"]?.status, "failed");
      assert.equal(steps["authorize_payment"], undefined);
    });

    it("a coupon used up between pricing and redemption voids the authorization and releases the stock", async () => {
      const shirt = stockedSku(peers, 4000n, 4);
      const code = `LAST${randomUUID().slice(0, 6)}`.toUpperCase();
      peers.promotion.add({ code, percentBps: 2500, exhaustedAtRedeem: true });
      const s = await shopperWith({ [shirt]: 1 });
      const err = await rejectionOf(place(s, { couponCodes: [code] }));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /usage limit/);
      const failed = await failedOrderOf(s);
      const payments = peers.payment.ofOrder(failed.id);
      assert.deepEqual(payments.map((p) => p.status), [PaymentStatus.VOIDED]);
      assert.equal(peers.payment.callsOf("capturePayment").filter((c) => c["paymentId"] === payments[0]!.id).length, 0);
      assert.equal(peers.inventory.stock.get(shirt), 4);
    });

    it("retries steps whose peer is unavailable, then confirms", async () => {
      const shirt = stockedSku(peers, 1200n);
      const s = await shopperWith({ [shirt]: 1 });
      peers.inventory.failNext("reserveStock", 2);
      peers.payment.failNext("capturePayment", 3);
      const placed = (await place(s)).order!;
      assert.equal(placed.status, OrderStatus.CONFIRMED);
      const steps = await sagaSteps(db, placed.id);
      assert.ok((steps["capture_payment"]?.attempts ?? 0) >= 2, JSON.stringify(steps));
      assert.equal(peers.payment.ofOrder(placed.id).length, 1);
    });

    it("answers PENDING when the deadline runs out, and the saga finishes in the background", async () => {
      const shirt = stockedSku(peers, 1200n);
      const s = await shopperWith({ [shirt]: 1 });
      peers.payment.failNext("authorizePayment", Infinity);
      const pending = (await client.placeOrder(placeRequest(), as(s.token, 1500))).order!;
      assert.equal(pending.status, OrderStatus.PENDING);
      peers.payment.heal();
      await waitFor("the order to be confirmed", async () => (await statusOf(s, pending.id)) === OrderStatus.CONFIRMED);
      assert.equal(peers.payment.ofOrder(pending.id).length, 1);
    });
  });

  describe("idempotency", () => {
    it("20 concurrent PlaceOrders with one key make one order, one authorization and one capture", async () => {
      const shirt = stockedSku(peers, 999n);
      const s = await shopperWith({ [shirt]: 1 });
      const req = placeRequest();
      const results = await Promise.all(Array.from({ length: 20 }, () => client.placeOrder(req, s.call)));
      const ids = new Set(results.map((r) => r.order?.id));
      assert.equal(ids.size, 1);
      const id = [...ids][0]!;
      assert.ok(results.every((r) => r.order?.status === OrderStatus.CONFIRMED));
      assert.equal((await client.listOrders({}, s.call)).orders.length, 1);
      assert.equal(peers.payment.callsOf("authorizePayment").filter((c) => c["orderId"] === id).length, 1);
      const [payment] = peers.payment.ofOrder(id);
      assert.equal(peers.payment.callsOf("capturePayment").filter((c) => c["paymentId"] === payment?.id).length, 1);
      assert.equal(orderIdsOf("reserveStock").filter((o) => o === id).length, 1);
    });

    it("replays return the first order, even after the cart was cleared; a different cart or request is refused", async () => {
      const shirt = stockedSku(peers, 999n);
      const s = await shopperWith({ [shirt]: 1 });
      const req = placeRequest();
      const first = (await client.placeOrder(req, s.call)).order!;
      // The cart service clears the cart on OrderPlaced: a replay then sees it empty.
      fillCart(peers, s, {});
      assert.equal((await client.placeOrder(req, s.call)).order?.id, first.id);

      fillCart(peers, s, { [shirt]: 2 });
      const differentCart = await rejectionOf(client.placeOrder(req, s.call));
      assert.equal(differentCart.code, Code.ALREADY_EXISTS);
      assert.equal(differentCart.violations[0]?.field, "idempotency_key");
      fillCart(peers, s, { [shirt]: 1 });
      const differentRequest = await rejectionOf(client.placeOrder({ ...req, shippingSpeed: ShippingSpeed.EXPRESS }, s.call));
      assert.equal(differentRequest.code, Code.ALREADY_EXISTS);
      assert.equal((await client.listOrders({}, s.call)).orders.length, 1);
    });

    it("a replay of a failed checkout fails the same way; the key is the caller's own", async () => {
      const shirt = stockedSku(peers, 999n, 0);
      const s = await shopperWith({ [shirt]: 1 });
      const req = placeRequest();
      const first = await rejectionOf(client.placeOrder(req, s.call));
      const again = await rejectionOf(client.placeOrder(req, s.call));
      assert.equal(again.code, first.code);
      assert.equal(again.message, first.message);
      // Another shopper using the same key string gets an order of their own.
      peers.inventory.stock.set(shirt, 5);
      const other = await shopperWith({ [shirt]: 1 });
      assert.equal((await client.placeOrder(req, other.call)).order?.status, OrderStatus.CONFIRMED);
    });
  });

  describe("reading orders", () => {
    it("shows shoppers only their own orders (another's is NOT_FOUND) and admins everyone's", async () => {
      const shirt = stockedSku(peers, 500n);
      const alice = await shopperWith({ [shirt]: 1 });
      const bob = await shopperWith({ [shirt]: 1 });
      const a = (await place(alice)).order!;
      const b = (await place(bob)).order!;
      assert.equal((await rejectionOf(client.getOrder({ orderId: a.id }, bob.call))).code, Code.NOT_FOUND);
      assert.equal((await rejectionOf(client.cancelOrder({ orderId: a.id }, bob.call))).code, Code.NOT_FOUND);
      assert.deepEqual((await client.listOrders({}, bob.call)).orders.map((o) => o.id), [b.id]);
      assert.equal((await rejectionOf(client.getOrder({ orderId: a.id }))).code, Code.UNAUTHENTICATED);

      const admin = await newShopper(peers, ["admin"]);
      assert.equal((await client.getOrder({ orderId: a.id }, admin.call)).order?.id, a.id);
      const all = await client.listAllOrders({ userId: alice.id }, admin.call);
      assert.deepEqual(all.orders.map((o) => o.id), [a.id]);
      assert.equal((await rejectionOf(client.listAllOrders({}, alice.call))).code, Code.PERMISSION_DENIED);
    });

    it("pages a shopper's orders newest first with keyset tokens, filtered by status", async () => {
      const shirt = stockedSku(peers, 100n);
      const s = await shopperWith({ [shirt]: 1 });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await place(s)).order!.id);
      const seen: string[] = [];
      let token = "";
      do {
        const page = await client.listOrders({ pageSize: 2, pageToken: token }, s.call);
        assert.ok(page.orders.length <= 2);
        seen.push(...page.orders.map((o) => o.id));
        token = page.nextPageToken;
      } while (token);
      assert.deepEqual(seen, [...ids].reverse());
      assert.equal((await client.listOrders({ status: OrderStatus.CANCELLED }, s.call)).orders.length, 0);
      assert.equal((await client.listOrders({ status: OrderStatus.CONFIRMED }, s.call)).orders.length, 5);
      assert.equal((await rejectionOf(client.listOrders({ pageToken: "garbage" }, s.call))).code, Code.INVALID_ARGUMENT);
    });
  });

  describe("after checkout", () => {
    it("cancelling before shipment refunds in full, restocks, releases the coupon and emits OrderCancelled; again is a no-op", async () => {
      const shirt = stockedSku(peers, 3000n);
      const code = `CXL${randomUUID().slice(0, 6)}`.toUpperCase();
      peers.promotion.add({ code, percentBps: 1000 });
      const s = await shopperWith({ [shirt]: 2 });
      const stocked = peers.inventory.stock.get(shirt);
      const placed = (await place(s, { couponCodes: [code] })).order!;
      assert.equal(peers.inventory.stock.get(shirt), stocked! - 2);
      const cancelled = (await client.cancelOrder({ orderId: placed.id, reason: "changed my mind" }, s.call)).order!;
      assert.equal(cancelled.status, OrderStatus.CANCELLED);
      assert.equal(cancelled.statusHistory.at(-1)?.reason, "changed my mind");
      const [payment] = peers.payment.ofOrder(placed.id);
      assert.equal(payment?.status, PaymentStatus.REFUNDED);
      assert.ok(peers.promotion.released.includes(placed.id));
      assert.equal(peers.inventory.reservations.get(placed.id)?.status, "restocked");
      assert.equal(peers.inventory.stock.get(shirt), stocked);
      const [event] = (await outboxEvents(db, OrderCancelledSchema)).filter((e) => e.orderId === placed.id);
      assert.equal(event?.refundedAmount?.amountMinor, placed.totals?.total?.amountMinor);
      assert.equal(event?.reason, "changed my mind");

      const again = (await client.cancelOrder({ orderId: placed.id }, s.call)).order!;
      assert.equal(again.status, OrderStatus.CANCELLED);
      assert.equal(peers.payment.callsOf("refundPayment").filter((c) => c["paymentId"] === payment?.id).length, 1);
      assert.equal(peers.inventory.callsOf("restockReservation").filter((c) => c["orderId"] === placed.id).length, 1);
    });

    it("walks fulfilment, a return and a refund, refusing moves the state machine forbids", async () => {
      const shirt = stockedSku(peers, 2500n);
      const s = await shopperWith({ [shirt]: 1 });
      const admin = await newShopper(peers, ["admin"]);
      const placed = (await place(s)).order!;
      const move = async (status: OrderStatus, reason = "") => (await client.updateOrderStatus({ orderId: placed.id, status, reason }, admin.call)).order!;

      assert.equal((await rejectionOf(client.updateOrderStatus({ orderId: placed.id, status: OrderStatus.SHIPPED }, s.call))).code, Code.PERMISSION_DENIED);
      assert.equal((await rejectionOf(client.requestReturn({ orderId: placed.id, reason: "too early" }, s.call))).code, Code.FAILED_PRECONDITION);
      await move(OrderStatus.FULFILLING);
      await move(OrderStatus.SHIPPED);
      assert.equal((await rejectionOf(client.cancelOrder({ orderId: placed.id }, s.call))).code, Code.FAILED_PRECONDITION);
      await move(OrderStatus.DELIVERED);
      const returning = (await client.requestReturn({ orderId: placed.id, reason: "too small" }, s.call)).order!;
      assert.equal(returning.status, OrderStatus.RETURN_REQUESTED);
      assert.equal((await rejectionOf(move(OrderStatus.REFUNDED))).code, Code.FAILED_PRECONDITION);
      await move(OrderStatus.RETURNED, "parcel received");
      const refunded = await move(OrderStatus.REFUNDED, "refund issued");
      assert.equal(refunded.status, OrderStatus.REFUNDED);
      assert.equal(peers.payment.ofOrder(placed.id)[0]?.status, PaymentStatus.REFUNDED);
      // A return's goods come back as a stock adjustment when the parcel arrives, not by the saga.
      assert.equal(peers.inventory.reservations.get(placed.id)?.status, "committed");

      assert.deepEqual(refunded.statusHistory.map((h) => h.status), [
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
        OrderStatus.FULFILLING,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.RETURN_REQUESTED,
        OrderStatus.RETURNED,
        OrderStatus.REFUNDED,
      ]);
      const [refundEvent] = (await outboxEvents(db, OrderRefundedSchema)).filter((e) => e.orderId === placed.id);
      assert.equal(refundEvent?.amount?.amountMinor, placed.totals?.total?.amountMinor);
      assert.equal(refundEvent?.paymentId, placed.paymentId);
      assert.equal((await outboxEvents(db, ReturnRequestedSchema)).filter((e) => e.orderId === placed.id).length, 1);
      assert.equal((await outboxEvents(db, OrderStatusChangedSchema)).filter((e) => e.orderId === placed.id).length, 7);
    });
  });
});
