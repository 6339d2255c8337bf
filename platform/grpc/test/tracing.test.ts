import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { CatalogService } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { Code, notFound } from "../../errors.js";
import { memorySpans } from "../../testing/memory-spans.js";
import { createClient } from "../index.js";
import { PRODUCT_ID, rejectionOf, sampleProduct, startCatalog, type RunningCatalog } from "./helpers.js";

const byId = { lookup: { case: "id" as const, value: PRODUCT_ID } };
const NAME = "shop.catalog.v1.CatalogService/GetProduct";

describe("grpc tracing", () => {
  const spans = memorySpans();
  const running: RunningCatalog[] = [];
  beforeEach(() => spans.reset());
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop();
  });

  /** Spans are exported when they end; the server's may end a moment after the client has its answer. */
  async function finished(count: number): Promise<ReadableSpan[]> {
    for (let i = 0; i < 200 && spans.getFinishedSpans().length < count; i++) await new Promise((r) => setTimeout(r, 5));
    return spans.getFinishedSpans();
  }

  it("links the client and server spans of a call into one trace", async () => {
    const catalog = await startCatalog({ getProduct: async () => ({ product: sampleProduct() }) });
    running.push(catalog);
    await catalog.client().getProduct(byId);
    const all = await finished(2);
    const client = all.find((s) => s.kind === SpanKind.CLIENT);
    const server = all.find((s) => s.kind === SpanKind.SERVER);
    assert.ok(client && server, all.map((s) => `${s.name}:${s.kind}`).join(", "));
    assert.equal(client.name, NAME);
    assert.equal(server.name, NAME);
    assert.equal(server.spanContext().traceId, client.spanContext().traceId);
    assert.equal(server.parentSpanContext?.spanId, client.spanContext().spanId);
    assert.deepEqual(
      { system: server.attributes["rpc.system"], service: server.attributes["rpc.service"], method: server.attributes["rpc.method"] },
      { system: "grpc", service: "shop.catalog.v1.CatalogService", method: "GetProduct" },
    );
    assert.equal(server.attributes["rpc.grpc.status_code"], Code.OK);
    assert.equal(client.attributes["rpc.grpc.status_code"], Code.OK);
  });

  it("records the status code, and marks the server span failed only for server faults", async () => {
    const catalog = await startCatalog({
      getProduct: async () => {
        throw notFound("product");
      },
      listProducts: async () => {
        throw new Error("boom");
      },
    });
    running.push(catalog);
    const client = catalog.client();
    await rejectionOf(client.getProduct(byId));
    await rejectionOf(client.listProducts({}));
    const all = await finished(4);
    const server = (method: string) => all.find((s) => s.kind === SpanKind.SERVER && s.name.endsWith(method))!;
    assert.equal(server("GetProduct").attributes["rpc.grpc.status_code"], Code.NOT_FOUND);
    assert.equal(server("GetProduct").status.code, SpanStatusCode.UNSET);
    assert.equal(server("ListProducts").attributes["rpc.grpc.status_code"], Code.INTERNAL);
    assert.equal(server("ListProducts").status.code, SpanStatusCode.ERROR);
  });

  it("continues the trace and forwards the caller's authorization through a second hop", async () => {
    let authSeenByB: unknown;
    const b = await startCatalog({
      getProduct: async (_req, ctx) => {
        authSeenByB = ctx.metadata.get("authorization")[0];
        return { product: sampleProduct() };
      },
    });
    running.push(b);
    const toB = createClient(CatalogService, { service: "test", name: "b", address: b.address });
    const a = await startCatalog({ getProduct: (req) => toB.getProduct(req) });
    running.push(a);
    try {
      await a.client().getProduct(byId, { metadata: { authorization: "Bearer token-of-ada" } });
    } finally {
      toB.close();
    }
    assert.equal(authSeenByB, "Bearer token-of-ada");
    const all = await finished(4);
    assert.equal(all.length, 4);
    assert.equal(new Set(all.map((s) => s.spanContext().traceId)).size, 1, "one trace across both hops");
    // Outer client -> A server -> A's client to B -> B server: each span the parent of the next.
    const byParent = new Map(all.map((s) => [s.parentSpanContext?.spanId, s]));
    const root = all.find((s) => s.parentSpanContext === undefined)!;
    const chain = [root];
    for (let next = byParent.get(root.spanContext().spanId); next; next = byParent.get(next.spanContext().spanId)) chain.push(next);
    assert.deepEqual(
      chain.map((s) => s.kind),
      [SpanKind.CLIENT, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.SERVER],
    );
  });
});
