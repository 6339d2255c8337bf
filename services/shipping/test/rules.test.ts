// The shipping rules in memory: zone lookup, weight brackets, speeds and currencies of the rate
// table, delivery estimates, the shipment status rules, and the sandbox carrier's timeline.
import assert from "node:assert/strict";
import { loadConfig } from "../../../platform/config.js";
import { Code, type ShopError } from "../../../platform/errors.js";
import { createSandboxCarrier, sandboxTrackingNumber } from "../carriers/sandbox.js";
import { shippingConfig } from "../config.js";
import { addBusinessDays, ANY_COUNTRY, quote, zoneOf, type QuoteRequest, type RateTable } from "../rates.js";
import { forcedStatus, statusAfterScan, transition, type ShipmentStatus, type StatusState } from "../shipment-status.js";

const table: RateTable = {
  destinations: [
    { country: "US", region: "", zone: "DOM" },
    { country: "US", region: "AK", zone: "REMOTE" },
    { country: "DE", region: "", zone: "EU" },
  ],
  services: [
    { zone: "DOM", speed: "standard", carrier: "sandbox", minTransitDays: 3, maxTransitDays: 5 },
    { zone: "DOM", speed: "express", carrier: "fastco", minTransitDays: 1, maxTransitDays: 2 },
    { zone: "DOM", speed: "overnight", carrier: "fastco", minTransitDays: 1, maxTransitDays: 1 },
    { zone: "REMOTE", speed: "standard", carrier: "sandbox", minTransitDays: 5, maxTransitDays: 9 },
    { zone: "EU", speed: "standard", carrier: "sandbox", minTransitDays: 7, maxTransitDays: 14 },
  ],
  brackets: [
    { zone: "DOM", speed: "standard", currency: "USD", maxWeightGrams: 1000, priceMinor: 500n },
    { zone: "DOM", speed: "standard", currency: "USD", maxWeightGrams: 5000, priceMinor: 900n },
    { zone: "DOM", speed: "express", currency: "USD", maxWeightGrams: 5000, priceMinor: 1800n },
    { zone: "DOM", speed: "express", currency: "USD", maxWeightGrams: 1000, priceMinor: 1200n },
    { zone: "DOM", speed: "overnight", currency: "USD", maxWeightGrams: 1000, priceMinor: 2500n },
    { zone: "REMOTE", speed: "standard", currency: "USD", maxWeightGrams: 5000, priceMinor: 1500n },
    { zone: "EU", speed: "standard", currency: "EUR", maxWeightGrams: 5000, priceMinor: 1400n },
    { zone: "EU", speed: "standard", currency: "USD", maxWeightGrams: 5000, priceMinor: 1600n },
  ],
};
const withRestOfWorld: RateTable = { ...table, destinations: [...table.destinations, { country: ANY_COUNTRY, region: "", zone: "EU" }] };

// A Wednesday.
const NOW = new Date("2026-01-07T10:00:00Z");
const req = (over: Partial<QuoteRequest> = {}): QuoteRequest => ({ country: "US", region: "", weightGrams: 1000, speed: undefined, currency: "USD", ...over });
const summary = (t: RateTable, r: QuoteRequest) => quote(t, r, NOW).map((o) => [o.speed, o.priceMinor]);

/** Asserts a typed INVALID_ARGUMENT naming `field`. */
const invalid = (field: string, message?: RegExp) => (err: ShopError) => {
  assert.equal(err.code, Code.INVALID_ARGUMENT);
  assert.deepEqual(err.violations.map((v) => v.field), [field]);
  if (message) assert.match(err.message, message);
  return true;
};

describe("shipping rules", () => {
  describe("zones", () => {
    it("finds the country's zone, narrowed by region when the table has the region", () => {
      assert.equal(zoneOf(table, { country: "US", region: "" }), "DOM");
      assert.equal(zoneOf(table, { country: "US", region: "IL" }), "DOM");
      assert.equal(zoneOf(table, { country: "US", region: "AK" }), "REMOTE");
      assert.equal(zoneOf(table, { country: "US", region: " ak " }), "REMOTE", "regions compare trimmed and upper case");
      assert.equal(zoneOf(table, { country: "DE", region: "BY" }), "EU");
    });

    it("serves a real country the table does not list only through the rest-of-world row", () => {
      assert.equal(zoneOf(table, { country: "JP", region: "" }), undefined);
      assert.deepEqual(quote(table, req({ country: "JP" }), NOW), [], "not served: no options, not an error");
      assert.equal(zoneOf(withRestOfWorld, { country: "JP", region: "" }), "EU");
    });

    it("refuses a code that is no country with INVALID_ARGUMENT naming the field", () => {
      assert.throws(() => zoneOf(table, { country: "ZZ", region: "" }), invalid("country_code", /"ZZ" is not an ISO 3166-1/));
      assert.throws(() => quote(withRestOfWorld, req({ country: "QQ" }), NOW), invalid("country_code"));
      assert.throws(() => quote(table, req({ country: "us" }), NOW), invalid("country_code"));
      assert.throws(() => quote(table, req({ country: "UK" }), NOW), invalid("country_code", /United Kingdom is GB/));
      assert.throws(() => zoneOf(table, { country: "XX", region: "" }, "destination.country_code"), invalid("destination.country_code"));
    });
  });

  describe("weight brackets", () => {
    it("charges the lightest bracket the parcel fits in, its upper bound included", () => {
      const standard = (weightGrams: number) => summary(table, req({ weightGrams, speed: "standard" }));
      assert.deepEqual(standard(1), [["standard", 500n]]);
      assert.deepEqual(standard(1000), [["standard", 500n]]);
      assert.deepEqual(standard(1001), [["standard", 900n]]);
      assert.deepEqual(standard(5000), [["standard", 900n]]);
    });

    it("does not offer a speed for a parcel heavier than all its brackets", () => {
      assert.deepEqual(summary(table, req({ weightGrams: 2000 })), [["standard", 900n], ["express", 1800n]], "overnight takes up to 1 kg");
      assert.deepEqual(summary(table, req({ weightGrams: 5001 })), []);
    });

    it("refuses a weight below one gram naming total_weight_grams", () => {
      assert.throws(() => quote(table, req({ weightGrams: 0 }), NOW), invalid("total_weight_grams"));
      assert.throws(() => quote(table, req({ weightGrams: 1.5 }), NOW), invalid("total_weight_grams"));
    });
  });

  describe("speeds and currencies", () => {
    it("quotes every speed of the zone cheapest first, or just the one asked for", () => {
      const all = quote(table, req(), NOW);
      assert.deepEqual(all.map((o) => [o.speed, o.priceMinor, o.carrier, o.currency]), [
        ["standard", 500n, "sandbox", "USD"],
        ["express", 1200n, "fastco", "USD"],
        ["overnight", 2500n, "fastco", "USD"],
      ]);
      assert.deepEqual(summary(table, req({ speed: "express" })), [["express", 1200n]]);
      assert.deepEqual(summary(table, req({ country: "DE", speed: "express" })), [], "the zone has no express");
    });

    it("orders by price, not by speed, when a faster service is cheaper", () => {
      const promo: RateTable = {
        ...table,
        brackets: table.brackets.map((b) => (b.zone === "DOM" && b.speed === "express" ? { ...b, priceMinor: 100n } : b)),
      };
      assert.deepEqual(summary(promo, req()).map(([speed]) => speed), ["express", "standard", "overnight"]);
    });

    it("prices in the currency asked for, and refuses one the table has no rates in", () => {
      assert.deepEqual(summary(table, req({ country: "DE", currency: "EUR" })), [["standard", 1400n]]);
      assert.deepEqual(summary(table, req({ country: "DE", currency: "USD" })), [["standard", 1600n]]);
      assert.deepEqual(summary(table, req({ currency: "EUR" })), [], "the US zone has no EUR prices");
      assert.throws(() => quote(table, req({ currency: "JPY" }), NOW), invalid("currency_code", /rates exist in EUR, USD/));
    });
  });

  describe("estimates", () => {
    it("counts business days, skipping weekends", () => {
      const friday = new Date("2026-01-09T15:30:00Z");
      assert.equal(addBusinessDays(friday, 1).toISOString(), "2026-01-12T15:30:00.000Z");
      assert.equal(addBusinessDays(NOW, 5).toISOString(), "2026-01-14T10:00:00.000Z");
      assert.equal(addBusinessDays(NOW, 0).toISOString(), NOW.toISOString());
    });

    it("is deterministic: the same table, request and time give the same options", () => {
      const [standard, express] = quote(table, req(), NOW);
      assert.equal(standard?.estimatedDelivery.toISOString(), "2026-01-14T10:00:00.000Z");
      assert.deepEqual([standard?.minTransitDays, standard?.maxTransitDays], [3, 5]);
      assert.equal(express?.estimatedDelivery.toISOString(), "2026-01-09T10:00:00.000Z");
      assert.deepEqual(quote(table, req(), NOW), quote(table, req(), new Date(NOW.getTime())));
    });
  });

  describe("shipment status", () => {
    const t0 = new Date("2026-01-07T10:00:00Z");
    const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
    const state = (status: ShipmentStatus, over: Partial<StatusState> = {}): StatusState => ({
      status,
      statusTime: t0,
      shippedAt: undefined,
      deliveredAt: undefined,
      ...over,
    });
    const shipped = (status: ShipmentStatus) => state(status, { shippedAt: t0 });

    it("follows carrier scans forward and into exception and out of it", () => {
      assert.equal(statusAfterScan(state("label_created"), "shipped", at(1)), "shipped");
      assert.equal(statusAfterScan(shipped("in_transit"), "exception", at(1)), "exception");
      assert.equal(statusAfterScan(shipped("exception"), "out_for_delivery", at(1)), "out_for_delivery");
      // A failed delivery attempt goes back to the depot: newer news wins.
      assert.equal(statusAfterScan(shipped("out_for_delivery"), "in_transit", at(1)), "in_transit");
    });

    it("ignores scans older than the status, scans after a final state, and carrier cancellations", () => {
      assert.equal(statusAfterScan(shipped("in_transit"), "shipped", new Date(t0.getTime() - 1)), "in_transit");
      assert.equal(statusAfterScan(shipped("delivered"), "exception", at(5)), "delivered");
      assert.equal(statusAfterScan(state("cancelled"), "shipped", at(5)), "cancelled");
      assert.equal(statusAfterScan(state("label_created"), "cancelled", at(5)), "label_created");
      assert.equal(statusAfterScan(shipped("in_transit"), "label_created", at(5)), "in_transit", "the carrier has it");
    });

    it("lets an admin force any live status, but not out of a final one nor back before pickup", () => {
      assert.equal(forcedStatus(shipped("in_transit"), "exception"), "exception");
      assert.equal(forcedStatus(state("label_created"), "cancelled"), "cancelled");
      assert.equal(forcedStatus(shipped("delivered"), "delivered"), "delivered", "asking for the current status is a no-op");
      const refused = (err: ShopError) => err.code === Code.FAILED_PRECONDITION;
      assert.throws(() => forcedStatus(shipped("delivered"), "exception"), refused);
      assert.throws(() => forcedStatus(state("cancelled"), "pending"), refused);
      assert.throws(() => forcedStatus(shipped("in_transit"), "cancelled"), refused);
      assert.throws(() => forcedStatus(shipped("exception"), "label_created"), refused);
    });

    it("says shipped once and delivered once, whichever path the parcel takes", () => {
      // The carrier skipped the pickup scan.
      const inTransit = transition(state("label_created"), "in_transit", at(1));
      assert.deepEqual([inTransit.shipped, inTransit.delivered, inTransit.shippedAt], [true, false, at(1)]);
      const out = transition(inTransit, "out_for_delivery", at(2));
      assert.deepEqual([out.shipped, out.delivered, out.shippedAt], [false, false, at(1)]);
      const delivered = transition(out, "delivered", at(3));
      assert.deepEqual([delivered.shipped, delivered.delivered, delivered.deliveredAt], [false, true, at(3)]);
      assert.deepEqual([transition(delivered, "delivered", at(4)).delivered], [false]);
      // Straight to delivered: both, once.
      const direct = transition(state("pending"), "delivered", at(1));
      assert.deepEqual([direct.shipped, direct.delivered], [true, true]);
      // An exception before pickup is not a shipment.
      assert.equal(transition(state("label_created"), "exception", at(1)).shipped, false);
    });

    it("keeps the newest status time", () => {
      assert.deepEqual(transition(shipped("in_transit"), "in_transit", new Date(t0.getTime() - 1)).statusTime, t0);
      assert.deepEqual(transition(shipped("in_transit"), "in_transit", at(3)).statusTime, at(3));
    });
  });

  describe("configuration", () => {
    it("reads durations, and refuses intervals of zero naming the variable", () => {
      const config = loadConfig(shippingConfig, { SHIPPING_SANDBOX_STEP: "2m", SHIPPING_RATES_CACHE: "0" });
      assert.deepEqual([config.SHIPPING_SANDBOX_STEP, config.SHIPPING_RATES_CACHE, config.SHIPPING_TRACKING_INTERVAL], [120_000, 0, 5000]);
      assert.throws(() => loadConfig(shippingConfig, { SHIPPING_TRACKING_INTERVAL: "0", SHIPPING_SANDBOX_STEP: "soon" }), (err: Error) => {
        assert.match(err.message, /SHIPPING_TRACKING_INTERVAL is malformed: expected a positive duration/);
        assert.match(err.message, /SHIPPING_SANDBOX_STEP is malformed/);
        return true;
      });
    });
  });

  describe("sandbox carrier", () => {
    const step = 30_000;
    let now = new Date("2026-01-07T10:00:00Z");
    const carrier = createSandboxCarrier({ stepMs: step, clock: () => now });
    const destination = { recipientName: "A", line1: "1 Main St", line2: "", city: "Springfield", region: "IL", postalCode: "62701", countryCode: "US", phone: "" };
    const shipmentId = "0b6f2f3e-7f53-4a8e-9d55-3c1b6b0c9a11";

    it("issues the same label for the same shipment", async () => {
      const label = await carrier.createLabel({ shipmentId, speed: "standard", destination, items: [], totalWeightGrams: 0 });
      assert.equal(label.trackingNumber, sandboxTrackingNumber(shipmentId));
      assert.match(label.trackingNumber, /^SBX[0-9A-F]{16}$/);
      assert.equal((await carrier.createLabel({ shipmentId, speed: "express", destination, items: [], totalWeightGrams: 5 })).trackingNumber, label.trackingNumber);
      assert.notEqual(sandboxTrackingNumber("5e0d3c4b-1111-4a8e-9d55-3c1b6b0c9a11"), label.trackingNumber);
    });

    it("moves a parcel one step per interval from its label, then has nothing more to say", async () => {
      const labelCreatedAt = new Date(now);
      const parcel = { shipmentId, trackingNumber: "SBXTEST", labelCreatedAt, destination };
      const after = (steps: number) => new Date(labelCreatedAt.getTime() + steps * step);

      let r = await carrier.track(parcel);
      assert.deepEqual([r.scans.length, r.nextCheckAt], [0, after(1)]);

      now = new Date(after(2.5));
      r = await carrier.track(parcel);
      assert.deepEqual(r.scans.map((s) => [s.eventId, s.status, s.eventTime]), [
        ["SBXTEST-1", "shipped", after(1)],
        ["SBXTEST-2", "in_transit", after(2)],
      ]);
      assert.deepEqual(r.nextCheckAt, after(3));

      now = new Date(after(40));
      r = await carrier.track(parcel);
      assert.deepEqual(r.scans.map((s) => s.status), ["shipped", "in_transit", "out_for_delivery", "delivered"]);
      assert.equal(r.scans[3]?.location, "Springfield, IL, US");
      assert.equal(r.nextCheckAt, undefined);
    });
  });
});
