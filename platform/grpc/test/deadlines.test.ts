import assert from "node:assert/strict";
import { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { Code } from "../../errors.js";
import { createClient, type CallContext } from "../index.js";
import { PRODUCT_ID, rejectionOf, sampleProduct, startCatalog, type RunningCatalog } from "./helpers.js";

const byId = { lookup: { case: "id" as const, value: PRODUCT_ID } };

describe("grpc deadlines", () => {
  const running: RunningCatalog[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });

  it("fails a slow call with DEADLINE_EXCEEDED and aborts the handler's signal", async () => {
    let abortReason: unknown;
    const aborted = new Promise<void>((resolve) => {
      const catalog = startCatalog({
        getProduct: async (_req, ctx) => {
          ctx.signal.addEventListener("abort", () => {
            abortReason = ctx.signal.reason;
            resolve();
          });
          await new Promise((r) => setTimeout(r, 5000).unref());
          return { product: sampleProduct() };
        },
      });
      void catalog.then((c) => running.push(c));
    });
    while (running.length === 0) await new Promise((r) => setTimeout(r, 1));
    const client = running[0]!.client();
    const err = await rejectionOf(client.getProduct(byId, { timeoutMs: 150 }));
    assert.equal(err.code, Code.DEADLINE_EXCEEDED);
    await aborted;
    assert.equal((abortReason as { code?: unknown }).code, Code.DEADLINE_EXCEEDED);
  });

  it("gives a handler the caller's deadline", async () => {
    let deadline = 0;
    const catalog = await startCatalog({
      getProduct: async (_req, ctx) => {
        deadline = ctx.deadline;
        return {};
      },
    });
    running.push(catalog);
    const before = Date.now();
    await catalog.client().getProduct(byId, { timeoutMs: 3000 });
    assert.ok(deadline > before + 2500 && deadline <= Date.now() + 3000, `deadline ${deadline - before} ms after the call`);
  });

  it("propagates what is left of the inbound deadline to the next hop", async () => {
    // B records the deadline it was given.
    let seenByB = 0;
    const b = await startCatalog({
      getProduct: async (_req, ctx) => {
        seenByB = ctx.deadline;
        return { product: sampleProduct() };
      },
    });
    running.push(b);
    // A calls B from inside its handler, without a timeout of its own; B's client default is long.
    const toB = createClient(CatalogService, { service: "test", name: "b", address: b.address, timeoutMs: 60_000 });
    let seenByA: CallContext | undefined;
    const a = await startCatalog({
      getProduct: async (req, ctx) => {
        seenByA = ctx;
        await new Promise((r) => setTimeout(r, 100)); // time spent in A before calling B
        return toB.getProduct(req);
      },
    });
    running.push(a);
    try {
      const res = await a.client().getProduct(byId, { timeoutMs: 1000 });
      assert.equal(res.product?.id, PRODUCT_ID);
      const aDeadline = seenByA!.deadline;
      // B's deadline is A's (give or take clock granularity), not 60 s from A's call.
      assert.ok(Math.abs(seenByB - aDeadline) <= 20, `B's deadline differs from A's by ${seenByB - aDeadline} ms`);
    } finally {
      toB.close();
    }
  });

  it("does not call the next hop at all when the inbound deadline has passed", async () => {
    let reachedB = false;
    const b = await startCatalog({
      getProduct: async () => {
        reachedB = true;
        return {};
      },
    });
    running.push(b);
    const toB = createClient(CatalogService, { service: "test", name: "b", address: b.address });
    let errInA: unknown;
    let aFinished!: () => void;
    const done = new Promise<void>((r) => (aFinished = r));
    const a = await startCatalog({
      getProduct: async (req) => {
        await new Promise((r) => setTimeout(r, 200)); // outlives the caller's 100 ms
        try {
          return await toB.getProduct(req);
        } catch (err) {
          errInA = err;
          throw err;
        } finally {
          aFinished();
        }
      },
    });
    running.push(a);
    try {
      const err = await rejectionOf(a.client().getProduct(byId, { timeoutMs: 100 }));
      assert.equal(err.code, Code.DEADLINE_EXCEEDED);
      await done;
      assert.equal((errInA as { code?: unknown }).code, Code.DEADLINE_EXCEEDED);
      assert.equal(reachedB, false);
    } finally {
      toB.close();
    }
  });

  it("cancels the calls a handler made when its own call is cancelled", async () => {
    let reasonInB: unknown;
    let bAborted!: () => void;
    const aborted = new Promise<void>((r) => (bAborted = r));
    const b = await startCatalog({
      getProduct: async (_req, ctx) => {
        ctx.signal.addEventListener("abort", () => {
          reasonInB = ctx.signal.reason;
          bAborted();
        });
        await new Promise((r) => setTimeout(r, 10_000).unref());
        return {};
      },
    });
    running.push(b);
    const toB = createClient(CatalogService, { service: "test", name: "b", address: b.address, timeoutMs: 30_000 });
    const a = await startCatalog({ getProduct: (req) => toB.getProduct(req) });
    running.push(a);
    try {
      const caller = new AbortController();
      const call = a.client({ timeoutMs: 30_000 }).getProduct(byId, { signal: caller.signal });
      await new Promise((r) => setTimeout(r, 100)); // A is now waiting on B
      caller.abort();
      assert.equal((await rejectionOf(call)).code, Code.CANCELLED);
      await aborted; // B learns of it: A's outgoing call was cancelled too
      assert.equal((reasonInB as { code?: unknown }).code, Code.CANCELLED);
    } finally {
      toB.close();
    }
  });
});
