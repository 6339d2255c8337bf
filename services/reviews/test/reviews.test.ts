// The reviews service on a real port against a real MongoDB replica set (MONGO_URL; the suite
// skips without it): verified buyers from order events, one review per buyer and product,
// authorship and moderation, rating aggregates kept with every change, keyset pages, text
// search, and the outbox relayed to the bus.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ReviewSort, ReviewStatus } from "../../../gen/shop/reviews/v1/reviews_pb.js";
import { Code, type ShopError } from "../../../platform/errors.js";
import { requireMongo } from "../../../platform/testing/mongo.js";
import type { UsersDouble } from "../../../platform/testing/grpc-double.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { as, orderDelivered, orderRefunded, outboxTypes, rejectionOf, startReviews, startUsersDouble, type RunningReviews } from "./helpers.js";

describe("reviews service (real MongoDB, in-process bus)", function () {
  this.timeout(60_000);
  let users: UsersDouble;
  let reviews: RunningReviews;
  let adminToken: string;

  before(async function () {
    const url = requireMongo(this, "reviews service");
    users = await startUsersDouble();
    reviews = await startReviews(url, users);
    adminToken = await users.tokenFor(randomUUID(), ["customer", "admin"]);
  });

  after(async () => {
    await reviews?.stop();
    await users?.stop();
  });

  /** A user who received `productIds` in a delivered order, once the event is recorded. */
  async function buyerOf(...productIds: string[]): Promise<{ userId: string; token: string }> {
    const userId = randomUUID();
    await reviews.bus.publish(orderDelivered(userId, productIds));
    await waitFor("the delivery recorded", async () => ((await reviews.mongo.db.collection("purchases").countDocuments({ userId })) > 0) || undefined);
    return { userId, token: await users.tokenFor(userId) };
  }

  const write = (token: string, productId: string, rating: number, title = "Good", body = "") =>
    reviews.client.createReview({ productId, rating, title, body }, as(token));

  it("refuses a review from someone without a delivered order of the product, or whose order was refunded", async () => {
    const product = randomUUID();
    const stranger = await users.tokenFor(randomUUID());
    const err = await rejectionOf(write(stranger, product, 5));
    assert.equal(err.code, Code.FAILED_PRECONDITION);
    assert.match(err.message, /only verified buyers may review/);

    const other = await buyerOf(randomUUID());
    assert.equal((await rejectionOf(write(other.token, product, 5))).code, Code.FAILED_PRECONDITION, "a delivery of another product does not count");

    const userId = randomUUID();
    const orderId = randomUUID();
    // The refund overtakes the delivery: the order is void whatever the order of arrival.
    await reviews.bus.publish(orderRefunded(userId, orderId));
    await reviews.bus.publish(orderDelivered(userId, [product], orderId));
    await waitFor("both recorded", async () => {
      const p = await reviews.mongo.db.collection<{ _id: string; deliveredAt?: Date; voidedAt?: Date }>("purchases").findOne({ _id: orderId });
      return (p?.deliveredAt && p.voidedAt) || undefined;
    });
    assert.equal((await rejectionOf(write(await users.tokenFor(userId), product, 5))).code, Code.FAILED_PRECONDITION);
  });

  it("records a redelivered order event once (the inbox), and takes one review per buyer and product", async () => {
    const product = randomUUID();
    const userId = randomUUID();
    const delivered = orderDelivered(userId, [product]);
    await reviews.bus.publish(delivered);
    await reviews.bus.publish(delivered);
    await waitFor("the delivery recorded", async () => ((await reviews.mongo.db.collection("purchases").countDocuments({ userId })) > 0) || undefined);
    const inbox = await reviews.mongo.db.collection("inbox").countDocuments({ eventId: delivered.id });
    assert.equal(inbox, 1);

    const token = await users.tokenFor(userId);
    const { review } = await write(token, product, 4, "  Soft\u200B   and warm ", "Line one\n\n\n\nLine two");
    assert.deepEqual([review?.title, review?.body, review?.status, review?.verifiedPurchase, review?.userId], ["Soft and warm", "Line one\n\nLine two", ReviewStatus.PUBLISHED, true, userId]);
    const dup = await Promise.allSettled([write(token, product, 5), write(token, product, 3)]);
    assert.ok(dup.every((r) => r.status === "rejected" && (r.reason as ShopError).code === Code.ALREADY_EXISTS));
    assert.equal((await reviews.client.getRatingSummary({ productId: product })).summary?.reviewCount, 1n);
  });

  it("keeps the rating summary with every edit, rejection, re-publication and deletion, and lets only the right people do them", async () => {
    const product = randomUUID();
    const [a, b] = [await buyerOf(product), await buyerOf(product)];
    const ra = (await write(a.token, product, 5)).review!;
    const rb = (await write(b.token, product, 2)).review!;
    const summary = async () => {
      const s = (await reviews.client.getRatingSummary({ productId: product })).summary!;
      return { avg: s.averageRating, n: Number(s.reviewCount), hist: s.histogram.map((h) => Number(h.count)) };
    };
    assert.deepEqual(await summary(), { avg: 3.5, n: 2, hist: [0, 1, 0, 0, 1] });

    assert.equal((await rejectionOf(reviews.client.updateReview({ reviewId: ra.id, rating: 1, title: "x", body: "" }, as(b.token)))).code, Code.PERMISSION_DENIED);
    await reviews.client.updateReview({ reviewId: ra.id, rating: 4, title: "Still good", body: "" }, as(a.token));
    assert.deepEqual(await summary(), { avg: 3, n: 2, hist: [0, 1, 0, 1, 0] });

    assert.equal((await rejectionOf(reviews.client.moderateReview({ reviewId: rb.id, status: ReviewStatus.REJECTED, note: "spam" }, as(a.token)))).code, Code.PERMISSION_DENIED);
    const rejected = (await reviews.client.moderateReview({ reviewId: rb.id, status: ReviewStatus.REJECTED, note: "Off topic" }, as(adminToken))).review!;
    assert.equal(rejected.moderationNote, "Off topic");
    assert.deepEqual(await summary(), { avg: 4, n: 1, hist: [0, 0, 0, 1, 0] });
    assert.equal((await rejectionOf(reviews.client.getReview({ reviewId: rb.id }))).code, Code.NOT_FOUND);
    assert.equal((await reviews.client.getReview({ reviewId: rb.id }, as(b.token))).review?.status, ReviewStatus.REJECTED);
    // The author's edit keeps it rejected; a moderator publishes it again.
    await reviews.client.updateReview({ reviewId: rb.id, rating: 3, title: "Edited", body: "" }, as(b.token));
    assert.deepEqual(await summary(), { avg: 4, n: 1, hist: [0, 0, 0, 1, 0] });
    await reviews.client.moderateReview({ reviewId: rb.id, status: ReviewStatus.PUBLISHED, note: "" }, as(adminToken));
    assert.deepEqual(await summary(), { avg: 3.5, n: 2, hist: [0, 0, 1, 1, 0] });

    assert.equal((await rejectionOf(reviews.client.deleteReview({ reviewId: ra.id }, as(b.token)))).code, Code.PERMISSION_DENIED);
    await reviews.client.deleteReview({ reviewId: ra.id }, as(a.token));
    await reviews.client.deleteReview({ reviewId: rb.id }, as(adminToken));
    assert.deepEqual(await summary(), { avg: 0, n: 0, hist: [0, 0, 0, 0, 0] });
    assert.equal((await rejectionOf(reviews.client.deleteReview({ reviewId: ra.id }, as(a.token)))).code, Code.NOT_FOUND);
  });

  it("pages through a product's reviews by rating with keyset tokens, and searches their text best match first", async () => {
    const product = randomUUID();
    const texts = ["Wool socks, warm and soft", "Thin socks, not warm", "Lovely colour", "Warm warm warm socks", "Fine"];
    const written = [];
    for (const [i, title] of texts.entries()) {
      const buyer = await buyerOf(product);
      written.push((await write(buyer.token, product, 5 - i, title, i === 3 ? "The warmest socks I own" : "")).review!);
    }
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await reviews.client.listProductReviews({ productId: product, sort: ReviewSort.LOWEST_RATING, pageSize: 2, pageToken });
      seen.push(...page.reviews.map((r) => r.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.deepEqual(seen, [...written].reverse().map((r) => r.id));
    const fours = await reviews.client.listProductReviews({ productId: product, rating: 4 });
    assert.deepEqual(fours.reviews.map((r) => r.id), [written[1]!.id]);
    const wrongOrder = await reviews.client.listProductReviews({ productId: product, sort: ReviewSort.NEWEST, pageSize: 1 });
    const err = await rejectionOf(reviews.client.listProductReviews({ productId: product, sort: ReviewSort.HIGHEST_RATING, pageToken: wrongOrder.nextPageToken }));
    assert.equal(err.violations[0]?.field, "page_token");

    const found = await reviews.client.searchReviews({ query: "warm socks", productId: product, pageSize: 2 });
    assert.equal(found.reviews[0]?.id, written[3]!.id, "the review saying it most often, title and body, comes first");
    const rest = await reviews.client.searchReviews({ query: "warm socks", productId: product, pageSize: 10, pageToken: found.nextPageToken });
    const all = [...found.reviews, ...rest.reviews].map((r) => r.id);
    assert.equal(new Set(all).size, all.length, "no review twice across pages");
    assert.deepEqual(new Set(all), new Set([written[0]!.id, written[1]!.id, written[3]!.id]));
    assert.deepEqual((await reviews.client.searchReviews({ query: "colour" })).reviews.map((r) => r.id), [written[2]!.id]);
  });

  it("publishes its events from the outbox: created, updated, deleted", async () => {
    const product = randomUUID();
    const buyer = await buyerOf(product);
    const r = (await write(buyer.token, product, 3)).review!;
    await reviews.client.updateReview({ reviewId: r.id, rating: 4, title: "Better", body: "" }, as(buyer.token));
    await reviews.client.deleteReview({ reviewId: r.id }, as(buyer.token));
    const mine = (types: { type: string; published: boolean }[]) => types.filter((t) => t.type.startsWith("shop.reviews.v1."));
    const out = await waitFor("every event published", async () => {
      const types = mine(await outboxTypes(reviews.mongo));
      return types.length >= 3 && types.every((t) => t.published) ? types : undefined;
    });
    // Within one millisecond the outbox's order is not the commit order; the set is what counts.
    assert.deepEqual(new Set(out.slice(-3).map((t) => t.type)), new Set(["shop.reviews.v1.ReviewCreated", "shop.reviews.v1.ReviewUpdated", "shop.reviews.v1.ReviewDeleted"]));
  });
});
