// Crash recovery: the order service runs as its own process (its real main.js) with
// ORDER_CRASH_AFTER_STEP set, so it exits with 137 at that point of the saga, exactly as if it
// had been SIGKILLed there; then a fresh instance starts on the same database and its
// recovery loop takes the expired lease over. Every order must end CONFIRMED with exactly one
// payment captured, one reservation committed and one redemption, or, past its deadline and
// before capture, cleanly compensated: payment voided, stock released, coupon given back.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { OrderStatus, type Order } from "../../../gen/shop/order/v1/order_pb.js";
import { OrderFailedSchema, OrderPlacedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { PaymentStatus } from "../../../gen/shop/payment/v1/payment_pb.js";
import type { Db } from "../../../platform/db/db.js";
import { ShopError } from "../../../platform/errors.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import type { CrashPoint } from "../saga-plan.js";
import {
  fillCart,
  newShopper,
  orderDb,
  orderEnv,
  outboxEvents,
  placeRequest,
  sagaSteps,
  spawnOrder,
  startOrder,
  startPeers,
  stockedSku,
  type Peers,
  type Shopper,
} from "./helpers.js";

describe("order service: crash recovery (its own process killed at each saga step, then restarted)", function () {
  this.timeout(60_000);
  let tdb: TestDatabase;
  let peers: Peers;
  let db: Db;

  before(async () => {
    tdb = await createTestDatabase("order_recovery");
    peers = await startPeers();
    db = orderDb(tdb.url);
  });

  after(async () => {
    await db?.close();
    await peers?.stop();
    await tdb?.drop();
  });

  interface Crashed {
    readonly shopper: Shopper;
    readonly sku: string;
    readonly promotionId: string;
  }

  /** Checks out a cart (with a coupon) on an order process that dies at `point`. */
  async function crashAt(point: CrashPoint, extraEnv: Record<string, string> = {}, token = "tok_visa"): Promise<Crashed> {
    const sku = stockedSku(peers, 2000n, 10);
    const code = `RC${randomUUID().slice(0, 8)}`.toUpperCase();
    const promotionId = peers.promotion.add({ code, percentBps: 1000 });
    const shopper = await newShopper(peers);
    fillCart(peers, shopper, { [sku]: 2 });
    const proc = await spawnOrder(orderEnv(tdb.url, peers, { ORDER_SAGA_LEASE: "1s", ORDER_CRASH_AFTER_STEP: point, ...extraEnv }));
    try {
      const outcome = await proc.client.placeOrder(placeRequest({ couponCodes: [code], paymentMethodToken: token }), shopper.call).then(
        () => "answered",
        (err: unknown) => (err instanceof ShopError ? "failed" : "odd"),
      );
      assert.equal(outcome, "failed", "the process died during the call");
      assert.equal(await proc.exited, 137);
    } finally {
      proc.kill();
      proc.client.close();
    }
    return { shopper, sku, promotionId };
  }

  /** Restarts the service and waits until recovery has finished the shopper's order. */
  async function recover(c: Crashed): Promise<Order> {
    const order = await startOrder(orderEnv(tdb.url, peers));
    try {
      return await waitFor(
        "recovery to finish the order",
        async () => {
          const [o] = (await order.client.listOrders({}, c.shopper.call)).orders;
          if (!o || o.status === OrderStatus.PENDING) return undefined;
          const { rows } = await db.query<{ saga_done: boolean }>("SELECT saga_done FROM orders WHERE id = $1", [o.id]);
          return rows[0]?.saga_done ? o : undefined;
        },
        { timeoutMs: 20_000 },
      );
    } finally {
      await order.stop();
    }
  }

  function assertConfirmedOnce(o: Order, c: Crashed): void {
    assert.equal(o.status, OrderStatus.CONFIRMED);
    const payments = peers.payment.ofOrder(o.id);
    assert.equal(payments.length, 1, "one payment for the order");
    assert.equal(payments[0]?.status, PaymentStatus.CAPTURED);
    assert.equal(o.paymentId, payments[0]?.id);
    assert.equal(peers.inventory.reservations.get(o.id)?.status, "committed");
    assert.equal(peers.inventory.stock.get(c.sku), 8, "stock taken once");
    assert.deepEqual(peers.promotion.redeemed.get(o.id), [c.promotionId]);
  }

  const forwardPoints: CrashPoint[] = [
    "order_created",
    "reserve_stock:called",
    "reserve_stock",
    "authorize_payment:called",
    "authorize_payment",
    "redeem_promotions:called",
    "capture_payment:called",
    "capture_payment",
    "commit_stock:called",
  ];

  for (const point of forwardPoints) {
    it(`resumes a checkout killed at ${point} and confirms it exactly once`, async () => {
      const c = await crashAt(point);
      const o = await recover(c);
      assertConfirmedOnce(o, c);
      assert.equal((await outboxEvents(db, OrderPlacedSchema)).filter((e) => e.order?.id === o.id).length, 1);
    });
  }

  it("resumes a checkout whose process got a real SIGKILL while retrying a step", async () => {
    const sku = stockedSku(peers, 2000n, 10);
    const code = `RK${randomUUID().slice(0, 8)}`.toUpperCase();
    const promotionId = peers.promotion.add({ code, percentBps: 1000 });
    const shopper = await newShopper(peers);
    fillCart(peers, shopper, { [sku]: 2 });
    const proc = await spawnOrder(orderEnv(tdb.url, peers, { ORDER_SAGA_LEASE: "1s" }));
    try {
      peers.payment.failNext("authorizePayment", Infinity);
      const pending = (await proc.client.placeOrder(placeRequest({ couponCodes: [code] }), { ...shopper.call, timeoutMs: 1000 })).order!;
      assert.equal(pending.status, OrderStatus.PENDING);
      await waitFor("authorize retried", async () => ((await sagaSteps(db, pending.id))["authorize_payment"]?.attempts ?? 0) >= 2 || undefined);
      proc.kill();
      assert.equal(await proc.exited, "SIGKILL");
    } finally {
      proc.kill();
      proc.client.close();
      peers.payment.heal();
    }
    const c = { shopper, sku, promotionId };
    assertConfirmedOnce(await recover(c), c);
  });

  it("compensates a checkout killed before capture once it is past its deadline: voided, released, coupon back", async () => {
    const c = await crashAt("redeem_promotions", { ORDER_SAGA_DEADLINE: "1s" });
    // The new instance only finds the lease expired after 1 s, by which time the deadline passed too.
    const o = await recover(c);
    assert.equal(o.status, OrderStatus.FAILED);
    assert.match(o.statusHistory.at(-1)?.reason ?? "", /timed out/);
    assert.deepEqual(peers.payment.ofOrder(o.id).map((p) => p.status), [PaymentStatus.VOIDED]);
    assert.equal(peers.inventory.reservations.get(o.id)?.status, "released");
    assert.equal(peers.inventory.stock.get(c.sku), 10);
    assert.ok(!peers.promotion.redeemed.has(o.id));
    assert.equal((await outboxEvents(db, OrderFailedSchema)).filter((e) => e.orderId === o.id).length, 1);
  });

  it("finishes a checkout killed after capture even past its deadline: money taken means the order goes through", async () => {
    const c = await crashAt("capture_payment", { ORDER_SAGA_DEADLINE: "1s" });
    assertConfirmedOnce(await recover(c), c);
  });

  it("resumes a compensation killed half way and leaves nothing held", async () => {
    peers.payment.declined.add("tok_recovery_declined");
    const c = await crashAt("settle_payment", {}, "tok_recovery_declined");
    const o = await recover(c);
    assert.equal(o.status, OrderStatus.FAILED);
    assert.equal(peers.inventory.reservations.get(o.id)?.status, "released");
    assert.equal(peers.inventory.stock.get(c.sku), 10);
    assert.ok(peers.payment.ofOrder(o.id).every((p) => p.status === PaymentStatus.FAILED));
    const steps = await sagaSteps(db, o.id);
    assert.equal(steps["release_stock"]?.status, "done");
    assert.equal(steps["capture_payment"], undefined);
  });

  it("lets only the lease holder drive a saga, and another replica take it over once the holder stops", async () => {
    const env = orderEnv(tdb.url, peers, { ORDER_SAGA_LEASE: "1s" });
    const a = await startOrder(env);
    const b = await startOrder(env);
    try {
      const sku = stockedSku(peers, 700n, 10);
      const shopper = await newShopper(peers);
      fillCart(peers, shopper, { [sku]: 1 });
      peers.payment.failNext("authorizePayment", Infinity);
      const pending = (await a.client.placeOrder(placeRequest(), { ...shopper.call, timeoutMs: 1000 })).order!;
      assert.equal(pending.status, OrderStatus.PENDING);
      const ownerOf = async () => (await db.query<{ lease_owner: string | null }>("SELECT lease_owner FROM orders WHERE id = $1", [pending.id])).rows[0]?.lease_owner;
      const first = await ownerOf();
      assert.ok(first);
      // Keep retrying for well over two lease periods: the holder renews, B's recovery never takes it.
      await waitFor("many authorize attempts", async () => ((await sagaSteps(db, pending.id))["authorize_payment"]?.attempts ?? 0) >= 15 || undefined, { timeoutMs: 15_000 });
      assert.equal(await ownerOf(), first);

      await a.stop();
      peers.payment.heal();
      const done = await waitFor("the other replica to confirm the order", async () => {
        const o = (await b.client.getOrder({ orderId: pending.id }, shopper.call)).order;
        return o?.status === OrderStatus.CONFIRMED ? o : undefined;
      });
      assert.equal(peers.payment.ofOrder(done.id).length, 1);
      assert.equal(peers.inventory.reservations.get(done.id)?.status, "committed");
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
