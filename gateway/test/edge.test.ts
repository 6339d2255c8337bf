// The gateway's own behaviour at the edge, in process, in front of a real users service on
// real PostgreSQL: rate limits, CORS, health and readiness, the OpenAPI document, and the
// gRPC-Web and gRPC protocols next to Connect JSON.
import assert from "node:assert/strict";
import { createClient as createConnectClient } from "@connectrpc/connect";
import { createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { UsersService } from "../../gen/shop/users/v1/users_pb.js";
import { metricsText } from "../../platform/metrics/index.js";
import { startService, type RunningService } from "../../platform/service.js";
import { exposition, type Exposition } from "../../platform/testing/metrics.js";
import { waitFor } from "../../platform/testing/wait-for.js";
import { createTestDatabase, type TestDatabase } from "../../platform/testing/pg.js";
import { freePort, callApi } from "../../test/e2e/shop-processes.js";
import { usersModule } from "../../services/users/module.js";
import { startGateway, type RunningGateway } from "../start.js";

describe("gateway at the edge (in process, real users service and PostgreSQL)", () => {
  let tdb: TestDatabase;
  let users: RunningService;
  let gateway: RunningGateway;
  const origin = "https://shop.example";

  before(async () => {
    tdb = await createTestDatabase("gateway_edge");
    users = await startService(usersModule, { DATABASE_URL: tdb.url, GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", LOG_LEVEL: "error" });
    gateway = await startGateway({
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_PORT: "0",
      USERS_ADDR: `127.0.0.1:${users.port}`,
      // Nothing listens here: readiness must say so.
      CATALOG_ADDR: `127.0.0.1:${await freePort()}`,
      CART_ADDR: `127.0.0.1:${await freePort()}`,
      RATE_LIMIT_IP_RATE: "0.5",
      RATE_LIMIT_IP_BURST: "40",
      CORS_ORIGINS: `${origin},https://admin.shop.example`,
      LOG_LEVEL: "error",
    });
  });

  after(async () => {
    await gateway?.stop();
    await users?.stop();
    await tdb?.drop();
  });

  it("is live, and not ready while a backend is unreachable, naming each backend", async () => {
    assert.equal((await fetch(`${gateway.url}/healthz`)).status, 200);
    const ready = await fetch(`${gateway.url}/readyz`);
    assert.equal(ready.status, 503);
    const report = (await ready.json()) as { backends: Record<string, string> };
    assert.equal(report.backends["users"], "SERVING");
    assert.equal(report.backends["catalog"], "UNREACHABLE");
  });

  it("answers a backend that is down with 503 unavailable, without naming hosts", async () => {
    const res = await callApi(gateway.url, "shop.catalog.v1.CatalogService/ListProducts", {});
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "unavailable");
    assert.doesNotMatch(res.body.message ?? "", /127\.0\.0\.1|ECONNREFUSED/);
  });

  it("serves an OpenAPI document of the client-facing methods only", async () => {
    const doc = (await (await fetch(`${gateway.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, "3.1.0");
    assert.ok(doc.paths["/shop.users.v1.UsersService/Register"]);
    assert.ok(doc.paths["/shop.catalog.v1.CatalogService/SearchProducts"]);
    assert.equal(doc.paths["/shop.catalog.v1.CatalogService/BatchGetSkus"], undefined, "INTERNAL methods are not documented");
  });

  it("speaks gRPC-Web and gRPC (HTTP/2) on the same port as Connect JSON", async () => {
    for (const transport of [
      createGrpcWebTransport({ baseUrl: gateway.url, httpVersion: "1.1" }),
      createGrpcTransport({ baseUrl: gateway.url }),
    ]) {
      const client = createConnectClient(UsersService, transport);
      const jwks = await client.getJwks({});
      assert.ok(jwks.keys.length >= 1);
      assert.equal(jwks.keys[0]!.alg, "ES256");
    }
  });

  it("allows configured origins by CORS and refuses others", async () => {
    const allowed = await fetch(`${gateway.url}/shop.users.v1.UsersService/Login`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
    });
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers.get("access-control-allow-origin"), origin);
    assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /Authorization/i);
    const refused = await fetch(`${gateway.url}/shop.users.v1.UsersService/Login`, {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    assert.equal(refused.status, 403);
    const actual = await callApi(gateway.url, "shop.users.v1.UsersService/GetJwks", {}, { headers: { origin } });
    assert.equal(actual.headers.get("access-control-allow-origin"), origin);
  });

  // Last: it spends this address's whole burst.
  it("serves the users service's public keys at /.well-known/jwks.json, cacheable", async () => {
    const res = await fetch(`${gateway.url}/.well-known/jwks.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.equal(res.headers.get("cache-control"), "public, max-age=60");
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] };
    const fromUsers = await callApi(gateway.url, "shop.users.v1.UsersService/GetJwks", {});
    const usersKids = (fromUsers.body["keys"] as { kid: string }[]).map((k) => k.kid).sort();
    assert.ok(usersKids.length > 0);
    assert.deepEqual(jwks.keys.map((k) => k["kid"]).sort(), usersKids);
    for (const k of jwks.keys) {
      assert.equal(k["kty"], "EC");
      assert.equal(k["alg"], "ES256");
      assert.equal(k["d"], undefined, "never a private key");
    }
    assert.equal((await fetch(`${gateway.url}/.well-known/jwks.json`, { method: "POST", body: "{}" })).status, 405);
  });

  it("counts its answers per procedure and status, never per raw URL", async () => {
    const series = async () => exposition(await metricsText());
    const labels = (procedure: string, status: string) => ({ service: "gateway", procedure, status });
    const getJwks = "/shop.users.v1.UsersService/GetJwks";
    const before = await series();
    const count = (m: Exposition, procedure: string, status: string) => m.value("shop_http_server_requests_total", labels(procedure, status)) ?? 0;
    await callApi(gateway.url, "shop.users.v1.UsersService/GetJwks", {});
    await fetch(`${gateway.url}${getJwks}?encoding=json&message=%7B%7D`);
    await callApi(gateway.url, "shop.catalog.v1.CatalogService/ListProducts", {}); // catalog is down: 503
    await fetch(`${gateway.url}/no/such/path/12345`);
    await fetch(`${gateway.url}/healthz?probe=1`);
    // POST and GET with a query string are one series; an unknown path is `other`.
    const expected: [string, string, number][] = [[getJwks, "200", 2], ["/shop.catalog.v1.CatalogService/ListProducts", "503", 1], ["other", "404", 1], ["/healthz", "200", 1]];
    const moved = (m: Exposition) => expected.map(([p, st]) => [p, st, count(m, p, st) - count(before, p, st)]);
    // An answer is counted when the server has finished sending it, which may be just after the client read it.
    const after = await waitFor("every answer counted", async () => {
      const m = await series();
      return JSON.stringify(moved(m)) === JSON.stringify(expected) ? m : undefined;
    }).catch(async (err: Error) => assert.fail(`${err.message}: ${JSON.stringify(moved(await series()))}`));
    assert.equal(after.value("shop_http_server_duration_seconds_count", labels(getJwks, "200")), count(after, getJwks, "200"));
    assert.doesNotMatch(after.text, /12345|encoding=json|probe=1/, "no URL part other than the route becomes a label");
  });

  it("limits requests per client address with 429 and Retry-After", async () => {
    let limited: Awaited<ReturnType<typeof callApi>> | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await callApi(gateway.url, "shop.users.v1.UsersService/GetJwks", {});
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, "no request was limited");
    assert.equal(limited.body.code, "resource_exhausted");
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
  });
});
