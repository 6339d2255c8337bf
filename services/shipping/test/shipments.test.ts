// Shipments on a real port against real PostgreSQL, fed by order events through the platform's
// in-process bus (shared with the test, as the single-process mode shares it): one shipment per
// order however often OrderPlaced arrives, weights from a catalog test double, cancellation,
// CreateShipment for the order service, and who may see which shipment.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ShippingSpeed } from "../../../gen/shop/common/v1/shipping_speed_pb.js";
import { OrderCancelledSchema, OrderPlacedSchema } from "../../../gen/shop/order/v1/events_pb.js";
import { ShipmentCreatedSchema } from "../../../gen/shop/shipping/v1/events_pb.js";
import { ShipmentStatus } from "../../../gen/shop/shipping/v1/shipping_pb.js";
import { Code } from "../../../platform/errors.js";
import { createEnvelope, createMemoryEventBus, type EventBus } from "../../../platform/events/index.js";
import { createLogger } from "../../../platform/logger.js";
import { memorySpans } from "../../../platform/testing/memory-spans.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import {
  address,
  as,
  consumerSpan,
  orderPlaced,
  outboxEvents,
  rejectionOf,
  startCatalogDouble,
  startShipping,
  startUsersDouble,
  type CatalogDouble,
  type RunningShipping,
  type ShippingClient,
  type UsersDouble,
} from "./helpers.js";

const spans = memorySpans();

describe("shipments from order events (real PostgreSQL, in-process bus)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let catalog: CatalogDouble;
  let bus: EventBus;
  let shipping: RunningShipping;
  let client: ShippingClient;

  before(async () => {
    tdb = await createTestDatabase("shipping_shipments");
    [users, catalog] = await Promise.all([startUsersDouble(), startCatalogDouble()]);
    bus = createMemoryEventBus({ logger: createLogger({ service: "shipping-test-bus", level: "error" }) });
    shipping = await startShipping({ databaseUrl: tdb.url, users: users.address, catalog: catalog.address }, { bus, env: { SHIPPING_TRACKING_INTERVAL: "50ms" } });
    client = shipping.client;
  });

  after(async () => {
    await shipping?.stop();
    await bus?.close();
    await Promise.all([users?.stop(), catalog?.stop()]);
    await tdb?.drop();
  });

  const customer = async (id = randomUUID()) => ({ id, call: as(await users.tokenFor(id)) });
  const admin = async () => as(await users.tokenFor(randomUUID(), ["customer", "admin"]));

  /** The order's shipments as the owner sees them, once there are `count`. */
  async function shipmentsOf(orderId: string, owner: { call: ReturnType<typeof as> }, count = 1) {
    return waitFor(`${count} shipment(s) of order ${orderId}`, async () => {
      const { shipments } = await client.listShipments({ orderId }, owner.call);
      return shipments.length === count ? shipments : undefined;
    });
  }

  const createdEventsFor = async (orderId: string) => (await outboxEvents(shipping.db, ShipmentCreatedSchema)).filter((e) => e.orderId === orderId);

  it("creates one shipment for an order however often OrderPlaced is delivered", async () => {
    catalog.weights.set("MUG", 350).set("POSTER", 120);
    const owner = await customer();
    const placed = orderPlaced({ userId: owner.id, lines: [{ sku: "MUG", quantity: 2 }, { sku: "POSTER", quantity: 1 }, { sku: "MUG", quantity: 1 }], speed: ShippingSpeed.EXPRESS });
    const envelope = createEnvelope(OrderPlacedSchema, placed.message);
    spans.reset();
    await bus.publish(envelope);
    await bus.publish(envelope);
    // Another event id for the same order (a republish by a confused producer): the unique order id holds.
    const republished = createEnvelope(OrderPlacedSchema, placed.message);
    await bus.publish(republished);

    const [shipment] = await shipmentsOf(placed.orderId, owner);
    await waitFor("the redelivery to be recognized", () => consumerSpan(spans.getFinishedSpans(), envelope.id, "duplicate"));
    await waitFor("the republished event to be handled", () => consumerSpan(spans.getFinishedSpans(), republished.id, "handled"));
    assert.deepEqual((await client.listShipments({ orderId: placed.orderId }, owner.call)).shipments.map((s) => s.id), [shipment!.id]);
    assert.equal((await createdEventsFor(placed.orderId)).length, 1, "ShipmentCreated once");
    const { rows } = await shipping.db.query("SELECT 1 FROM shipments WHERE order_id = $1", [placed.orderId]);
    assert.equal(rows.length, 1);

    assert.equal(shipment!.userId, owner.id);
    assert.equal(shipment!.speed, ShippingSpeed.EXPRESS);
    assert.deepEqual(shipment!.items.map((i) => [i.sku, i.quantity]), [["MUG", 3], ["POSTER", 1]]);
    assert.equal(shipment!.destination?.city, "Springfield");
    assert.ok(shipment!.estimatedDeliveryTime && shipment!.createTime);
  });

  it("weighs the parcel with the catalog's weights when it is labelled", async () => {
    catalog.weights.set("LAMP", 2100).set("BULB", 40);
    const owner = await customer();
    const placed = orderPlaced({ userId: owner.id, lines: [{ sku: "LAMP", quantity: 1 }, { sku: "BULB", quantity: 3 }, { sku: "NOT-IN-CATALOG", quantity: 1 }] });
    await bus.publish(createEnvelope(OrderPlacedSchema, placed.message));
    const [pending] = await shipmentsOf(placed.orderId, owner);
    const labelled = await waitFor("the label", async () => {
      const { shipment } = await client.getShipment({ shipmentId: pending!.id }, owner.call);
      return shipment?.status === ShipmentStatus.LABEL_CREATED ? shipment : undefined;
    });
    assert.equal(labelled.totalWeightGrams, 2100 + 3 * 40, "SKUs the catalog does not know weigh nothing");
    assert.equal(labelled.carrier, "sandbox");
    assert.match(labelled.trackingNumber, /^SBX/);
  });

  it("cancels the shipment of a cancelled order, and creates none when the cancellation came first", async () => {
    const owner = await customer();
    const placed = orderPlaced({ userId: owner.id });
    await bus.publish(createEnvelope(OrderPlacedSchema, placed.message));
    const [shipment] = await shipmentsOf(placed.orderId, owner);
    await bus.publish(createEnvelope(OrderCancelledSchema, { orderId: placed.orderId, userId: owner.id, reason: "changed my mind", shipmentId: shipment!.id }));
    const cancelled = await waitFor("the shipment to be cancelled", async () => {
      const { shipment: s } = await client.getShipment({ shipmentId: shipment!.id }, owner.call);
      return s?.status === ShipmentStatus.CANCELLED ? s : undefined;
    });
    assert.equal(cancelled.id, shipment!.id);
    const tracking = await client.getTracking({ lookup: { case: "shipmentId", value: shipment!.id } });
    assert.equal(tracking.events[0]?.description, "Order cancelled: changed my mind");

    const early = orderPlaced({ userId: owner.id });
    const cancel = createEnvelope(OrderCancelledSchema, { orderId: early.orderId, userId: owner.id, reason: "payment reversed" });
    spans.reset();
    await bus.publish(cancel);
    await waitFor("the cancellation to be handled", () => consumerSpan(spans.getFinishedSpans(), cancel.id, "handled"));
    const placedLate = createEnvelope(OrderPlacedSchema, early.message);
    await bus.publish(placedLate);
    await waitFor("the late OrderPlaced to be handled", () => consumerSpan(spans.getFinishedSpans(), placedLate.id, "handled"));
    assert.deepEqual((await client.listShipments({ orderId: early.orderId }, owner.call)).shipments, []);
    assert.equal((await rejectionOf(client.createShipment({
      orderId: early.orderId,
      userId: owner.id,
      destination: address(),
      speed: ShippingSpeed.STANDARD,
      items: [{ sku: "MUG", quantity: 1 }],
    }))).code, Code.FAILED_PRECONDITION);
  });

  it("creates a shipment for the order service with CreateShipment, idempotent by order id", async () => {
    const owner = await customer();
    const orderId = randomUUID();
    const req = {
      orderId,
      userId: owner.id,
      destination: address({ countryCode: "DE", region: "", city: "Berlin", postalCode: "10115" }),
      speed: ShippingSpeed.STANDARD,
      items: [{ sku: "MUG", quantity: 1 }],
      totalWeightGrams: 350,
    };
    const first = (await client.createShipment(req)).shipment!;
    const again = (await client.createShipment({ ...req, totalWeightGrams: 999 })).shipment!;
    assert.equal(again.id, first.id);
    assert.equal(again.totalWeightGrams, 350, "a repeat returns the shipment as created");
    assert.equal((await createdEventsFor(orderId)).length, 1);
    const [created] = await createdEventsFor(orderId);
    assert.deepEqual([created?.shipmentId, created?.userId], [first.id, owner.id]);

    const err = await rejectionOf(client.createShipment({ ...req, orderId: randomUUID(), destination: address({ countryCode: "ZZ" }) }));
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    assert.deepEqual(err.violations.map((v) => v.field), ["destination.country_code"]);
  });

  it("shows a shipment to its order's owner and admins only", async () => {
    const owner = await customer();
    const stranger = await customer();
    const placed = orderPlaced({ userId: owner.id });
    await bus.publish(createEnvelope(OrderPlacedSchema, placed.message));
    const [shipment] = await shipmentsOf(placed.orderId, owner);
    const id = shipment!.id;

    assert.equal((await client.getShipment({ shipmentId: id }, owner.call)).shipment?.id, id);
    assert.equal((await client.getShipment({ shipmentId: id }, await admin())).shipment?.id, id);
    assert.equal((await rejectionOf(client.getShipment({ shipmentId: id }, stranger.call))).code, Code.NOT_FOUND);
    assert.equal((await rejectionOf(client.getShipment({ shipmentId: randomUUID() }, owner.call))).code, Code.NOT_FOUND);
    assert.equal((await rejectionOf(client.getShipment({ shipmentId: id }))).code, Code.UNAUTHENTICATED);

    assert.deepEqual((await client.listShipments({ orderId: placed.orderId }, stranger.call)).shipments, []);
    assert.equal((await client.listShipments({ orderId: placed.orderId }, await admin())).shipments.length, 1);
    assert.equal((await rejectionOf(client.listShipments({ orderId: placed.orderId, pageToken: "junk" }, owner.call))).violations[0]?.field, "page_token");
  });
});
