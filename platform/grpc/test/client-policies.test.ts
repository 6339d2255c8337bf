import assert from "node:assert/strict";
import { Code, ShopError, invalidArgument, unavailable } from "../../errors.js";
import { PRODUCT_ID, rejectionOf, sampleProduct, startCatalog, type RunningCatalog } from "./helpers.js";

const byId = { lookup: { case: "id" as const, value: PRODUCT_ID } };
const newProduct = { slug: "blue-linen-shirt", name: "Blue linen shirt", skus: [{ code: "SHIRT-BLUE-M", price: { amountMinor: 4990n, currencyCode: "EUR" } }] };
const fastRetry = { initialDelayMs: 5, maxDelayMs: 20 };

/** Fails with `errors` in turn, then succeeds; counts attempts. */
function flaky(errors: ShopError[]) {
  const state = { attempts: 0 };
  const handler = async () => {
    const err = errors[state.attempts++];
    if (err) throw err;
    return { product: sampleProduct() };
  };
  return { state, handler };
}

describe("grpc client retries", () => {
  let catalog: RunningCatalog;
  afterEach(() => catalog.stop());

  it("retries an idempotent method on UNAVAILABLE until it succeeds", async () => {
    const { state, handler } = flaky([unavailable("warming up"), unavailable("warming up")]);
    catalog = await startCatalog({ getProduct: handler }); // GetProduct is NO_SIDE_EFFECTS
    const res = await catalog.client({ retry: fastRetry }).getProduct(byId);
    assert.equal(res.product?.id, PRODUCT_ID);
    assert.equal(state.attempts, 3);
  });

  it("never retries a method that is not idempotent", async () => {
    const { state, handler } = flaky([unavailable("warming up"), unavailable("warming up")]);
    catalog = await startCatalog({ createProduct: handler }); // CreateProduct has no idempotency level
    const err = await rejectionOf(catalog.client({ retry: fastRetry }).createProduct(newProduct));
    assert.equal(err.code, Code.UNAVAILABLE);
    assert.equal(state.attempts, 1);
  });

  it("never retries INVALID_ARGUMENT", async () => {
    const { state, handler } = flaky([invalidArgument("no such thing"), invalidArgument("no such thing")]);
    catalog = await startCatalog({ getProduct: handler });
    const err = await rejectionOf(catalog.client({ retry: fastRetry }).getProduct(byId));
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    assert.equal(state.attempts, 1);
  });

  it("stops after maxAttempts", async () => {
    const { state, handler } = flaky(Array.from({ length: 10 }, () => unavailable("down")));
    catalog = await startCatalog({ getProduct: handler });
    const err = await rejectionOf(catalog.client({ retry: { ...fastRetry, maxAttempts: 4 } }).getProduct(byId));
    assert.equal(err.code, Code.UNAVAILABLE);
    assert.equal(state.attempts, 4);
  });

  it("does not start a retry that cannot finish before the deadline", async () => {
    const { state, handler } = flaky(Array.from({ length: 20 }, () => unavailable("down")));
    catalog = await startCatalog({ getProduct: handler });
    // Waits grow towards 1 s against a 300 ms deadline: at some point the next wait would end
    // past the deadline, and the caller gets the peer's error then, not a DEADLINE_EXCEEDED.
    const client = catalog.client({ retry: { maxAttempts: 20, initialDelayMs: 200, maxDelayMs: 1000 } });
    const err = await rejectionOf(client.getProduct(byId, { timeoutMs: 300 }));
    assert.equal(err.code, Code.UNAVAILABLE);
    assert.ok(state.attempts < 20, `${state.attempts} attempts`);
  });
});

describe("grpc client circuit breaker", () => {
  let catalog: RunningCatalog;
  afterEach(() => catalog.stop());

  it("opens after consecutive peer faults, fails fast, and closes again once the peer recovers", async () => {
    let healthy = false;
    let reached = 0;
    catalog = await startCatalog({
      createProduct: async () => {
        reached++;
        if (!healthy) throw unavailable("database down");
        return { product: sampleProduct() };
      },
    });
    const client = catalog.client({ breaker: { threshold: 3, halfOpenAfterMs: 200 } });
    for (let i = 0; i < 3; i++) assert.equal((await rejectionOf(client.createProduct(newProduct))).code, Code.UNAVAILABLE);
    assert.equal(reached, 3);
    assert.equal(client.breakerState(), "open");

    const fast = await rejectionOf(client.createProduct(newProduct));
    assert.equal(fast.code, Code.UNAVAILABLE);
    assert.equal(fast.message, "catalog unavailable (circuit open)");
    assert.equal(reached, 3, "the handler must not be reached while the circuit is open");

    healthy = true;
    await new Promise((r) => setTimeout(r, 250));
    const res = await client.createProduct(newProduct);
    assert.equal(res.product?.id, PRODUCT_ID);
    assert.equal(reached, 4);
    assert.equal(client.breakerState(), "closed");
  });

  it("opens when the peer is down", async () => {
    catalog = await startCatalog({});
    const client = catalog.client({ breaker: { threshold: 2, halfOpenAfterMs: 60_000 }, retry: { maxAttempts: 1 } });
    await catalog.server.shutdown(100);
    for (let i = 0; i < 2; i++) assert.equal((await rejectionOf(client.getProduct(byId))).code, Code.UNAVAILABLE);
    assert.equal(client.breakerState(), "open");
    const fast = await rejectionOf(client.getProduct(byId));
    assert.equal(fast.message, "catalog unavailable (circuit open)");
  });

  it("does not count answers of a healthy peer (NOT_FOUND, INVALID_ARGUMENT)", async () => {
    catalog = await startCatalog({
      getProduct: async () => {
        throw new ShopError(Code.NOT_FOUND, "no such product");
      },
    });
    const client = catalog.client({ breaker: { threshold: 2 } });
    for (let i = 0; i < 5; i++) assert.equal((await rejectionOf(client.getProduct(byId))).code, Code.NOT_FOUND);
    assert.equal(client.breakerState(), "closed");
  });
});
