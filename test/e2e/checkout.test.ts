// Checkout end to end: every service its own process on real PostgreSQL and RabbitMQ, a local
// SMTP server receiving the shop's mail, driven through the gateway's JSON API. What it proves
// is what shops get wrong: no order lost, nobody charged twice, no stock sold twice, and every
// event delivered (once in effect) even across a broker cut.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startSmtpServer, textPart, type TestSmtpServer } from "../../services/notification/test/smtp-server.js";
import { waitFor } from "../../platform/testing/wait-for.js";
import { ADMIN_EMAIL, startShopProcesses, type ApiResponse, type ShopProcesses } from "./shop-processes.js";
import {
  CARDS,
  CART,
  ORDER,
  card,
  coupon,
  craftToken,
  placeOrderRequest,
  register,
  signingKeyOf,
  sql,
  stockedProduct,
  type Account,
  type SigningKey,
} from "./shoppers.js";

interface Order {
  id: string;
  userId: string;
  status: string;
  totals: { subtotal: Money; discount?: Money; shipping?: Money; tax?: Money; total: Money };
  lines: { sku: string; quantity: number }[];
  statusHistory: { status: string; reason?: string }[];
}
interface Money {
  amountMinor: string;
  currencyCode: string;
}

// The checkout is over once an order leaves PENDING. With the sandbox carrier stepping fast a
// confirmed order moves on to FULFILLING, SHIPPED and DELIVERED within a second, so "confirmed"
// below means confirmed or any state after it.
const SETTLED_FAILED = "ORDER_STATUS_FAILED";
const settled = (status: string) => status !== "ORDER_STATUS_PENDING" && status !== "ORDER_STATUS_UNSPECIFIED";
const wasConfirmed = (status: string) => status.startsWith("ORDER_STATUS_") && settled(status) && status !== SETTLED_FAILED && status !== "ORDER_STATUS_CANCELLED";

describe("checkout end to end (every service its own process, real PostgreSQL, RabbitMQ and SMTP)", function () {
  this.timeout(180_000);
  let smtp: TestSmtpServer;
  let shop: ShopProcesses;
  let admin: Account;
  let key: SigningKey;

  before(async () => {
    smtp = await startSmtpServer();
    shop = await startShopProcesses(
      {
        SMTP_URL: smtp.url,
        MAIL_POLL_INTERVAL: "100ms",
        MAIL_RETRY_BASE: "100ms",
        SHIPPING_SANDBOX_STEP: "300ms",
        SHIPPING_TRACKING_INTERVAL: "100ms",
        RATE_LIMIT_IP_RATE: "100000",
        RATE_LIMIT_IP_BURST: "100000",
        RATE_LIMIT_USER_RATE: "1000",
        RATE_LIMIT_USER_BURST: "1000",
        // 200 checkouts at once on two cores queue for seconds: the gateway's deadline must
        // outlast the queue, or its breaker (rightly) sheds the order service.
        BACKEND_TIMEOUT: "60s",
        PEER_TIMEOUT: "30s",
      },
    );
    admin = await register(shop, ADMIN_EMAIL);
    key = await signingKeyOf(shop);
  });

  after(async () => {
    await shop?.stop();
    await smtp?.stop();
  });

  // What the services said is most of the diagnosis of a failed end-to-end test.
  afterEach(async function () {
    if (this.currentTest?.state !== "failed") return;
    process.stderr.write(`${shop.output().split("\n").slice(-80).join("\n")}\n`);
    const sagas = await sql(shop, 'SELECT o.status, o.saga_next, s.step, s.status AS step_status, s.last_error, count(*) AS n FROM "order".orders o LEFT JOIN "order".saga_steps s ON s.order_id = o.id AND s.status <> \'done\' GROUP BY 1, 2, 3, 4, 5 ORDER BY n DESC LIMIT 20').catch((e: Error) => e.message);
    process.stderr.write(`order sagas: ${JSON.stringify(sagas)}\n`);
  });

  const getOrder = async (token: string, orderId: string): Promise<Order> => {
    const res = await shop.api(`${ORDER}/GetOrder`, { orderId }, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body["order"] as Order;
  };

  /** The order's status once it is `status` (or any terminal one when unset). */
  const orderReaching = (token: string, orderId: string, status?: string) =>
    waitFor(`order ${orderId} ${status ?? "settled"}`, async () => {
      const o = await getOrder(token, orderId);
      return (status ? o.status === status : settled(o.status)) ? o : undefined;
    }, { timeoutMs: 60_000, intervalMs: 100 });

  /** The order a PlaceOrder call produced, settled (it may answer PENDING, or fail with the order named). */
  async function settledOrder(token: string, res: ApiResponse): Promise<Order | undefined> {
    const order = res.body["order"] as Order | undefined;
    if (order) return settled(order.status) ? order : orderReaching(token, order.id);
    return undefined;
  }

  async function fillCart(token: string, sku: string, quantity: number): Promise<void> {
    const res = await shop.api(`${CART}/AddItem`, { sku, quantity }, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  const available = async (sku: string) =>
    (await sql<{ on_hand: number; reserved: number }>(shop, "SELECT on_hand, reserved FROM inventory.stock WHERE sku = $1", [sku]))[0]!;

  const unbalancedLedgerTransactions = async () =>
    sql<{ id: string }>(
      shop,
      `SELECT transaction_id AS id FROM payment.ledger_postings GROUP BY transaction_id
       HAVING sum(CASE direction WHEN 'debit' THEN amount_minor ELSE -amount_minor END) <> 0`,
    );

  it("takes a guest from browsing to a refunded return: coupon, confirmation mail, shipping, delivery, return, refund", async () => {
    const sku = await stockedProduct(shop, admin, "Walnut serving board", 4500, 10);
    const save = await coupon(shop, admin, 10);

    // A guest fills a cart, then signs up and brings the cart along.
    const guest = await shop.api(`${CART}/AddItem`, { sku, quantity: 2 });
    const cartToken = (guest.body["cart"] as { cartToken: string }).cartToken;
    const buyer = await register(shop);
    assert.equal((await shop.api(`${CART}/MergeGuestCart`, { cartToken }, { token: buyer.accessToken })).status, 200);
    const payWith = await card(shop, buyer.accessToken);

    const preview = await shop.api(`${ORDER}/PreviewCheckout`, { countryCode: "DE", shippingSpeed: "SHIPPING_SPEED_STANDARD", couponCodes: [save.code] }, { token: buyer.accessToken });
    assert.equal(preview.status, 200, JSON.stringify(preview.body));
    const previewTotals = preview.body["totals"] as Order["totals"];
    assert.equal(previewTotals.subtotal.amountMinor, "9000");
    assert.equal(previewTotals.discount?.amountMinor, "900");

    const placed = await shop.api(`${ORDER}/PlaceOrder`, placeOrderRequest(payWith, { couponCodes: [save.code], expectedTotal: previewTotals.total }), { token: buyer.accessToken });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    const order = (await settledOrder(buyer.accessToken, placed))!;
    assert.ok(wasConfirmed(order.status), JSON.stringify(order));
    assert.deepEqual(order.totals.total, previewTotals.total);
    assert.deepEqual(await available(sku), { on_hand: 8, reserved: 0 });

    // The cart empties and the confirmation mail arrives, both by events.
    await waitFor("the cart emptied by OrderPlaced", async () => {
      const cart = (await shop.api(`${CART}/GetCart`, {}, { token: buyer.accessToken })).body["cart"] as { lines?: unknown[] };
      return (cart.lines ?? []).length === 0 || undefined;
    });
    const confirmation = await waitFor("the confirmation mail", () =>
      smtp.mails.find((m) => m.to.includes(buyer.email) && textPart(m.data).includes(order.id.slice(0, 8))),
      { timeoutMs: 20_000 },
    );
    assert.match(textPart(confirmation.data), /Walnut serving board/);

    // Each process counted its part on its own /metrics: the first order of this shop.
    const currency = order.totals.total.currencyCode;
    const orderMetrics = await shop.metrics("order");
    assert.equal(orderMetrics.value("shop_orders_placed_total", { currency }), 1);
    assert.equal(orderMetrics.value("shop_revenue_minor_total", { currency }), Number(order.totals.total.amountMinor));
    assert.equal(orderMetrics.value("shop_checkout_steps_total", { step: "redeemed", outcome: "ok" }), 1);
    assert.ok((orderMetrics.value("shop_outbox_published_total", { service: "order" }) ?? 0) >= 1);
    const gatewayMetrics = await shop.metrics("gateway");
    assert.equal(gatewayMetrics.value("shop_http_server_requests_total", { service: "gateway", procedure: `/${ORDER}/PlaceOrder`, status: "200" }), 1);
    const OrderPlaced = { type: "shop.order.v1.OrderPlaced", outcome: "handled" };
    assert.equal((await shop.metrics("cart")).value("shop_events_consumed_total", { service: "cart", ...OrderPlaced }), 1);
    const mailQueue = `${shop.exchange}.notification.mail`;
    assert.equal((await shop.metrics("notification")).value("shop_events_consumed_total", { service: "notification", queue: mailQueue, ...OrderPlaced }), 1);

    // The sandbox carrier ships and delivers; the order follows by events.
    await orderReaching(buyer.accessToken, order.id, "ORDER_STATUS_DELIVERED");
    const returned = await shop.api(`${ORDER}/RequestReturn`, { orderId: order.id, reason: "Too small for our table" }, { token: buyer.accessToken });
    assert.equal((returned.body["order"] as Order).status, "ORDER_STATUS_RETURN_REQUESTED", JSON.stringify(returned.body));
    for (const status of ["ORDER_STATUS_RETURNED", "ORDER_STATUS_REFUNDED"]) {
      const res = await shop.api(`${ORDER}/UpdateOrderStatus`, { orderId: order.id, status, reason: "parcel back in the warehouse" }, { token: admin.accessToken });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    await waitFor("the payment refunded in full", async () => {
      const [p] = await sql<{ status: string }>(shop, "SELECT status FROM payment.payments WHERE order_id = $1 AND status <> 'failed'", [order.id]);
      return p?.status === "refunded" || undefined;
    });
    await waitFor("the refund mail", () => smtp.mails.find((m) => m.to.includes(buyer.email) && /refund/i.test(textPart(m.data))), { timeoutMs: 20_000 });
    assert.deepEqual(await unbalancedLedgerTransactions(), []);
  });

  it("leaves no reservation, charge or redemption behind when the card is declined", async () => {
    const sku = await stockedProduct(shop, admin, "Linen apron", 2500, 5);
    const save = await coupon(shop, admin, 20, { totalLimit: 100 });
    const buyer = await register(shop);
    await fillCart(buyer.accessToken, sku, 1);
    const declined = await card(shop, buyer.accessToken, CARDS.declined);
    const res = await shop.api(`${ORDER}/PlaceOrder`, placeOrderRequest(declined, { couponCodes: [save.code] }), { token: buyer.accessToken });
    assert.notEqual(res.status, 200, "a declined card cannot place an order");
    assert.match(res.body.message ?? "", /declined/i);
    const [orderRow] = await sql<{ id: string; status: string }>(shop, "SELECT id, status FROM \"order\".orders WHERE user_id = $1", [buyer.userId]);
    assert.equal(orderRow?.status, "failed");
    assert.deepEqual(await available(sku), { on_hand: 5, reserved: 0 });
    const reservations = await sql<{ status: string }>(shop, "SELECT status FROM inventory.reservations WHERE order_id = $1", [orderRow.id]);
    assert.ok(reservations.every((r) => r.status !== "active" && r.status !== "committed"), JSON.stringify(reservations));
    const [promo] = await sql<{ redemption_count: number }>(shop, "SELECT redemption_count FROM promotion.promotions WHERE id = $1", [save.id]);
    assert.equal(Number(promo!.redemption_count), 0);
    const charged = await sql(shop, "SELECT 1 FROM payment.payments WHERE order_id = $1 AND status IN ('authorized', 'captured')", [orderRow.id]);
    assert.equal(charged.length, 0);
  });

  it("sells exactly 50 units to 200 concurrent buyers of a 50-unit SKU, and never goes below zero", async () => {
    const sku = await stockedProduct(shop, admin, "Limited print", 3000, 50);
    // Tokens minted with the users service's key: 200 argon2 sign-ups would only measure argon2.
    const buyers = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const userId = randomUUID();
        const token = await craftToken(key, { sub: userId });
        await fillCart(token, sku, 1);
        return { userId, token, payWith: await card(shop, token) };
      }),
    );
    const results = await Promise.all(
      buyers.map(async (b) => {
        const res = await shop.api(`${ORDER}/PlaceOrder`, placeOrderRequest(b.payWith), { token: b.token });
        return settledOrder(b.token, res).then((o) => o?.status ?? `error:${res.body.code}`);
      }),
    );
    const confirmed = results.filter(wasConfirmed).length;
    assert.equal(confirmed, 50, JSON.stringify(results.reduce<Record<string, number>>((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {})));
    assert.deepEqual(await available(sku), { on_hand: 0, reserved: 0 });
    const captured = await sql<{ n: string }>(
      shop,
      "SELECT count(*) AS n FROM payment.payments p JOIN \"order\".orders o ON o.id = p.order_id JOIN \"order\".order_lines l ON l.order_id = o.id WHERE l.sku = $1 AND p.status = 'captured'",
      [sku],
    );
    assert.equal(Number(captured[0]!.n), 50, "one capture per sold unit, none for the buyers who missed out");
    assert.deepEqual(await unbalancedLedgerTransactions(), []);
  });

  it("answers 20 concurrent replays of one idempotency key with one order and one capture", async () => {
    const sku = await stockedProduct(shop, admin, "Brass candle holder", 1800, 10);
    const buyer = await register(shop);
    await fillCart(buyer.accessToken, sku, 1);
    const request = placeOrderRequest(await card(shop, buyer.accessToken));
    const answers = await Promise.all(Array.from({ length: 20 }, () => shop.api(`${ORDER}/PlaceOrder`, request, { token: buyer.accessToken })));
    const ids = new Set(answers.map((a) => (a.body["order"] as Order | undefined)?.id));
    assert.equal(ids.size, 1, JSON.stringify(answers.map((a) => a.body)));
    const orderId = [...ids][0]!;
    assert.ok(wasConfirmed((await orderReaching(buyer.accessToken, orderId)).status));
    const captures = await sql(shop, "SELECT 1 FROM payment.ledger_transactions WHERE order_id = $1 AND kind = 'capture'", [orderId]);
    assert.equal(captures.length, 1);
    assert.deepEqual(await available(sku), { on_hand: 9, reserved: 0 });
    const again = await shop.api(`${ORDER}/PlaceOrder`, request, { token: buyer.accessToken });
    assert.equal((again.body["order"] as Order).id, orderId, "a later replay returns the same order");
  });

  it("puts a cancelled order's units back on the shelf and refunds it in full: the catalog shows the SKU in stock again", async () => {
    const sku = await stockedProduct(shop, admin, "Last teapot", 3900, 1);
    const buyer = await register(shop);
    await fillCart(buyer.accessToken, sku, 1);
    const res = await shop.api(`${ORDER}/PlaceOrder`, placeOrderRequest(await card(shop, buyer.accessToken)), { token: buyer.accessToken });
    const placed = await settledOrder(buyer.accessToken, res);
    assert.ok(placed && wasConfirmed(placed.status), JSON.stringify(res.body));
    assert.deepEqual(await available(sku), { on_hand: 0, reserved: 0 });
    const catalogInStock = async () => (await sql<{ in_stock: boolean }>(shop, "SELECT in_stock FROM catalog.products p JOIN catalog.skus s ON s.product_id = p.id WHERE s.code = $1", [sku]))[0]?.in_stock;
    await waitFor("the catalog to see the SKU sold out", async () => ((await catalogInStock()) === false ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });

    const cancelled = await shop.api(`${ORDER}/CancelOrder`, { orderId: placed.id, reason: "ordered twice" }, { token: buyer.accessToken });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    await waitFor("the cancel saga to finish", async () =>
      (await sql(shop, "SELECT 1 FROM \"order\".orders WHERE id = $1 AND saga_kind = 'cancel' AND saga_done", [placed.id])).length > 0 ? true : undefined,
      { timeoutMs: 30_000, intervalMs: 100 });
    assert.deepEqual(await available(sku), { on_hand: 1, reserved: 0 });
    const [reservation] = await sql<{ status: string; release_reason: string }>(shop, "SELECT status, release_reason FROM inventory.reservations WHERE order_id = $1", [placed.id]);
    assert.equal(reservation?.status, "restocked");
    const refunds = await sql<{ amount_minor: string }>(shop, "SELECT amount_minor FROM payment.ledger_transactions WHERE order_id = $1 AND kind = 'refund'", [placed.id]);
    assert.deepEqual(refunds.map((r) => Number(r.amount_minor)), [Number(placed.totals.total.amountMinor)]);
    await waitFor("the catalog to see the SKU in stock again", async () => ((await catalogInStock()) === true ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
    assert.deepEqual(await unbalancedLedgerTransactions(), []);
  });

  describe("the order service killed (SIGKILL-like exit) at each saga step, then restarted", () => {
    const points = ["order_created", "reserve_stock:called", "authorize_payment:called", "redeem_promotions", "capture_payment:called", "commit_stock:called"];
    after(() => shop.restart("order"));
    for (const point of points) {
      it(`ends the order confirmed or cleanly compensated after a crash at ${point}`, async () => {
        const sku = await stockedProduct(shop, admin, "Crash test mug", 1200, 5);
        const save = await coupon(shop, admin, 5);
        const buyer = await register(shop);
        await fillCart(buyer.accessToken, sku, 1);
        const payWith = await card(shop, buyer.accessToken);
        // The crashing process takes short leases, so the restarted one may take its saga over soon.
        await shop.restart("order", { ORDER_CRASH_AFTER_STEP: point, ORDER_SAGA_LEASE: "2s" });
        const crashed = new Promise<void>((resolve) => shop.process("order").once("exit", () => resolve()));
        await shop.api(`${ORDER}/PlaceOrder`, placeOrderRequest(payWith, { couponCodes: [save.code] }), { token: buyer.accessToken }).catch(() => undefined);
        await crashed;
        await shop.restart("order", { ORDER_RECOVERY_INTERVAL: "300ms" });
        const row = await waitFor("the order row", async () => (await sql<{ id: string }>(shop, 'SELECT id FROM "order".orders WHERE user_id = $1', [buyer.userId]))[0]);
        const order = await orderReaching(buyer.accessToken, row.id);
        const stock = await available(sku);
        const payments = await sql<{ status: string }>(shop, "SELECT status FROM payment.payments WHERE order_id = $1", [order.id]);
        const [promo] = await sql<{ redemption_count: number }>(shop, "SELECT redemption_count FROM promotion.promotions WHERE id = $1", [save.id]);
        if (wasConfirmed(order.status)) {
          assert.deepEqual(stock, { on_hand: 4, reserved: 0 });
          assert.deepEqual(payments.map((p) => p.status), ["captured"]);
          assert.equal(Number(promo!.redemption_count), 1);
        } else {
          assert.deepEqual(stock, { on_hand: 5, reserved: 0 });
          assert.ok(payments.every((p) => ["voided", "failed", "refunded"].includes(p.status)), JSON.stringify(payments));
          assert.equal(Number(promo!.redemption_count), 0);
        }
        assert.deepEqual(await unbalancedLedgerTransactions(), []);
      });
    }
  });

  it("delivers every event of a burst of orders once in effect although the broker cuts every connection mid-burst", async () => {
    const sku = await stockedProduct(shop, admin, "Wool throw", 6000, 100);
    const buyers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const buyer = await register(shop);
        await fillCart(buyer.accessToken, sku, 1);
        return { buyer, payWith: await card(shop, buyer.accessToken) };
      }),
    );
    const placing = buyers.map(async ({ buyer, payWith }, i) => {
      if (i === 10) await shop.cutBrokerConnections();
      const res = await shop.api(`${ORDER}/PlaceOrder`, placeOrderRequest(payWith), { token: buyer.accessToken });
      return settledOrder(buyer.accessToken, res);
    });
    const orders = (await Promise.all(placing)).filter((o): o is Order => o !== undefined);
    assert.equal(orders.filter((o) => wasConfirmed(o.status)).length, 20);
    const ids = orders.map((o) => o.id);
    await waitFor("one shipment per order", async () => {
      const rows = await sql<{ order_id: string; n: string }>(shop, "SELECT order_id, count(*) AS n FROM shipping.shipments WHERE order_id = ANY($1::uuid[]) GROUP BY order_id", [ids]);
      return rows.length === 20 || undefined;
    }, { timeoutMs: 120_000, intervalMs: 250 });
    const shipments = await sql<{ n: string }>(shop, "SELECT count(*) AS n FROM shipping.shipments WHERE order_id = ANY($1::uuid[])", [ids]);
    assert.equal(Number(shipments[0]!.n), 20);
    await waitFor("every buyer's cart emptied", async () => {
      const carts = await Promise.all(buyers.map(async ({ buyer }) => ((await shop.api(`${CART}/GetCart`, {}, { token: buyer.accessToken })).body["cart"] as { lines?: unknown[] }).lines ?? []));
      return carts.every((l) => l.length === 0) || undefined;
    }, { timeoutMs: 30_000 });
    await waitFor("one confirmation mail per order", () => ids.every((id) => smtp.mails.some((m) => textPart(m.data).includes(id.slice(0, 8)))) || undefined, { timeoutMs: 30_000 });
    const confirmations = await sql<{ n: string }>(
      shop,
      "SELECT count(*) AS n FROM notification.notifications WHERE template = 'order_confirmation' AND user_id = ANY($1::uuid[])",
      [buyers.map((b) => b.buyer.userId)],
    );
    assert.equal(Number(confirmations[0]!.n), 20, "no confirmation recorded twice");
  });
});
