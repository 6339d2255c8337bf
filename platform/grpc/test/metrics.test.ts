import assert from "node:assert/strict";
import { Code, notFound, unavailable } from "../../errors.js";
import { metricsText } from "../../metrics/index.js";
import { uniqueName } from "../../testing/names.js";
import { PRODUCT_ID, rejectionOf, sampleProduct, startCatalog, type RunningCatalog } from "./helpers.js";

const byId = { lookup: { case: "id" as const, value: PRODUCT_ID } };
const fastRetry = { initialDelayMs: 5, maxDelayMs: 20 };

/** The value of one series in the exposition text, or undefined when the series is absent. */
async function sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await metricsText();
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{")) continue;
    const body = line.slice(name.length + 1, line.indexOf("}"));
    const got = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("grpc RPC metrics", () => {
  let catalog: RunningCatalog;
  // Fresh names per test: the registry is per process and outlives each test.
  let server: string;
  let caller: string;
  beforeEach(() => {
    server = uniqueName("served");
    caller = uniqueName("caller");
  });
  afterEach(() => catalog.stop());

  const served = (method: string, code: string) => ({ service: server, method, code });
  const called = (method: string, code: string) => ({ service: caller, peer: "catalog", method, code });

  it("counts a served call and the client's call with their codes and durations", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    catalog = await startCatalog(
      {
        getProduct: async () => {
          entered();
          await held;
          return { product: sampleProduct() };
        },
        listProducts: async () => {
          throw notFound("category", "c1");
        },
      },
      { service: server },
    );
    const client = catalog.client({ service: caller });
    const call = client.getProduct(byId);
    await inHandler;
    assert.equal(await sample("shop_rpc_server_in_flight", { service: server, method: "GetProduct" }), 1);
    release();
    await call;
    assert.equal((await rejectionOf(client.listProducts({ pageSize: 10 }))).code, Code.NOT_FOUND);

    assert.equal(await sample("shop_rpc_server_in_flight", { service: server, method: "GetProduct" }), 0);
    assert.equal(await sample("shop_rpc_server_requests_total", served("GetProduct", "OK")), 1);
    assert.equal(await sample("shop_rpc_server_duration_seconds_count", served("GetProduct", "OK")), 1);
    assert.equal(await sample("shop_rpc_server_duration_seconds_bucket", { ...served("GetProduct", "OK"), le: "+Inf" }), 1);
    assert.equal(await sample("shop_rpc_server_requests_total", served("ListProducts", "NOT_FOUND")), 1);
    assert.equal(await sample("shop_rpc_server_requests_total", served("ListProducts", "OK")), undefined);

    assert.equal(await sample("shop_rpc_client_requests_total", called("GetProduct", "OK")), 1);
    assert.equal(await sample("shop_rpc_client_duration_seconds_count", called("GetProduct", "OK")), 1);
    assert.equal(await sample("shop_rpc_client_requests_total", called("ListProducts", "NOT_FOUND")), 1);
    assert.equal(await sample("shop_rpc_client_retries_total", { service: caller, peer: "catalog", method: "GetProduct" }), undefined);
  });

  it("counts calls refused before the handler, under their code", async () => {
    catalog = await startCatalog({}, { service: server, authenticate: () => undefined });
    // CreateProduct is an ADMIN method: an anonymous caller is refused by the access check.
    const err = await rejectionOf(catalog.client({ service: caller }).createProduct({ slug: "x", name: "x" }));
    assert.equal(err.code, Code.UNAUTHENTICATED);
    assert.equal(await sample("shop_rpc_server_requests_total", served("CreateProduct", "UNAUTHENTICATED")), 1);
    assert.equal(await sample("shop_rpc_client_requests_total", called("CreateProduct", "UNAUTHENTICATED")), 1);
  });

  it("counts a retry once, and the call once with the code the caller finally saw", async () => {
    let attempts = 0;
    catalog = await startCatalog(
      {
        getProduct: async () => {
          if (attempts++ === 0) throw unavailable("warming up");
          return { product: sampleProduct() };
        },
      },
      { service: server },
    );
    await catalog.client({ service: caller, retry: fastRetry }).getProduct(byId); // GetProduct is NO_SIDE_EFFECTS: retried
    assert.equal(await sample("shop_rpc_client_retries_total", { service: caller, peer: "catalog", method: "GetProduct" }), 1);
    assert.equal(await sample("shop_rpc_client_requests_total", called("GetProduct", "OK")), 1);
    assert.equal(await sample("shop_rpc_client_requests_total", called("GetProduct", "UNAVAILABLE")), undefined);
    assert.equal(await sample("shop_rpc_server_requests_total", served("GetProduct", "UNAVAILABLE")), 1);
    assert.equal(await sample("shop_rpc_server_requests_total", served("GetProduct", "OK")), 1);
  });

  it("shows the peer's breaker opening, and counts the calls it fails fast", async () => {
    catalog = await startCatalog(
      {
        getProduct: async () => {
          throw unavailable("down");
        },
      },
      { service: server },
    );
    const client = catalog.client({ service: caller, retry: { maxAttempts: 1 }, breaker: { threshold: 2, halfOpenAfterMs: 60_000 } });
    const breaker = { service: caller, peer: "catalog" };
    assert.equal(await sample("shop_rpc_client_breaker_state", breaker), 0); // closed
    for (let i = 0; i < 2; i++) assert.equal((await rejectionOf(client.getProduct(byId))).code, Code.UNAVAILABLE);
    assert.equal(await sample("shop_rpc_client_breaker_state", breaker), 2); // open
    const fast = await rejectionOf(client.getProduct(byId));
    assert.match(fast.message, /circuit open/);
    assert.equal(await sample("shop_rpc_client_requests_total", called("GetProduct", "UNAVAILABLE")), 3);
    assert.equal(await sample("shop_rpc_server_requests_total", served("GetProduct", "UNAVAILABLE")), 2); // the third never left
    client.close();
    assert.equal(await sample("shop_rpc_client_breaker_state", breaker), undefined);
  });
});
