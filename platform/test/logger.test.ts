import assert from "node:assert/strict";
import { createLogger, redact, redactString } from "../logger.js";

function capture(level: "debug" | "info" = "info") {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: "test", level, write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  return { logger, lines };
}

describe("logger", () => {
  it("writes one JSON object per line with level, service and fields", () => {
    const { logger, lines } = capture();
    logger.child({ rpc: "GetProduct" }).info("served", { ms: 3 });
    logger.debug("hidden at info");
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!["level"], "info");
    assert.equal(lines[0]!["service"], "test");
    assert.equal(lines[0]!["rpc"], "GetProduct");
    assert.equal(lines[0]!["ms"], 3);
  });

  it("redacts sensitive keys at any depth", () => {
    const { logger, lines } = capture();
    logger.info("login", {
      email: "a@example.com",
      password: "hunter2",
      req: { headers: { authorization: "Bearer abc.def.ghi", "x-request-id": "r1" }, refresh_token: "rt-123" },
      card: { cardNumber: "4242424242424242", cvc: "123", last4: "4242" },
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of ["hunter2", "abc.def.ghi", "rt-123", "4242424242424242", '"123"']) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.match(text, /a@example\.com/);
    assert.match(text, /"last4":"4242"/);
  });

  it("scrubs JWTs, bearer tokens and Luhn-valid card numbers from free text", () => {
    const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    assert.equal(redactString(`token ${jwt} rejected`), "token [REDACTED] rejected");
    assert.equal(redactString("Authorization: Bearer s3cr3t-token"), "Authorization: Bearer [REDACTED]");
    assert.equal(redactString("card 4111 1111 1111 1111 declined"), "card [REDACTED-PAN] declined");
    // A long number that is not a card (fails Luhn) is kept: order ids and timestamps stay readable.
    assert.equal(redactString("order 1234567890123456"), "order 1234567890123456");
    assert.deepEqual(redact(new Error("bad Bearer xyz")), { name: "Error", message: "bad Bearer [REDACTED]" });
  });
});
