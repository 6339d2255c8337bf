// How the reviews service starts and refuses to, without any MongoDB (these always run): its
// settings, and the clear failures when MONGODB_URL is missing, malformed or unreachable.
import assert from "node:assert/strict";
import { configSpec, startService } from "../../../platform/service.js";
import { deadAddress } from "../../../platform/testing/ports.js";
import { mongoUrl } from "../config.js";
import { REVIEWS_OFF_REASON, reviewsModule } from "../module.js";

const base = { GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", LOG_LEVEL: "error" };

describe("reviews service start-up (no MongoDB needed)", () => {
  it("reads MONGODB_URL instead of DATABASE_URL", () => {
    const spec = configSpec(reviewsModule);
    assert.ok("MONGODB_URL" in spec);
    assert.equal("DATABASE_URL" in spec && spec.DATABASE_URL.fallback === undefined, false, "DATABASE_URL is not required");
  });

  it("accepts replica-set and SRV connection strings, and names what it expected otherwise", () => {
    const s = mongoUrl({ doc: "" });
    assert.equal(s.parse("mongodb://a:27017,b:27017/reviews?replicaSet=rs0"), "mongodb://a:27017,b:27017/reviews?replicaSet=rs0");
    assert.equal(s.parse("mongodb+srv://u:p@cluster.example/reviews"), "mongodb+srv://u:p@cluster.example/reviews");
    assert.throws(() => s.parse("postgres://x/y"), /mongodb:\/\/ or mongodb\+srv:\/\//);
    assert.equal(s.secret, true, "the URL carries credentials: never logged");
  });

  it("is off in the single-process shop exactly when MONGODB_URL is unset", () => {
    assert.equal(reviewsModule.offReason?.({}), REVIEWS_OFF_REASON);
    assert.equal(reviewsModule.offReason?.({ MONGODB_URL: "mongodb://127.0.0.1:27017/reviews" }), undefined);
  });

  it("stops with a message naming MONGODB_URL when it is missing", async () => {
    await assert.rejects(startService(reviewsModule, base), /MONGODB_URL/);
  });

  it("stops with a clear error, without the password, when MongoDB cannot be reached", async () => {
    const [host, port] = (await deadAddress()).split(":");
    const err = await startService(reviewsModule, { ...base, MONGODB_URL: `mongodb://reviews:s3cret-pw@${host}:${port}/reviews`, MONGODB_TIMEOUT: "500ms" }).then(
      () => assert.fail("started without MongoDB"),
      (e: Error) => e,
    );
    assert.match(err.message, /^cannot use MongoDB: /);
    assert.doesNotMatch(err.message, /s3cret-pw/);
  });
});
