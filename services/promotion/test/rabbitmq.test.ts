// The promotion service's events on real RabbitMQ (a unique exchange, so runs never share
// queues): what RedeemPromotions and ReleaseRedemptions enqueue in their transactions reaches
// the broker through the outbox relay, as protobuf with the message id and type.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import amqp from "amqplib";
import { fromBinary } from "@bufbuild/protobuf";
import { PromotionRedeemedSchema, RedemptionReleasedSchema } from "../../../gen/shop/promotion/v1/events_pb.js";
import { deadLetterExchangeName } from "../../../platform/events/index.js";
import { uniqueName } from "../../../platform/testing/names.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { as, promotionInit, startPromotion, startUsersDouble, uniqueSku, usd, type RunningPromotion, type UsersDouble } from "./helpers.js";

const AMQP_URL = process.env["TEST_AMQP_URL"] ?? "amqp://guest:guest@127.0.0.1:5672";

describe("promotion events (real PostgreSQL and RabbitMQ)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let svc: RunningPromotion;
  let exchange: string;
  let conn: amqp.ChannelModel;
  let ch: amqp.Channel;
  const received: amqp.ConsumeMessage[] = [];

  before(async () => {
    tdb = await createTestDatabase("promotion_amqp");
    users = await startUsersDouble();
    exchange = uniqueName("test_promotion");
    svc = await startPromotion({ databaseUrl: tdb.url, users: users.address, env: { AMQP_URL, AMQP_EXCHANGE: exchange } });
    // A listener in the place of the services that care (order, notification).
    conn = await amqp.connect(AMQP_URL);
    ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true, autoDelete: true });
    for (const type of [PromotionRedeemedSchema.typeName, RedemptionReleasedSchema.typeName]) await ch.bindQueue(queue, exchange, type);
    await ch.consume(queue, (m) => void (m && received.push(m)), { noAck: true });
  });

  after(async () => {
    await ch?.deleteExchange(exchange).catch(() => undefined);
    await ch?.deleteExchange(deadLetterExchangeName(exchange)).catch(() => undefined);
    await conn?.close();
    await svc?.stop();
    await users?.stop();
    await tdb?.drop();
  });

  it("publishes PromotionRedeemed and RedemptionReleased for an order", async () => {
    const admin = as(await users.tokenFor(randomUUID(), ["admin"]));
    const p = (await svc.client.createPromotion({ promotion: promotionInit([uniqueSku()], { totalLimit: 2 }) }, admin)).promotion!;
    const [orderId, userId] = [randomUUID(), randomUUID()];
    await svc.client.redeemPromotions({ orderId, userId, redemptions: [{ promotionId: p.id, amount: usd(250n) }] });
    await svc.client.releaseRedemptions({ orderId, reason: "order cancelled" });

    // The relay keeps no promise of order across batches: find each by its type.
    const byType = (type: string) => received.filter((m) => m.properties.type === type);
    const [redeemed, released] = await waitFor("both events on the broker", () => {
      const [a, b] = [byType(PromotionRedeemedSchema.typeName), byType(RedemptionReleasedSchema.typeName)];
      return a.length > 0 && b.length > 0 ? [a, b] : undefined;
    });
    assert.deepEqual([redeemed.length, released.length], [1, 1]);
    assert.equal(redeemed[0]!.properties.contentType, "application/x-protobuf");
    assert.notEqual(redeemed[0]!.properties.messageId, released[0]!.properties.messageId);
    const r = fromBinary(PromotionRedeemedSchema, redeemed[0]!.content);
    assert.deepEqual([r.orderId, r.userId, r.redemptions.map((x) => [x.promotionId, x.amount?.amountMinor])], [orderId, userId, [[p.id, 250n]]]);
    const g = fromBinary(RedemptionReleasedSchema, released[0]!.content);
    assert.deepEqual([g.orderId, g.userId, g.reason, g.redemptions.map((x) => x.promotionId)], [orderId, userId, "order cancelled", [p.id]]);
  });
});
