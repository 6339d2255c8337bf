import assert from "node:assert/strict";
import { Code } from "../../errors.js";
import { PRODUCT_ID, rejectionOf, sampleProduct, startCatalog, type RunningCatalog } from "./helpers.js";

const byId = { lookup: { case: "id" as const, value: PRODUCT_ID } };

describe("grpc graceful shutdown", () => {
  let catalog: RunningCatalog;
  afterEach(() => catalog.stop());

  it("lets an in-flight call finish while refusing new ones", async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const inHandler = new Promise<void>((r) => (started = r));
    catalog = await startCatalog({
      getProduct: async () => {
        started();
        await released;
        return { product: sampleProduct() };
      },
    });
    const client = catalog.client();
    const inFlight = client.getProduct(byId);
    await inHandler;

    let stopped = false;
    const stopping = catalog.server.shutdown(10_000).then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stopped, false, "shutdown waits for the call in flight");

    // A new caller (and a new call on the draining connection) is turned away.
    const latecomer = catalog.client({ retry: { maxAttempts: 1 } });
    assert.equal((await rejectionOf(latecomer.getProduct(byId))).code, Code.UNAVAILABLE);
    assert.equal((await rejectionOf(client.getProduct(byId))).code, Code.UNAVAILABLE);

    release();
    const res = await inFlight;
    assert.equal(res.product?.id, PRODUCT_ID);
    await stopping;
    assert.equal(stopped, true);
  });

  it("cancels calls still running when the grace period ends", async () => {
    let handlerSignal: AbortSignal | undefined;
    catalog = await startCatalog({
      getProduct: async (_req, ctx) => {
        handlerSignal = ctx.signal;
        await new Promise((r) => setTimeout(r, 10_000).unref());
        return {};
      },
    });
    const inFlight = catalog.client().getProduct(byId, { timeoutMs: 15_000 });
    while (!handlerSignal) await new Promise((r) => setTimeout(r, 5));
    await catalog.server.shutdown(100);
    const err = await rejectionOf(inFlight);
    assert.ok([Code.UNAVAILABLE, Code.CANCELLED].includes(err.code), Code[err.code]);
    assert.equal(handlerSignal.aborted, true);
  });
});
