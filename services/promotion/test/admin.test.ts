// The admin RPCs on a real port and real PostgreSQL, callers verified against a users JWKS
// double: create, read, list, update (merged and validated), disable, delete, and access.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { PromotionKind, RejectedCoupon_Reason } from "../../../gen/shop/promotion/v1/promotion_pb.js";
import type { CallOptions } from "../../../platform/grpc/index.js";
import { Code } from "../../../platform/errors.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import {
  as,
  at,
  promotionInit,
  rejectionOf,
  startPromotion,
  startUsersDouble,
  uniqueCode,
  uniqueSku,
  usd,
  type PromotionClient,
  type RunningPromotion,
  type UsersDouble,
} from "./helpers.js";

const HOUR = 3_600_000;

describe("promotion admin RPCs (real PostgreSQL, users JWKS double)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let svc: RunningPromotion;
  let client: PromotionClient;
  let admin: CallOptions;
  let customer: CallOptions;

  before(async () => {
    tdb = await createTestDatabase("promotion");
    users = await startUsersDouble();
    svc = await startPromotion({ databaseUrl: tdb.url, users: users.address });
    client = svc.client;
    admin = as(await users.tokenFor(randomUUID(), ["customer", "admin"]));
    customer = as(await users.tokenFor(randomUUID()));
  });

  after(async () => {
    await svc?.stop();
    await users?.stop();
    await tdb?.drop();
  });

  const createPromotion = async (init: Parameters<typeof promotionInit>[1] = {}, skus = [uniqueSku()]) =>
    (await client.createPromotion({ promotion: promotionInit(skus, init) }, admin)).promotion!;

  const evaluate = (sku: string, couponCodes: string[] = []) =>
    client.evaluateCart({ lines: [{ sku, quantity: 1, unitPrice: usd(10_000n) }], couponCodes, userId: randomUUID() });

  it("creates a coupon promotion with its code upper-cased, and reads it back", async () => {
    const code = uniqueCode("summer");
    const created = await createPromotion({ couponCode: code.toLowerCase(), minSpend: usd(2500n), perCustomerLimit: 2, totalLimit: 100, stackable: true });
    assert.match(created.id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      [created.couponCode, created.kind, created.percentBps, created.minSpend?.amountMinor, created.perCustomerLimit, created.totalLimit, created.stackable, created.disabled],
      [code, PromotionKind.PERCENTAGE, 1000, 2500n, 2, 100, true, false],
    );
    assert.equal(created.redemptionCount, 0);
    assert.ok(created.createTime && created.updateTime);
    const read = (await client.getPromotion({ id: created.id }, admin)).promotion!;
    assert.deepEqual(read, created);
  });

  it("refuses a coupon code taken in any case with ALREADY_EXISTS naming the field", async () => {
    const code = uniqueCode("dup");
    await createPromotion({ couponCode: code });
    const err = await rejectionOf(client.createPromotion({ promotion: promotionInit([uniqueSku()], { couponCode: code.toLowerCase() }) }, admin));
    assert.equal(err.code, Code.ALREADY_EXISTS);
    assert.equal(err.violations[0]?.field, "promotion.coupon_code");
  });

  it("names the fields of an invalid promotion", async () => {
    const invalid = async (init: Parameters<typeof promotionInit>[1]) => {
      const err = await rejectionOf(client.createPromotion({ promotion: promotionInit([uniqueSku()], init) }, admin));
      assert.equal(err.code, Code.INVALID_ARGUMENT);
      return err.violations.map((v) => v.field);
    };
    // The contract's rules, at the platform's edge:
    assert.deepEqual(await invalid({ name: "" }), ["promotion.name"]);
    assert.deepEqual(await invalid({ couponCode: "no spaces" }), ["promotion.coupon_code"]);
    // A rule on the whole message (CEL) names the message.
    assert.deepEqual(await invalid({ percentBps: 0 }), ["promotion"]);
    // The service's own rules:
    assert.deepEqual(await invalid({ kind: PromotionKind.FIXED_AMOUNT, amountOff: usd(500n), percentBps: 300 }), ["promotion.percent_bps"]);
    assert.deepEqual(await invalid({ kind: PromotionKind.FIXED_AMOUNT, amountOff: usd(500n), percentBps: 0, minSpend: { amountMinor: 100n, currencyCode: "EUR" } }), [
      "promotion.min_spend.currency_code",
    ]);
  });

  it("updates only the fields in the mask, checking the merged promotion as a whole", async () => {
    const p = await createPromotion({ couponCode: uniqueCode("upd"), totalLimit: 7 });
    const renamed = (await client.updatePromotion({ id: p.id, promotion: { name: "Renamed", percentBps: 2500, totalLimit: 999 }, updateMask: { paths: ["name", "percent_bps"] } }, admin))
      .promotion!;
    assert.deepEqual([renamed.name, renamed.percentBps, renamed.totalLimit, renamed.couponCode], ["Renamed", 2500, 7, p.couponCode]);
    assert.ok(timestampDate(renamed.updateTime!).getTime() >= timestampDate(p.updateTime!).getTime());

    // Switching to a fixed amount without one is caught on the merged promotion.
    const merged = await rejectionOf(client.updatePromotion({ id: p.id, promotion: { kind: PromotionKind.FIXED_AMOUNT }, updateMask: { paths: ["kind"] } }, admin));
    assert.equal(merged.code, Code.INVALID_ARGUMENT);
    assert.deepEqual(merged.violations.map((v) => v.field), ["promotion"]);
    assert.match(merged.message, /amount_off must be positive/);

    const fixed = (await client.updatePromotion(
      { id: p.id, promotion: { kind: PromotionKind.FIXED_AMOUNT, amountOff: usd(750n) }, updateMask: { paths: ["kind", "amount_off", "percent_bps"] } },
      admin,
    )).promotion!;
    assert.deepEqual([fixed.kind, fixed.amountOff?.amountMinor, fixed.percentBps], [PromotionKind.FIXED_AMOUNT, 750n, 0]);

    const emptyMask = await rejectionOf(client.updatePromotion({ id: p.id, promotion: {}, updateMask: { paths: [] } }, admin));
    assert.deepEqual([emptyMask.code, emptyMask.violations[0]?.field], [Code.INVALID_ARGUMENT, "update_mask"]);
    const outputOnly = await rejectionOf(client.updatePromotion({ id: p.id, promotion: { redemptionCount: 5 }, updateMask: { paths: ["redemption_count"] } }, admin));
    assert.equal(outputOnly.code, Code.INVALID_ARGUMENT);
    assert.equal((await rejectionOf(client.updatePromotion({ id: randomUUID(), promotion: { name: "x" }, updateMask: { paths: ["name"] } }, admin))).code, Code.NOT_FOUND);
  });

  it("disables and re-enables a promotion: while disabled it never applies", async () => {
    const sku = uniqueSku();
    const auto = await createPromotion({}, [sku]);
    const code = uniqueCode("pause");
    const coupon = await createPromotion({ couponCode: code, stackable: true, percentBps: 500 }, [sku]);
    const applied = async () => (await evaluate(sku, [code])).applied.map((a) => a.promotionId).sort();
    assert.deepEqual(await applied(), [auto.id].sort(), "the better non-stackable automatic one wins over the 5% coupon");

    for (const id of [auto.id, coupon.id]) {
      const off = (await client.updatePromotion({ id, promotion: { disabled: true }, updateMask: { paths: ["disabled"] } }, admin)).promotion!;
      assert.equal(off.disabled, true);
    }
    const paused = await evaluate(sku, [code]);
    assert.deepEqual(paused.applied, []);
    assert.deepEqual(paused.rejectedCoupons.map((r) => r.reason), [RejectedCoupon_Reason.DISABLED]);

    await client.updatePromotion({ id: coupon.id, promotion: { disabled: false }, updateMask: { paths: ["disabled"] } }, admin);
    assert.deepEqual(await applied(), [coupon.id]);
  });

  it("lists newest first in pages", async () => {
    const made = [await createPromotion(), await createPromotion(), await createPromotion()];
    const first = await client.listPromotions({ pageSize: 2 }, admin);
    assert.deepEqual(first.promotions.map((p) => p.id), [made[2]!.id, made[1]!.id]);
    assert.notEqual(first.nextPageToken, "");
    const second = await client.listPromotions({ pageSize: 2, pageToken: first.nextPageToken }, admin);
    assert.equal(second.promotions[0]?.id, made[0]!.id);
    const bad = await rejectionOf(client.listPromotions({ pageToken: "garbage" }, admin));
    assert.deepEqual([bad.code, bad.violations[0]?.field], [Code.INVALID_ARGUMENT, "page_token"]);
  });

  it("lists only active promotions with active_only: not disabled, ended, future or used up", async () => {
    const now = Date.now();
    const active = await createPromotion({ endTime: at(new Date(now + HOUR)) });
    const disabled = await createPromotion({ disabled: true });
    const ended = await createPromotion({ startTime: at(new Date(now - 2 * HOUR)), endTime: at(new Date(now - HOUR)) });
    const future = await createPromotion({ startTime: at(new Date(now + HOUR)) });
    const usedUp = await createPromotion({ totalLimit: 1 });
    await client.redeemPromotions({ orderId: randomUUID(), userId: randomUUID(), redemptions: [{ promotionId: usedUp.id, amount: usd(100n) }] });

    const ids = new Set<string>();
    let pageToken = "";
    do {
      const page = await client.listPromotions({ activeOnly: true, pageSize: 100, pageToken }, admin);
      page.promotions.forEach((p) => ids.add(p.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    assert.ok(ids.has(active.id));
    for (const p of [disabled, ended, future, usedUp]) assert.ok(!ids.has(p.id), `${p.id} listed as active`);
    const all = (await client.listPromotions({ pageSize: 10 }, admin)).promotions.map((p) => p.id);
    assert.ok(all.includes(usedUp.id) && all.includes(disabled.id));
  });

  it("deletes a promotion never redeemed; a redeemed one only ends (FAILED_PRECONDITION)", async () => {
    const fresh = await createPromotion();
    await client.deletePromotion({ id: fresh.id }, admin);
    assert.equal((await rejectionOf(client.getPromotion({ id: fresh.id }, admin))).code, Code.NOT_FOUND);
    assert.equal((await rejectionOf(client.deletePromotion({ id: fresh.id }, admin))).code, Code.NOT_FOUND);

    const used = await createPromotion();
    const orderId = randomUUID();
    await client.redeemPromotions({ orderId, userId: randomUUID(), redemptions: [{ promotionId: used.id, amount: usd(100n) }] });
    // Even released, it was redeemed once: the order's record refers to it.
    await client.releaseRedemptions({ orderId, reason: "test" });
    const err = await rejectionOf(client.deletePromotion({ id: used.id }, admin));
    assert.equal(err.code, Code.FAILED_PRECONDITION);
    assert.equal((await client.getPromotion({ id: used.id }, admin)).promotion?.id, used.id);
  });

  it("refuses the admin RPCs to customers (PERMISSION_DENIED) and to anonymous callers (UNAUTHENTICATED)", async () => {
    const p = await createPromotion();
    const calls = (opts?: CallOptions) => [
      client.createPromotion({ promotion: promotionInit([uniqueSku()]) }, opts),
      client.getPromotion({ id: p.id }, opts),
      client.listPromotions({}, opts),
      client.updatePromotion({ id: p.id, promotion: { name: "hijacked" }, updateMask: { paths: ["name"] } }, opts),
      client.deletePromotion({ id: p.id }, opts),
    ];
    for (const err of await Promise.all(calls(customer).map(rejectionOf))) assert.equal(err.code, Code.PERMISSION_DENIED);
    for (const err of await Promise.all(calls().map(rejectionOf))) assert.equal(err.code, Code.UNAUTHENTICATED);
    assert.equal((await client.getPromotion({ id: p.id }, admin)).promotion?.name, p.name, "nothing changed");
  });
});
