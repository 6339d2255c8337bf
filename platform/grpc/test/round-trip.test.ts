import assert from "node:assert/strict";
import { NotificationService } from "../../../gen/shop/notification/v1/notification_pb.js";
import { Code, notFound } from "../../errors.js";
import { createClient, createGrpcServer, type GrpcServer, type ServiceImpl } from "../index.js";
import { PRODUCT_ID, captureLogger, rejectionOf, sampleProduct, startCatalog, type RunningCatalog } from "./helpers.js";

const ORDER_ID = "5e0c7a52-3b1d-4f6e-8a9b-0c1d2e3f4a5b";

describe("grpc round trip", () => {
  let catalog: RunningCatalog | undefined;
  afterEach(() => catalog?.stop());

  it("serves a unary call and returns the typed response", async () => {
    let seen: string | undefined;
    catalog = await startCatalog({
      getProduct: async (req) => {
        seen = req.lookup.case === "id" ? req.lookup.value : undefined;
        return { product: sampleProduct(req.lookup.value) };
      },
    });
    const res = await catalog.client().getProduct({ lookup: { case: "id", value: PRODUCT_ID } });
    assert.equal(seen, PRODUCT_ID);
    assert.equal(res.product?.id, PRODUCT_ID);
    assert.equal(res.product?.skus[0]?.price?.amountMinor, 4990n);
  });
});

describe("grpc server streaming", () => {
  let server: GrpcServer;
  let address: string;
  let handlerAborted: boolean;

  async function startNotifications(watch: ServiceImpl<typeof NotificationService>["watchOrderUpdates"]): Promise<void> {
    const unimplemented = async (): Promise<never> => {
      throw new Error("not in this test");
    };
    // WatchOrderUpdates is a USER method: every caller here is one signed-in shopper.
    server = createGrpcServer({ service: "catalog", log: captureLogger().log, authenticate: async () => ({ subject: "shopper", roles: ["customer"] }) });
    server.add(NotificationService, {
      getPreferences: unimplemented,
      updatePreferences: unimplemented,
      listNotifications: unimplemented,
      watchOrderUpdates: watch,
    });
    address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
  }

  beforeEach(() => (handlerAborted = false));
  afterEach(() => server.shutdown(100));

  it("streams responses and stops the handler when the client leaves", async () => {
    await startNotifications(async function* (req, ctx) {
      ctx.signal.addEventListener("abort", () => (handlerAborted = true));
      for (let i = 0; ; i++) {
        yield { orderId: req.orderId, reason: `change ${i}` };
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    const client = createClient(NotificationService, { service: "test", name: "notification", address });
    try {
      const reasons: string[] = [];
      for await (const update of client.watchOrderUpdates({ orderId: ORDER_ID })) {
        assert.equal(update.orderId, ORDER_ID);
        reasons.push(update.reason);
        if (reasons.length === 3) break;
      }
      assert.deepEqual(reasons, ["change 0", "change 1", "change 2"]);
      await waitFor(() => handlerAborted);
    } finally {
      client.close();
    }
  });

  it("ends a stream with the handler's error as a ShopError", async () => {
    await startNotifications(async function* () {
      yield { reason: "first" };
      throw notFound("order", ORDER_ID);
    });
    const client = createClient(NotificationService, { service: "test", name: "notification", address });
    try {
      const reasons: string[] = [];
      const err = await rejectionOf(
        (async () => {
          for await (const update of client.watchOrderUpdates({})) reasons.push(update.reason);
        })(),
      );
      assert.deepEqual(reasons, ["first"]);
      assert.equal(err.code, Code.NOT_FOUND);
      assert.equal(err.message, `order ${ORDER_ID} not found`);
    } finally {
      client.close();
    }
  });
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
