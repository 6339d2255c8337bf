// Reviews by verified buyers, end to end: every service its own process, the buyer's order
// delivered by the sandbox carrier, OrderDelivered carried by RabbitMQ to the reviews service
// (MongoDB), and the review written through the gateway's JSON API. Someone who did not buy the
// product is refused. Needs MONGO_URL (a MongoDB replica set); skips without it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { requireMongo } from "../../platform/testing/mongo.js";
import { waitFor } from "../../platform/testing/wait-for.js";
import { ADMIN_EMAIL, startShopProcesses, type ShopProcesses } from "./shop-processes.js";
import { CART, CATALOG, INVENTORY, ORDER, card, placeOrderRequest, productInput, register, type Account } from "./shoppers.js";

const REVIEWS = "shop.reviews.v1.ReviewsService";

describe("reviews end to end (every service its own process, real MongoDB, PostgreSQL and RabbitMQ)", function () {
  this.timeout(180_000);
  let shop: ShopProcesses;
  let admin: Account;

  before(async function () {
    requireMongo(this, "reviews end to end");
    shop = await startShopProcesses({ SHIPPING_SANDBOX_STEP: "300ms", SHIPPING_TRACKING_INTERVAL: "100ms" });
    admin = await register(shop, ADMIN_EMAIL);
  });

  after(async () => {
    await shop?.stop();
  });

  /** A new product with stock; its id. */
  async function product(name: string): Promise<{ id: string; sku: string }> {
    const sku = `REV-${randomUUID().slice(0, 8).toUpperCase()}`;
    const created = await shop.api(`${CATALOG}/CreateProduct`, productInput(name, sku, 2500), { token: admin.accessToken });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal((await shop.api(`${INVENTORY}/AdjustStock`, { sku, delta: 5, reason: "e2e stock" }, { token: admin.accessToken })).status, 200);
    return { id: (created.body["product"] as { id: string }).id, sku };
  }

  it("lets a buyer whose order was delivered review the product, and refuses one who did not buy it", async () => {
    const mug = await product("Stoneware mug");
    const buyer = await register(shop);
    assert.equal((await shop.api(`${CART}/AddItem`, { sku: mug.sku, quantity: 1 }, { token: buyer.accessToken })).status, 200);
    const placed = await shop.api(`${ORDER}/PlaceOrder`, placeOrderRequest(await card(shop, buyer.accessToken)), { token: buyer.accessToken });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    const orderId = (placed.body["order"] as { id: string }).id;
    await waitFor(
      "the order delivered",
      async () => ((await shop.api(`${ORDER}/GetOrder`, { orderId }, { token: buyer.accessToken })).body["order"] as { status: string }).status === "ORDER_STATUS_DELIVERED" || undefined,
      { timeoutMs: 60_000, intervalMs: 200 },
    );

    const review = { productId: mug.id, rating: 5, title: "  Keeps   coffee warm ", body: "Heavy, glazed well.\n\n\n\nWould buy again." };
    // OrderDelivered reaches reviews by RabbitMQ shortly after the order shows DELIVERED.
    const created = await waitFor("the review accepted", async () => {
      const res = await shop.api(`${REVIEWS}/CreateReview`, review, { token: buyer.accessToken });
      if (res.status === 400 && res.body.code === "failed_precondition") return undefined;
      return res;
    }, { timeoutMs: 20_000, intervalMs: 200 });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const written = created.body["review"] as { id: string; title: string; body: string; status: string; verifiedPurchase: boolean; userId: string };
    assert.deepEqual([written.title, written.body, written.status, written.verifiedPurchase, written.userId], [
      "Keeps coffee warm", "Heavy, glazed well.\n\nWould buy again.", "REVIEW_STATUS_PUBLISHED", true, buyer.userId,
    ]);

    const again = await shop.api(`${REVIEWS}/CreateReview`, review, { token: buyer.accessToken });
    assert.equal(again.body.code, "already_exists");

    const stranger = await register(shop);
    const refused = await shop.api(`${REVIEWS}/CreateReview`, review, { token: stranger.accessToken });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, "failed_precondition");
    assert.match(refused.body.message ?? "", /only verified buyers may review/);
    assert.equal((await shop.api(`${REVIEWS}/CreateReview`, review)).body.code, "unauthenticated");
    const notHers = await shop.api(`${REVIEWS}/UpdateReview`, { reviewId: written.id, rating: 1, title: "Bad", body: "" }, { token: stranger.accessToken });
    assert.equal(notHers.body.code, "permission_denied");

    // Public reads, anonymous, as JSON.
    const summary = await shop.api(`${REVIEWS}/GetRatingSummary`, { productId: mug.id });
    assert.equal(summary.status, 200, JSON.stringify(summary.body));
    const s = summary.body["summary"] as { averageRating: number; reviewCount: string; histogram: { rating: number; count?: string }[] };
    assert.deepEqual([s.averageRating, s.reviewCount, s.histogram.length, s.histogram[4]?.count], [5, "1", 5, "1"]);
    const listed = await shop.api(`${REVIEWS}/ListProductReviews`, { productId: mug.id });
    assert.deepEqual((listed.body["reviews"] as { id: string }[]).map((r) => r.id), [written.id]);
    const found = await shop.api(`${REVIEWS}/SearchReviews`, { query: "coffee", productId: mug.id });
    assert.deepEqual((found.body["reviews"] as { id: string }[]).map((r) => r.id), [written.id]);

    // An admin rejects it: gone from the public list and the summary, still the author's to see.
    const rejected = await shop.api(`${REVIEWS}/ModerateReview`, { reviewId: written.id, status: "REVIEW_STATUS_REJECTED", note: "Please keep to the product" }, { token: admin.accessToken });
    assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
    assert.equal(((await shop.api(`${REVIEWS}/GetRatingSummary`, { productId: mug.id })).body["summary"] as { reviewCount?: string }).reviewCount ?? "0", "0");
    assert.equal((await shop.api(`${REVIEWS}/GetReview`, { reviewId: written.id })).body.code, "not_found");
    assert.equal((await shop.api(`${REVIEWS}/GetReview`, { reviewId: written.id }, { token: buyer.accessToken })).status, 200);
    assert.equal((await shop.api(`${REVIEWS}/ModerateReview`, { reviewId: written.id, status: "REVIEW_STATUS_PUBLISHED" }, { token: buyer.accessToken })).body.code, "permission_denied");
  });
});
