// Evaluation, redemption and release on a real port and real PostgreSQL: the cart priced over
// gRPC, redemptions idempotent by order id, releases idempotent, limits held per customer and
// overall, also under 100 concurrent checkouts, and the events in the outbox.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { PromotionRedeemedSchema, RedemptionReleasedSchema } from "../../../gen/shop/promotion/v1/events_pb.js";
import { PromotionKind, RejectedCoupon_Reason, type Redemption } from "../../../gen/shop/promotion/v1/promotion_pb.js";
import type { Db } from "../../../platform/db/db.js";
import { Code, ShopError } from "../../../platform/errors.js";
import type { CallOptions } from "../../../platform/grpc/index.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import {
  as,
  at,
  outboxRows,
  outboxMark,
  promotionDb,
  promotionInit,
  rejectionOf,
  startPromotion,
  startUsersDouble,
  testClock,
  uniqueCode,
  uniqueSku,
  usd,
  type PromotionClient,
  type PromotionInit,
  type RunningPromotion,
  type TestClock,
  type UsersDouble,
} from "./helpers.js";

const HOUR = 3_600_000;

describe("promotion evaluation and redemptions (real PostgreSQL)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let clock: TestClock;
  let svc: RunningPromotion;
  let client: PromotionClient;
  let admin: CallOptions;
  let db: Db;

  before(async () => {
    tdb = await createTestDatabase("promotion");
    users = await startUsersDouble();
    clock = testClock();
    svc = await startPromotion({ databaseUrl: tdb.url, users: users.address, clock });
    client = svc.client;
    admin = as(await users.tokenFor(randomUUID(), ["admin"]));
    db = promotionDb(tdb.url);
  });

  after(async () => {
    await svc?.stop();
    await db?.close();
    await users?.stop();
    await tdb?.drop();
  });

  const createPromotion = async (skus: readonly string[], init: PromotionInit = {}) =>
    (await client.createPromotion({ promotion: promotionInit(skus, init) }, admin)).promotion!;
  const countOf = async (id: string) => (await client.getPromotion({ id }, admin)).promotion!.redemptionCount;
  const redemption = (promotionId: string, couponCode = "", amountMinor = 100n) => ({ promotionId, couponCode, amount: usd(amountMinor) });
  const redeem = (orderId: string, userId: string, redemptions: ReturnType<typeof redemption>[]) => client.redeemPromotions({ orderId, userId, redemptions });
  const eventsOf = async (mark: number, type: string) => (await outboxRows(db, mark)).filter((e) => e.type === type);

  it("prices a cart: automatic promotions and coupons typed in any case, per line, with shipping and rejections", async () => {
    const [a, b] = [uniqueSku(), uniqueSku()];
    const auto = await createPromotion([a, b], { name: "Ten percent", stackable: true });
    const code = uniqueCode("five");
    const coupon = await createPromotion([a, b], { couponCode: code, kind: PromotionKind.FIXED_AMOUNT, percentBps: 0, amountOff: usd(500n), minSpend: usd(3000n), stackable: true });
    const ship = uniqueCode("ship");
    const freeShipping = await createPromotion([a], { couponCode: ship, kind: PromotionKind.FREE_SHIPPING, percentBps: 0, stackable: true });

    const res = await client.evaluateCart({
      userId: randomUUID(),
      lines: [
        { sku: a, quantity: 2, unitPrice: usd(1500n) },
        { sku: b, quantity: 1, unitPrice: usd(1000n) },
      ],
      couponCodes: [` ${code.toLowerCase()}`, ship.toLowerCase(), "NO-SUCH-CODE"],
      shipping: usd(499n),
    });
    assert.deepEqual(res.applied.map((x) => [x.promotionId, x.couponCode, x.amount?.amountMinor]), [
      [auto.id, "", 400n],
      [coupon.id, code, 500n],
      [freeShipping.id, ship, 499n],
    ]);
    // 10% of 3000 and 1000; then 500 over the remaining 2700 and 900: 375 and 125.
    assert.deepEqual(res.lineAdjustments.map((x) => [x.sku, x.promotionId, x.amount?.amountMinor]), [
      [a, auto.id, 300n],
      [a, coupon.id, 375n],
      [b, auto.id, 100n],
      [b, coupon.id, 125n],
    ]);
    assert.deepEqual([res.subtotal?.amountMinor, res.shippingDiscount?.amountMinor, res.discountTotal?.amountMinor, res.discountTotal?.currencyCode], [4000n, 499n, 1399n, "USD"]);
    assert.deepEqual(res.rejectedCoupons.map((r) => [r.couponCode, r.reason]), [["NO-SUCH-CODE", RejectedCoupon_Reason.NOT_FOUND]]);
  });

  it("refuses a cart in two currencies, naming the line", async () => {
    const err = await rejectionOf(
      client.evaluateCart({ lines: [{ sku: "A", quantity: 1, unitPrice: usd(100n) }, { sku: "B", quantity: 1, unitPrice: { amountMinor: 100n, currencyCode: "EUR" } }] }),
    );
    assert.deepEqual([err.code, err.violations[0]?.field], [Code.INVALID_ARGUMENT, "lines[1].unit_price.currency_code"]);
  });

  it("follows the service's clock for windows", async () => {
    const sku = uniqueSku();
    const code = uniqueCode("soon");
    const now = clock.now().getTime();
    await createPromotion([sku], { couponCode: code, startTime: at(new Date(now + HOUR)), endTime: at(new Date(now + 2 * HOUR)) });
    const reason = async () => {
      const res = await client.evaluateCart({ lines: [{ sku, quantity: 1, unitPrice: usd(1000n) }], couponCodes: [code] });
      return res.rejectedCoupons[0]?.reason ?? "applied";
    };
    try {
      assert.equal(await reason(), RejectedCoupon_Reason.NOT_STARTED);
      clock.advance(HOUR);
      assert.equal(await reason(), "applied");
      clock.advance(HOUR);
      assert.equal(await reason(), RejectedCoupon_Reason.EXPIRED);
    } finally {
      clock.advance(-2 * HOUR);
    }
  });

  it("redeems for an order once: a replay returns the same redemptions, counts once and emits one PromotionRedeemed", async () => {
    const sku = uniqueSku();
    const code = uniqueCode("once");
    const p = await createPromotion([sku], { couponCode: code, totalLimit: 5 });
    const userId = randomUUID();
    const priced = await client.evaluateCart({ userId, lines: [{ sku, quantity: 3, unitPrice: usd(1999n) }], couponCodes: [code.toLowerCase()] });
    const applied = priced.applied.map((x) => ({ promotionId: x.promotionId, couponCode: x.couponCode, amount: x.amount! }));
    assert.deepEqual(applied.map((x) => x.amount.amountMinor), [599n]);

    const mark = await outboxMark(db);
    const orderId = randomUUID();
    const first = await client.redeemPromotions({ orderId, userId, redemptions: applied });
    const again = await client.redeemPromotions({ orderId, userId, redemptions: applied });
    assert.deepEqual(again.redemptions, first.redemptions);
    assert.deepEqual(first.redemptions.map((r) => [r.promotionId, r.couponCode, r.amount?.amountMinor]), [[p.id, code, 599n]]);
    assert.equal(await countOf(p.id), 1);

    const events = await eventsOf(mark, "shop.promotion.v1.PromotionRedeemed");
    assert.equal(events.length, 1);
    const event = fromBinary(PromotionRedeemedSchema, events[0]!.payload);
    assert.deepEqual([event.orderId, event.userId, event.redemptions.map((r) => [r.promotionId, r.amount?.amountMinor])], [orderId, userId, [[p.id, 599n]]]);

    const other = await rejectionOf(client.redeemPromotions({ orderId, userId, redemptions: [{ ...applied[0]!, amount: usd(1n) }] }));
    assert.deepEqual([other.code, other.violations[0]?.field], [Code.FAILED_PRECONDITION, "redemptions"]);
  });

  it("releases an order's redemptions once, emitting RedemptionReleased; the order cannot redeem again", async () => {
    const p = await createPromotion([uniqueSku()], { totalLimit: 3 });
    const [orderId, userId] = [randomUUID(), randomUUID()];
    await redeem(orderId, userId, [redemption(p.id)]);
    assert.equal(await countOf(p.id), 1);

    const mark = await outboxMark(db);
    const released = await client.releaseRedemptions({ orderId, reason: "payment declined" });
    const again = await client.releaseRedemptions({ orderId, reason: "retry" });
    assert.deepEqual(released.released.map((r) => [r.promotionId, r.amount?.amountMinor]), [[p.id, 100n]]);
    assert.deepEqual(again.released, released.released);
    assert.equal(await countOf(p.id), 0);
    const events = await eventsOf(mark, "shop.promotion.v1.RedemptionReleased");
    assert.equal(events.length, 1);
    const event = fromBinary(RedemptionReleasedSchema, events[0]!.payload);
    assert.deepEqual([event.orderId, event.userId, event.reason, event.redemptions.length], [orderId, userId, "payment declined", 1]);

    const late = await rejectionOf(redeem(orderId, userId, [redemption(p.id)]));
    assert.deepEqual([late.code, late.violations[0]?.field], [Code.FAILED_PRECONDITION, "order_id"]);
    assert.equal(await countOf(p.id), 0);
  });

  it("refuses a redemption that arrives after its order was already compensated", async () => {
    const p = await createPromotion([uniqueSku()]);
    const orderId = randomUUID();
    assert.deepEqual((await client.releaseRedemptions({ orderId, reason: "checkout failed" })).released, []);
    assert.equal((await rejectionOf(redeem(orderId, randomUUID(), [redemption(p.id)]))).code, Code.FAILED_PRECONDITION);
    assert.equal(await countOf(p.id), 0);
  });

  it("holds the per-customer limit, for guests too, and gives the use back on release", async () => {
    const sku = uniqueSku();
    const code = uniqueCode("member");
    const p = await createPromotion([sku], { couponCode: code, perCustomerLimit: 1 });
    const [alice, bob] = [randomUUID(), randomUUID()];
    const price = (userId?: string) => client.evaluateCart({ ...(userId ? { userId } : {}), lines: [{ sku, quantity: 1, unitPrice: usd(1000n) }], couponCodes: [code] });

    const firstOrder = randomUUID();
    await redeem(firstOrder, alice, [redemption(p.id, code)]);
    const second = await rejectionOf(redeem(randomUUID(), alice, [redemption(p.id, code)]));
    assert.deepEqual([second.code, second.violations[0]?.field], [Code.FAILED_PRECONDITION, "redemptions[0].promotion_id"]);
    assert.deepEqual((await price(alice)).rejectedCoupons.map((r) => r.reason), [RejectedCoupon_Reason.USAGE_LIMIT_REACHED]);
    assert.deepEqual((await price()).rejectedCoupons.map((r) => r.reason), [RejectedCoupon_Reason.SIGN_IN_REQUIRED]);

    assert.deepEqual((await price(bob)).applied.map((x) => x.promotionId), [p.id]);
    await redeem(randomUUID(), bob, [redemption(p.id, code)]);
    assert.equal(await countOf(p.id), 2);

    await client.releaseRedemptions({ orderId: firstOrder, reason: "cancelled" });
    assert.deepEqual((await price(alice)).applied.map((x) => x.promotionId), [p.id]);
    await redeem(randomUUID(), alice, [redemption(p.id, code)]);
  });

  it("refuses with typed errors naming the field: a used-up, disabled, unknown or wrong-code promotion, taking nothing", async () => {
    const code = uniqueCode("last");
    const p = await createPromotion([uniqueSku()], { couponCode: code, totalLimit: 1 });
    const other = await createPromotion([uniqueSku()]);
    await redeem(randomUUID(), randomUUID(), [redemption(p.id, code)]);

    const orderId = randomUUID();
    const mark = await outboxMark(db);
    // All or nothing: the first redemption would succeed, the second is used up.
    const usedUp = await rejectionOf(redeem(orderId, randomUUID(), [redemption(other.id), redemption(p.id, code)]));
    assert.deepEqual([usedUp.code, usedUp.violations[0]?.field], [Code.FAILED_PRECONDITION, "redemptions[1].promotion_id"]);
    assert.match(usedUp.message, /usage limit/);
    assert.equal(await countOf(other.id), 0);
    assert.deepEqual((await db.query("SELECT 1 FROM order_redemptions WHERE order_id = $1", [orderId])).rows, []);
    assert.deepEqual(await outboxRows(db, mark), []);

    const unknown = await rejectionOf(redeem(randomUUID(), randomUUID(), [redemption(randomUUID())]));
    assert.deepEqual([unknown.code, unknown.violations[0]?.field], [Code.NOT_FOUND, "redemptions[0].promotion_id"]);
    const wrongCode = await rejectionOf(redeem(randomUUID(), randomUUID(), [redemption(other.id, "SOMETHING")]));
    assert.deepEqual([wrongCode.code, wrongCode.violations[0]?.field], [Code.FAILED_PRECONDITION, "redemptions[0].coupon_code"]);

    await client.updatePromotion({ id: other.id, promotion: { disabled: true }, updateMask: { paths: ["disabled"] } }, admin);
    const disabled = await rejectionOf(redeem(randomUUID(), randomUUID(), [redemption(other.id)]));
    assert.deepEqual([disabled.code, disabled.violations[0]?.field], [Code.FAILED_PRECONDITION, "redemptions[0].promotion_id"]);
  });

  it("redeems exactly 10 of 100 concurrent orders for a coupon limited to 10 uses", async () => {
    const code = uniqueCode("rush");
    const p = await createPromotion([uniqueSku()], { couponCode: code, totalLimit: 10 });
    const mark = await outboxMark(db);
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => redeem(randomUUID(), randomUUID(), [redemption(p.id, code)])));
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    assert.equal(won.length, 10);
    assert.equal(lost.length, 90);
    for (const err of lost) assert.ok(err instanceof ShopError && err.code === Code.FAILED_PRECONDITION, String(err));

    assert.equal(await countOf(p.id), 10);
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM redemptions WHERE promotion_id = $1", [p.id]);
    assert.equal(rows[0]?.n, 10);
    assert.equal((await eventsOf(mark, "shop.promotion.v1.PromotionRedeemed")).length, 10);
  });

  it("treats concurrent repeats of one order's redemption as one", async () => {
    const p = await createPromotion([uniqueSku()], { totalLimit: 50 });
    const [orderId, userId] = [randomUUID(), randomUUID()];
    const results = await Promise.all(Array.from({ length: 20 }, () => redeem(orderId, userId, [redemption(p.id)])));
    const first: Redemption[] = results[0]!.redemptions;
    for (const r of results) assert.deepEqual(r.redemptions, first);
    assert.equal(await countOf(p.id), 1);
  });

  it("keeps both limits, all or nothing per order, when concurrent orders redeem the same promotions in either order", async () => {
    const p = await createPromotion([uniqueSku()], { totalLimit: 5, stackable: true });
    const q = await createPromotion([uniqueSku()], { totalLimit: 5, stackable: true });
    const orders = Array.from({ length: 30 }, (_, i) => ({ orderId: randomUUID(), pair: i % 2 === 0 ? [p.id, q.id] : [q.id, p.id] }));
    const results = await Promise.allSettled(orders.map((o) => redeem(o.orderId, randomUUID(), o.pair.map((id) => redemption(id)))));
    for (const r of results) {
      if (r.status === "rejected") assert.ok(r.reason instanceof ShopError && r.reason.code === Code.FAILED_PRECONDITION, String(r.reason));
    }
    const won = results.filter((r) => r.status === "fulfilled").length;
    assert.equal(won, 5);
    assert.deepEqual([await countOf(p.id), await countOf(q.id)], [5, 5]);
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM order_redemptions o WHERE (SELECT count(*) FROM redemptions r WHERE r.order_id = o.order_id AND r.promotion_id IN ($1, $2)) = 2",
      [p.id, q.id],
    );
    assert.equal(rows[0]?.n, 5, "every order that won holds both redemptions");
  });
});
