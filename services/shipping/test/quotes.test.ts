// QuoteShipping on a real port against real PostgreSQL, priced from the default rate table that
// migrations/001_rates.sql seeds, with the service's clock frozen so estimates are exact.
import assert from "node:assert/strict";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ShippingSpeed } from "../../../gen/shop/common/v1/shipping_speed_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { QuoteShippingRequestSchema, ShippingOption } from "../../../gen/shop/shipping/v1/shipping_pb.js";
import { Code } from "../../../platform/errors.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { deadAddress, rejectionOf, startShipping, startUsersDouble, type RunningShipping, type ShippingClient, type UsersDouble } from "./helpers.js";

// A Wednesday.
const NOW = new Date("2026-01-07T10:00:00Z");

type QuoteInit = MessageInitShape<typeof QuoteShippingRequestSchema>;

describe("shipping quotes (real PostgreSQL, the seeded rate table)", () => {
  let tdb: TestDatabase;
  let users: UsersDouble;
  let shipping: RunningShipping;
  let client: ShippingClient;

  before(async () => {
    tdb = await createTestDatabase("shipping_quotes");
    users = await startUsersDouble();
    shipping = await startShipping({ databaseUrl: tdb.url, users: users.address, catalog: await deadAddress() }, { clock: () => NOW });
    client = shipping.client;
  });

  after(async () => {
    await shipping?.stop();
    await users?.stop();
    await tdb?.drop();
  });

  const quote = async (over: QuoteInit = {}) =>
    (await client.quoteShipping({ countryCode: "US", totalWeightGrams: 1000, currencyCode: "USD", ...over })).options;
  const summary = (options: readonly ShippingOption[]) =>
    options.map((o) => [ShippingSpeed[o.speed], o.price?.amountMinor, o.price?.currencyCode]);

  it("quotes every speed to a US address, cheapest first, with transit days and the latest delivery date", async () => {
    const options = await quote({ region: "IL", postalCode: "62701" });
    assert.deepEqual(summary(options), [
      ["STANDARD", 699n, "USD"],
      ["EXPRESS", 1299n, "USD"],
      ["OVERNIGHT", 2499n, "USD"],
    ]);
    assert.deepEqual(
      options.map((o) => [o.carrier, o.minTransitDays, o.maxTransitDays, timestampDate(o.estimatedDeliveryTime!).toISOString()]),
      [
        ["sandbox", 3, 5, "2026-01-14T10:00:00.000Z"],
        ["sandbox", 2, 3, "2026-01-12T10:00:00.000Z"],
        ["sandbox", 1, 1, "2026-01-08T10:00:00.000Z"],
      ],
    );
  });

  it("prices by zone: Alaska as remote (no overnight), Germany as Europe, Japan as the rest of the world", async () => {
    assert.deepEqual(summary(await quote({ region: "AK" })), [["STANDARD", 1199n, "USD"], ["EXPRESS", 2299n, "USD"]]);
    assert.deepEqual(summary(await quote({ region: "alaska" })), [["STANDARD", 1199n, "USD"], ["EXPRESS", 2299n, "USD"]]);
    assert.deepEqual(summary(await quote({ countryCode: "DE", currencyCode: "EUR" })), [["STANDARD", 1799n, "EUR"], ["EXPRESS", 3599n, "EUR"]]);
    assert.deepEqual(summary(await quote({ countryCode: "JP" })), [["STANDARD", 2499n, "USD"], ["EXPRESS", 4999n, "USD"]]);
  });

  it("quotes only the speed asked for, and in any currency the table has", async () => {
    assert.deepEqual(summary(await quote({ speed: ShippingSpeed.EXPRESS })), [["EXPRESS", 1299n, "USD"]]);
    assert.deepEqual(summary(await quote({ totalWeightGrams: 500, speed: ShippingSpeed.STANDARD, currencyCode: "GBP" })), [["STANDARD", 399n, "GBP"]]);
  });

  it("prices by weight bracket and drops speeds a parcel is too heavy for", async () => {
    assert.deepEqual(summary(await quote({ totalWeightGrams: 500, speed: ShippingSpeed.STANDARD })), [["STANDARD", 499n, "USD"]]);
    assert.deepEqual(summary(await quote({ totalWeightGrams: 501, speed: ShippingSpeed.STANDARD })), [["STANDARD", 699n, "USD"]]);
    assert.deepEqual((await quote({ totalWeightGrams: 10_001 })).map((o) => ShippingSpeed[o.speed]), ["STANDARD", "EXPRESS"]);
    assert.equal((await quote({ totalWeightGrams: 30_000 })).length, 2);
    assert.deepEqual(await quote({ totalWeightGrams: 30_001 }), [], "heavier than every bracket: no options");
  });

  it("gives the same answer to the same question", async () => {
    const req = { countryCode: "CA", region: "ON", totalWeightGrams: 2345, currencyCode: "USD" };
    assert.deepEqual(await quote(req), await quote(req));
  });

  it("refuses a code that is no country, a currency without rates and a bad weight, naming the field", async () => {
    const violation = async (over: QuoteInit) => {
      const err = await rejectionOf(quote(over));
      assert.equal(err.code, Code.INVALID_ARGUMENT, err.message);
      return err.violations.map((v) => v.field);
    };
    assert.deepEqual(await violation({ countryCode: "ZZ" }), ["country_code"]);
    assert.deepEqual(await violation({ countryCode: "UK" }), ["country_code"]);
    assert.deepEqual(await violation({ countryCode: "us" }), ["country_code"], "the contract's pattern, checked by the validator");
    assert.deepEqual(await violation({ currencyCode: "JPY" }), ["currency_code"]);
    assert.deepEqual(await violation({ totalWeightGrams: 0 }), ["total_weight_grams"]);
  });
});
