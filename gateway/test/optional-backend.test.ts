// A shop may run without an optional backend (reviews, without MongoDB): `<NAME>_ADDR=off`. The
// gateway then answers its RPCs UNAVAILABLE saying it is off and why, leaves it out of /readyz,
// and refuses to start with a backend the shop cannot do without switched off.
import assert from "node:assert/strict";
import { freePort } from "../../platform/testing/ports.js";
import { callApi } from "../../test/e2e/shop-processes.js";
import { startGateway, type RunningGateway } from "../start.js";

describe("gateway with an optional backend switched off", () => {
  let gateway: RunningGateway;

  before(async () => {
    gateway = await startGateway({ GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: "0", REVIEWS_ADDR: "off", USERS_ADDR: `127.0.0.1:${await freePort()}`, LOG_LEVEL: "error" });
  });
  after(async () => {
    await gateway?.stop();
  });

  it("answers its RPCs 503 unavailable, saying it is off and why", async () => {
    for (const method of ["GetRatingSummary", "SearchReviews"]) {
      const res = await callApi(gateway.url, `shop.reviews.v1.ReviewsService/${method}`, { productId: "00000000-0000-4000-8000-000000000000", query: "warm" });
      assert.equal(res.status, 503);
      assert.equal(res.body.code, "unavailable");
      assert.equal(res.body.message, "reviews is off in this shop: the reviews service runs only with MongoDB (set MONGODB_URL)");
    }
  });

  it("leaves it out of readiness, and still documents its methods", async () => {
    const report = (await (await fetch(`${gateway.url}/readyz`)).json()) as { backends: Record<string, string> };
    assert.equal(report.backends["reviews"], undefined);
    assert.equal(report.backends["users"], "UNREACHABLE");
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(doc.paths["/shop.reviews.v1.ReviewsService/CreateReview"]);
  });

  it("refuses to start with a backend switched off that is not optional", async () => {
    await assert.rejects(startGateway({ GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: "0", CATALOG_ADDR: "off", LOG_LEVEL: "error" }), /catalog cannot be off/);
  });
});
