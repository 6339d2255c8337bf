import assert from "node:assert/strict";
import { Code, ShopError, alreadyExists, invalidArgument, unauthenticated } from "../../errors.js";
import type { Caller } from "../index.js";
import { PRODUCT_ID, rejectionOf, sampleProduct, startCatalog, type RunningCatalog } from "./helpers.js";

const byId = { lookup: { case: "id" as const, value: PRODUCT_ID } };
const validProduct = { slug: "blue-linen-shirt", name: "Blue linen shirt", skus: [{ code: "SHIRT-BLUE-M", price: { amountMinor: 4990n, currencyCode: "EUR" } }] };

describe("grpc error mapping", () => {
  let catalog: RunningCatalog;
  afterEach(() => catalog.stop());

  it("carries ShopError codes, messages and field violations across the hop", async () => {
    catalog = await startCatalog({
      createProduct: async () => {
        throw invalidArgument("product is not sellable", [
          { field: "skus[0].price", description: "must be positive" },
          { field: "slug", description: "already taken" },
        ]);
      },
      getProduct: async () => {
        throw alreadyExists("that slug is taken");
      },
    });
    const client = catalog.client();
    const err = await rejectionOf(client.createProduct(validProduct));
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    assert.equal(err.message, "product is not sellable");
    assert.deepEqual(err.violations, [
      { field: "skus[0].price", description: "must be positive" },
      { field: "slug", description: "already taken" },
    ]);
    const other = await rejectionOf(client.getProduct(byId));
    assert.equal(other.code, Code.ALREADY_EXISTS);
    assert.equal(other.message, "that slug is taken");
  });

  it("turns an unexpected error into INTERNAL without leaking it, and logs it with the trace id", async () => {
    catalog = await startCatalog({
      getProduct: async () => {
        throw new Error("connect ECONNREFUSED db.internal:5432 password=hunter2");
      },
    });
    const err = await rejectionOf(catalog.client().getProduct(byId));
    assert.equal(err.code, Code.INTERNAL);
    assert.equal(err.message, "internal error");
    assert.deepEqual(err.violations, []);
    const line = catalog.lines.find((l) => l["level"] === "error");
    assert.ok(line, "the failure is logged");
    assert.match(String(line["trace_id"]), /^[0-9a-f]{32}$/);
    assert.notEqual(line["trace_id"], "0".repeat(32));
    assert.equal(line["rpc"], "shop.catalog.v1.CatalogService/GetProduct");
    assert.match(JSON.stringify(line), /ECONNREFUSED/, "operators see the cause");
  });

  it("logs one line per failed call and none per successful call at info", async () => {
    let fail = true;
    catalog = await startCatalog({
      getProduct: async () => {
        if (fail) throw new ShopError(Code.NOT_FOUND, "no such product");
        return { product: sampleProduct() };
      },
    });
    const client = catalog.client();
    await rejectionOf(client.getProduct(byId));
    fail = false;
    await client.getProduct(byId);
    const rpcLines = catalog.lines.filter((l) => l["rpc"] !== undefined);
    assert.equal(rpcLines.length, 1);
    assert.equal(rpcLines[0]!["code"], "NOT_FOUND");
  });
});

describe("grpc request validation", () => {
  let catalog: RunningCatalog;
  let reached: number;
  beforeEach(async () => {
    reached = 0;
    const handler = async () => {
      reached++;
      return { product: sampleProduct() };
    };
    catalog = await startCatalog({ getProduct: handler, createProduct: handler });
  });
  afterEach(() => catalog.stop());

  it("rejects a request breaking the proto's rules with one violation per field, before the handler", async () => {
    const err = await rejectionOf(catalog.client().getProduct({ lookup: { case: "id", value: "not-a-uuid" } }));
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    assert.deepEqual(err.violations.map((v) => v.field), ["id"]);
    assert.match(err.violations[0]!.description, /UUID/i);
    assert.equal(reached, 0);
  });

  it("names nested and repeated fields by path", async () => {
    const err = await rejectionOf(
      catalog.client().createProduct({ ...validProduct, skus: [validProduct.skus[0]!, { code: "", price: { amountMinor: -1n, currencyCode: "EUR" } }] }),
    );
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    const fields = err.violations.map((v) => v.field);
    assert.ok(fields.includes("skus[1].code"), fields.join(", "));
    assert.ok(fields.includes("skus[1].price"), fields.join(", "));
    assert.equal(reached, 0);
  });

  it("reports a required oneof by its name", async () => {
    const err = await rejectionOf(catalog.client().getProduct({}));
    assert.deepEqual(err.violations.map((v) => v.field), ["lookup"]);
  });

  it("lets a valid request through", async () => {
    await catalog.client().getProduct(byId);
    assert.equal(reached, 1);
  });
});

describe("grpc authentication hook", () => {
  let catalog: RunningCatalog;
  afterEach(() => catalog.stop());

  // A stand-in for JWT verification: "Bearer <subject>:<role>".
  const authenticate = async (md: import("@grpc/grpc-js").Metadata): Promise<Caller | undefined> => {
    const header = md.get("authorization")[0];
    if (header === undefined) return undefined;
    const m = /^Bearer (\w+):(\w+)$/.exec(String(header));
    if (!m) throw unauthenticated("malformed token");
    return { subject: m[1]!, roles: [m[2]!] };
  };

  beforeEach(async () => {
    catalog = await startCatalog(
      {
        // No role check in the handler: the server pipeline applies CreateProduct's ADMIN level.
        createProduct: async (_req, ctx) => ({ product: { ...sampleProduct(), name: `made by ${ctx.caller?.subject}` } }),
        // A PUBLIC method: anonymous callers are served, and a signed-in one is still named.
        getProduct: async (_req, ctx) => ({ product: { ...sampleProduct(), name: `seen by ${ctx.caller?.subject ?? "anyone"}` } }),
      },
      { authenticate },
    );
  });

  it("hands the handler the authenticated caller", async () => {
    const res = await catalog.client().createProduct(validProduct, { metadata: { authorization: "Bearer ada:admin" } });
    assert.equal(res.product?.name, "made by ada");
  });

  it("answers UNAUTHENTICATED without a caller and PERMISSION_DENIED without the role", async () => {
    const client = catalog.client();
    assert.equal((await rejectionOf(client.createProduct(validProduct))).code, Code.UNAUTHENTICATED);
    const denied = await rejectionOf(client.createProduct(validProduct, { metadata: { authorization: "Bearer bob:shopper" } }));
    assert.equal(denied.code, Code.PERMISSION_DENIED);
  });

  it("serves PUBLIC methods to anonymous and signed-in callers alike", async () => {
    const client = catalog.client();
    assert.equal((await client.getProduct(byId)).product?.name, "seen by anyone");
    const named = await client.getProduct(byId, { metadata: { authorization: "Bearer bob:shopper" } });
    assert.equal(named.product?.name, "seen by bob");
  });

  it("rejects bad credentials when the hook throws UNAUTHENTICATED", async () => {
    const err = await rejectionOf(catalog.client().createProduct(validProduct, { metadata: { authorization: "Basic xyz" } }));
    assert.equal(err.code, Code.UNAUTHENTICATED);
    assert.equal(err.message, "malformed token");
  });
});
