// Tracking on a real port against real PostgreSQL: the sandbox carrier moves shipments through
// their states as the service's clock advances, driven by the tracking job; ShipmentShipped and
// ShipmentDelivered go out once each; the history is readable by shipment id or tracking number;
// carrier webhooks (AddTrackingEvent) are deduplicated and admins can force a status.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ShippingSpeed } from "../../../gen/shop/common/v1/shipping_speed_pb.js";
import { ShipmentDeliveredSchema, ShipmentShippedSchema, TrackingUpdatedSchema } from "../../../gen/shop/shipping/v1/events_pb.js";
import { ShipmentStatus, type Shipment } from "../../../gen/shop/shipping/v1/shipping_pb.js";
import { Code } from "../../../platform/errors.js";
import { addBusinessDays } from "../rates.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { address, as, deadAddress, outboxEvents, rejectionOf, startShipping, startUsersDouble, testClock, type RunningShipping, type ShippingClient, type TestClock, type UsersDouble } from "./helpers.js";

const STEP_MS = 30_000;

describe("shipment tracking with the sandbox carrier (real PostgreSQL)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let shipping: RunningShipping;
  let client: ShippingClient;
  let clock: TestClock;

  before(async () => {
    tdb = await createTestDatabase("shipping_tracking");
    users = await startUsersDouble();
    clock = testClock();
    shipping = await startShipping(
      { databaseUrl: tdb.url, users: users.address, catalog: await deadAddress() },
      // The job runs often in real time; the sandbox's parcels move only when the test moves the clock.
      { clock: clock.now, env: { SHIPPING_SANDBOX_STEP: `${STEP_MS}ms`, SHIPPING_TRACKING_INTERVAL: "50ms" } },
    );
    client = shipping.client;
  });

  after(async () => {
    await shipping?.stop();
    await users?.stop();
    await tdb?.drop();
  });

  const admin = async () => as(await users.tokenFor(randomUUID(), ["customer", "admin"]));

  async function newShipment(totalWeightGrams = 400): Promise<Shipment> {
    const res = await client.createShipment({
      orderId: randomUUID(),
      userId: randomUUID(),
      destination: address({ city: "Portland", region: "OR", postalCode: "97201" }),
      speed: ShippingSpeed.STANDARD,
      items: [{ sku: "MUG", quantity: 1 }],
      totalWeightGrams,
    });
    return res.shipment!;
  }

  const trackingOf = (shipmentId: string) => client.getTracking({ lookup: { case: "shipmentId", value: shipmentId } });

  async function reaches(shipmentId: string, status: ShipmentStatus) {
    return waitFor(`shipment ${shipmentId} to be ${ShipmentStatus[status]}`, async () => {
      const t = await trackingOf(shipmentId);
      return t.status === status ? t : undefined;
    });
  }

  const eventsOf = async (shipmentId: string) => ({
    shipped: (await outboxEvents(shipping.db, ShipmentShippedSchema)).filter((e) => e.shipmentId === shipmentId),
    delivered: (await outboxEvents(shipping.db, ShipmentDeliveredSchema)).filter((e) => e.shipmentId === shipmentId),
    tracking: (await outboxEvents(shipping.db, TrackingUpdatedSchema)).filter((e) => e.shipmentId === shipmentId),
  });

  it("labels a new shipment, then moves it one step per interval to delivered, emitting shipped and delivered once", async () => {
    const created = await newShipment();
    const labelled = await reaches(created.id, ShipmentStatus.LABEL_CREATED);
    assert.match(labelled.trackingNumber, /^SBX/);
    assert.equal(labelled.carrier, "sandbox");
    assert.deepEqual((await eventsOf(created.id)).shipped, [], "not shipped before pickup");

    clock.advance(STEP_MS);
    const pickedUp = await reaches(created.id, ShipmentStatus.SHIPPED);
    const pickupTime = timestampDate(pickedUp.events[0]!.eventTime!);
    assert.deepEqual(timestampDate(pickedUp.estimatedDeliveryTime!), addBusinessDays(pickupTime, 5), "the estimate counts from the pickup");
    const { shipped } = await eventsOf(created.id);
    assert.deepEqual(shipped.map((e) => [e.orderId, e.userId, e.carrier, e.trackingNumber]), [[created.orderId, created.userId, "sandbox", labelled.trackingNumber]]);

    for (const status of [ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.DELIVERED]) {
      clock.advance(STEP_MS);
      await reaches(created.id, status);
    }

    // More time and more rounds of the job (proved by the next shipment being labelled) change nothing.
    clock.advance(10 * STEP_MS);
    const later = await newShipment();
    await reaches(later.id, ShipmentStatus.LABEL_CREATED);

    const events = await eventsOf(created.id);
    assert.equal(events.shipped.length, 1, "ShipmentShipped once");
    assert.deepEqual(events.delivered.map((e) => [e.orderId, e.userId]), [[created.orderId, created.userId]], "ShipmentDelivered once");
    assert.deepEqual(
      events.tracking.map((e) => ShipmentStatus[e.event!.status]),
      ["LABEL_CREATED", "SHIPPED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"],
      "TrackingUpdated for every recorded event",
    );
    const { rows } = await shipping.db.query<{ next_check_at: Date | null }>("SELECT next_check_at FROM shipments WHERE id = $1", [created.id]);
    assert.deepEqual(rows, [{ next_check_at: null }], "a delivered parcel is no longer polled");
  });

  it("shares the work between replicas and still records and emits everything once", async () => {
    const replica = await startShipping(
      { databaseUrl: tdb.url, users: users.address, catalog: await deadAddress() },
      { clock: clock.now, env: { SHIPPING_SANDBOX_STEP: `${STEP_MS}ms`, SHIPPING_TRACKING_INTERVAL: "50ms" } },
    );
    try {
      const created = await Promise.all(Array.from({ length: 6 }, () => newShipment()));
      await Promise.all(created.map((s) => reaches(s.id, ShipmentStatus.LABEL_CREATED)));
      for (let step = 0; step < 4; step++) {
        clock.advance(STEP_MS);
        const expected = [ShipmentStatus.SHIPPED, ShipmentStatus.IN_TRANSIT, ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.DELIVERED][step]!;
        await Promise.all(created.map((s) => reaches(s.id, expected)));
      }
      for (const s of created) {
        const events = await eventsOf(s.id);
        assert.deepEqual([events.shipped.length, events.delivered.length, events.tracking.length], [1, 1, 5], `events of ${s.id}`);
        assert.equal((await trackingOf(s.id)).events.length, 5);
      }
    } finally {
      await replica.stop();
    }
  });

  it("labels a parcel of unknown weight even while the catalog is down", async () => {
    const created = await newShipment(0);
    await reaches(created.id, ShipmentStatus.LABEL_CREATED);
    const { shipment } = await client.getShipment({ shipmentId: created.id }, await admin());
    assert.equal(shipment?.totalWeightGrams, 0);
  });

  it("serves the history newest first, by shipment id or publicly by tracking number", async () => {
    const created = await newShipment();
    const { trackingNumber } = await reaches(created.id, ShipmentStatus.LABEL_CREATED);
    // Several steps at once: the job records every scan the carrier has, in order.
    clock.advance(10 * STEP_MS);
    const byId = await reaches(created.id, ShipmentStatus.DELIVERED);
    const byNumber = await client.getTracking({ lookup: { case: "trackingNumber", value: trackingNumber } });
    assert.deepEqual(byNumber, byId);
    assert.equal(byId.shipmentId, created.id);
    assert.deepEqual(
      byId.events.map((e) => [ShipmentStatus[e.status], e.description, e.location]),
      [
        ["DELIVERED", "Delivered", "Portland, OR, US"],
        ["OUT_FOR_DELIVERY", "Out for delivery", "Portland, OR, US"],
        ["IN_TRANSIT", "Arrived at sorting facility", "Sandbox sorting hub"],
        ["SHIPPED", "Picked up by the carrier", "Sandbox depot, Memphis, TN, US"],
        ["LABEL_CREATED", "Shipping label created", ""],
      ],
    );
    const times = byId.events.map((e) => Number(e.eventTime!.seconds));
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.ok(byId.estimatedDeliveryTime);
    const events = await eventsOf(created.id);
    assert.deepEqual([events.shipped.length, events.delivered.length], [1, 1]);

    assert.equal((await rejectionOf(client.getTracking({ lookup: { case: "trackingNumber", value: "NO-SUCH-NUMBER" } }))).code, Code.NOT_FOUND);
    assert.equal((await rejectionOf(client.getTracking({ lookup: { case: "shipmentId", value: randomUUID() } }))).code, Code.NOT_FOUND);
  });

  it("records carrier webhooks once, and never moves a shipment back on older news", async () => {
    const created = await newShipment();
    const labelled = await reaches(created.id, ShipmentStatus.LABEL_CREATED);
    const labelTime = timestampDate(labelled.events[0]!.eventTime!).getTime();
    const call = await admin();
    const now = new Date(labelTime + 10_000);
    const scan = (eventId: string, status: ShipmentStatus, at: Date) => ({
      shipmentId: created.id,
      event: { eventId, status, description: `${ShipmentStatus[status]} scan`, location: "Reno, NV, US", eventTime: timestampFromDate(at) },
    });

    // The carrier skipped the pickup scan: in transit first, which is also "shipped".
    const moved = (await client.addTrackingEvent(scan("hook-1", ShipmentStatus.IN_TRANSIT, now), call)).shipment!;
    assert.equal(moved.status, ShipmentStatus.IN_TRANSIT);
    const again = (await client.addTrackingEvent(scan("hook-1", ShipmentStatus.IN_TRANSIT, now), call)).shipment!;
    assert.deepEqual(again, moved, "a webhook retry changes nothing");
    const late = (await client.addTrackingEvent(scan("hook-0", ShipmentStatus.SHIPPED, new Date(labelTime + 5_000)), call)).shipment!;
    assert.equal(late.status, ShipmentStatus.IN_TRANSIT, "older news is recorded, not applied");

    const history = (await trackingOf(created.id)).events.map((e) => e.eventId);
    assert.deepEqual(history, ["hook-1", "hook-0", `label-${created.id}`]);
    const events = await eventsOf(created.id);
    assert.equal(events.shipped.length, 1);
    assert.equal(events.tracking.length, 3);

    const customer = as(await users.tokenFor(created.userId));
    assert.equal((await rejectionOf(client.addTrackingEvent(scan("hook-2", ShipmentStatus.DELIVERED, now), customer))).code, Code.PERMISSION_DENIED);
    const refused = await rejectionOf(client.addTrackingEvent(scan("hook-3", ShipmentStatus.CANCELLED, now), call));
    assert.deepEqual([refused.code, refused.violations[0]?.field], [Code.INVALID_ARGUMENT, "event.status"]);
  });

  it("lets an admin force a status: exception stops polling, a parcel with the carrier cannot be cancelled", async () => {
    const call = await admin();
    const created = await newShipment();
    await reaches(created.id, ShipmentStatus.LABEL_CREATED);
    clock.advance(STEP_MS);
    await reaches(created.id, ShipmentStatus.SHIPPED);

    const lost = (await client.updateShipmentStatus({ shipmentId: created.id, status: ShipmentStatus.EXCEPTION, note: "Parcel lost at the hub" }, call)).shipment!;
    assert.equal(lost.status, ShipmentStatus.EXCEPTION);
    assert.equal((await trackingOf(created.id)).events[0]?.description, "Parcel lost at the hub");
    const repeat = (await client.updateShipmentStatus({ shipmentId: created.id, status: ShipmentStatus.EXCEPTION, note: "again" }, call)).shipment!;
    assert.deepEqual(repeat, lost, "forcing the current status is a no-op");
    const cancel = await rejectionOf(client.updateShipmentStatus({ shipmentId: created.id, status: ShipmentStatus.CANCELLED }, call));
    assert.equal(cancel.code, Code.FAILED_PRECONDITION);

    // The sandbox would have delivered it by now; an exception waits for a human instead.
    clock.advance(10 * STEP_MS);
    const next = await newShipment();
    await reaches(next.id, ShipmentStatus.LABEL_CREATED);
    assert.equal((await trackingOf(created.id)).status, ShipmentStatus.EXCEPTION);

    const found = (await client.updateShipmentStatus({ shipmentId: created.id, status: ShipmentStatus.DELIVERED }, call)).shipment!;
    assert.equal(found.status, ShipmentStatus.DELIVERED);
    const events = await eventsOf(created.id);
    assert.deepEqual([events.shipped.length, events.delivered.length], [1, 1]);

    const unshipped = (await client.updateShipmentStatus({ shipmentId: next.id, status: ShipmentStatus.CANCELLED, note: "Out of stock" }, call)).shipment!;
    assert.equal(unshipped.status, ShipmentStatus.CANCELLED);
    assert.equal((await rejectionOf(client.updateShipmentStatus({ shipmentId: next.id, status: ShipmentStatus.SHIPPED }, call))).code, Code.FAILED_PRECONDITION);
    assert.equal((await rejectionOf(client.updateShipmentStatus({ shipmentId: next.id, status: ShipmentStatus.SHIPPED }, as(await users.tokenFor(next.userId))))).code, Code.PERMISSION_DENIED);
    assert.equal((await rejectionOf(client.updateShipmentStatus({ shipmentId: randomUUID(), status: ShipmentStatus.SHIPPED }, call))).code, Code.NOT_FOUND);
  });
});
