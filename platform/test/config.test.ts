import assert from "node:assert/strict";
import { bool, ConfigError, describeConfig, duration, int, list, loadConfig, oneOf, optional, port, str, url } from "../config.js";

const spec = {
  GRPC_PORT: port({ doc: "gRPC listen port", default: 50051 }),
  DATABASE_URL: url({ doc: "PostgreSQL URL", protocols: ["postgres", "postgresql"], secret: true }),
  LOG_LEVEL: oneOf(["debug", "info", "warn", "error"] as const, { doc: "log level", default: "info" }),
  TIMEOUT: duration({ doc: "call timeout", default: 2000 }),
  ENABLED: bool({ doc: "feature flag", default: false }),
  ORIGINS: list({ doc: "CORS origins", default: [] }),
  POOL: int({ doc: "pool size", default: 10, min: 1, max: 100 }),
  JWT_ISSUER: optional(str({ doc: "token issuer" })),
};

describe("config", () => {
  it("parses every kind of value and applies defaults", () => {
    const c = loadConfig(spec, {
      DATABASE_URL: "postgres://u:pw@db:5432/orders",
      TIMEOUT: "1.5s",
      ENABLED: "yes",
      ORIGINS: "https://a.example, https://b.example,",
    });
    assert.equal(c.GRPC_PORT, 50051);
    assert.equal(c.LOG_LEVEL, "info");
    assert.equal(c.TIMEOUT, 1500);
    assert.equal(c.ENABLED, true);
    assert.deepEqual(c.ORIGINS, ["https://a.example", "https://b.example"]);
    assert.equal(c.JWT_ISSUER, undefined);
  });

  it("names every missing or malformed variable at once, without echoing values", () => {
    let error: unknown;
    try {
      loadConfig(spec, { GRPC_PORT: "http", LOG_LEVEL: "loud", POOL: "0", DATABASE_URL: undefined, TIMEOUT: "soon" });
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ConfigError);
    const text = error.message;
    assert.match(text, /GRPC_PORT is malformed: expected an integer/);
    assert.match(text, /LOG_LEVEL is malformed: expected one of debug, info, warn, error/);
    assert.match(text, /POOL is malformed: expected an integer >= 1/);
    assert.match(text, /DATABASE_URL is required \(PostgreSQL URL\)/);
    assert.match(text, /TIMEOUT is malformed: expected a duration/);
    assert.equal(error.problems.length, 5);
    assert.doesNotMatch(text, /loud|soon/);
  });

  it("rejects a URL with the wrong scheme", () => {
    assert.throws(() => loadConfig(spec, { DATABASE_URL: "mysql://db/x" }), /DATABASE_URL is malformed: expected a URL with scheme postgres or postgresql/);
  });

  it("masks secrets when describing the configuration", () => {
    const c = loadConfig(spec, { DATABASE_URL: "postgres://u:hunter2@db/orders" });
    const shown = JSON.stringify(describeConfig(spec, c));
    assert.doesNotMatch(shown, /hunter2/);
    assert.match(shown, /"DATABASE_URL":"\*\*\*"/);
  });
});
