// The cart's OrderPlaced consumer: the buyer's cart is emptied once per event, other carts are
// left alone, and CartCleared(ORDER_PLACED) names the order.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { CartClearedSchema, CartCleared_Reason } from "../../../gen/shop/cart/v1/events_pb.js";
import { OrderPlacedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import type { Db } from "../../../platform/db/db.js";
import { createEnvelope, createMemoryEventBus, type EventBus } from "../../../platform/events/index.js";
import { createLogger } from "../../../platform/logger.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import {
  as,
  cartDb,
  outboxRows,
  outboxMark,
  startCart,
  startCatalogDouble,
  startInventoryDouble,
  startUsersDouble,
  uniqueSku,
  type CatalogDouble,
  type InventoryDouble,
  type RunningCart,
  type UsersDouble,
} from "./helpers.js";

describe("cart service: OrderPlaced empties the buyer's cart (real PostgreSQL, in-process bus)", () => {
  let tdb: TestDatabase;
  let catalog: CatalogDouble;
  let inventory: InventoryDouble;
  let users: UsersDouble;
  let bus: EventBus;
  let cart: RunningCart;
  let db: Db;

  before(async () => {
    tdb = await createTestDatabase("cart_orders");
    [catalog, inventory, users] = await Promise.all([startCatalogDouble(), startInventoryDouble(), startUsersDouble()]);
    bus = createMemoryEventBus({ logger: createLogger({ service: "bus", level: "error" }) });
    cart = await startCart({ databaseUrl: tdb.url, catalog: catalog.address, inventory: inventory.address, users: users.address }, {}, undefined, { bus });
    db = cartDb(tdb.url);
  });

  after(async () => {
    await cart?.stop();
    await bus?.close();
    await db?.close();
    await Promise.all([catalog?.stop(), inventory?.stop(), users?.stop()]);
    await tdb?.drop();
  });

  it("clears the buyer's cart once, however often the event comes, and leaves other carts alone", async () => {
    const code = uniqueSku();
    catalog.put({ code, priceMinor: 1200n });
    inventory.stock.set(code, 10);
    const buyer = randomUUID();
    const other = randomUUID();
    const buyerCall = as(await users.tokenFor(buyer));
    const otherCall = as(await users.tokenFor(other));
    await cart.client.addItem({ sku: code, quantity: 2 }, buyerCall);
    await cart.client.addItem({ sku: code, quantity: 1 }, otherCall);
    const mark = await outboxMark(db);

    const orderId = randomUUID();
    const envelope = createEnvelope(OrderPlacedSchema, { order: { id: orderId, userId: buyer, lines: [{ sku: code, quantity: 2 }] } });
    await bus.publish(envelope);
    await bus.publish(envelope);

    await waitFor("the buyer's cart to be empty", async () => ((await cart.client.getCart({}, buyerCall)).cart?.lines.length === 0 ? true : undefined));
    assert.equal((await cart.client.getCart({}, otherCall)).cart?.lines.length, 1);
    const cleared = await waitFor("CartCleared in the outbox", async () => {
      const events = (await outboxRows(db, mark)).filter((e) => e.type === CartClearedSchema.typeName);
      return events.length > 0 ? events : undefined;
    });
    assert.equal(cleared.length, 1);
    const event = fromBinary(CartClearedSchema, cleared[0]!.payload);
    assert.deepEqual([event.userId, event.reason, event.orderId], [buyer, CartCleared_Reason.ORDER_PLACED, orderId]);
  });
});
