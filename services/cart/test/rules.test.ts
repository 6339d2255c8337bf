// The cart's rules in memory: limits, one currency, merge arithmetic, and the priced view
// (totals in minor units, warnings, degraded views when a peer is down).
import assert from "node:assert/strict";
import { Code, type ShopError } from "../../../platform/errors.js";
import { hashCartToken, newCartToken, ownerKey, requestOwner } from "../cart-owner.js";
import { checkSetQuantity, planMerge, quantityAfterAdd, type CartLimits, type LineQuantity } from "../cart-rules.js";
import { buildCartView, type StoredCart, type StoredLine } from "../cart-view.js";
import type { SkuInfo, SkuLookup } from "../catalog.js";
import { formatMoney } from "../../../platform/money.js";

const limits: CartLimits = { maxLines: 3, maxLineQuantity: 10 };
const usd = (sku: string, quantity: number): LineQuantity => ({ sku, quantity, currency: "USD" });
const code = (c: Code) => (err: ShopError) => err.code === c;

describe("cart rules", () => {
  describe("adding", () => {
    it("adds to an existing line and starts a new one otherwise", () => {
      assert.equal(quantityAfterAdd([usd("A", 4)], usd("A", 3), limits), 7);
      assert.equal(quantityAfterAdd([usd("A", 4)], usd("B", 3), limits), 3);
    });

    it("refuses more units of one item than the line limit, saying how many are in the cart", () => {
      assert.equal(quantityAfterAdd([usd("A", 4)], usd("A", 6), limits), 10);
      assert.throws(() => quantityAfterAdd([usd("A", 4)], usd("A", 7), limits), (err: ShopError) => {
        assert.equal(err.code, Code.FAILED_PRECONDITION);
        assert.match(err.message, /at most 10 .*\(4 already in the cart\)/);
        return true;
      });
    });

    it("refuses a new line beyond the line count but still grows existing lines", () => {
      const full = [usd("A", 1), usd("B", 1), usd("C", 1)];
      assert.throws(() => quantityAfterAdd(full, usd("D", 1), limits), code(Code.FAILED_PRECONDITION));
      assert.equal(quantityAfterAdd(full, usd("C", 2), limits), 3);
    });

    it("keeps one currency per cart", () => {
      assert.throws(() => quantityAfterAdd([usd("A", 1)], { sku: "B", quantity: 1, currency: "EUR" }, limits), (err: ShopError) => {
        assert.equal(err.code, Code.FAILED_PRECONDITION);
        assert.match(err.message, /USD.*EUR/);
        return true;
      });
      // The only line's own SKU re-priced in another currency is not a mix.
      assert.equal(quantityAfterAdd([usd("A", 1)], { sku: "A", quantity: 1, currency: "EUR" }, limits), 2);
    });

    it("rejects a quantity set above the line limit as an invalid argument", () => {
      checkSetQuantity(10, limits);
      assert.throws(() => checkSetQuantity(11, limits), (err: ShopError) => err.code === Code.INVALID_ARGUMENT && err.violations[0]?.field === "quantity");
    });
  });

  describe("merging a guest cart into a user's", () => {
    it("adds quantities of the same SKU and appends new SKUs in the guest cart's order", () => {
      const plan = planMerge([usd("A", 2), usd("B", 1)], [usd("C", 1), usd("A", 3), usd("D", 2)], { maxLines: 10, maxLineQuantity: 10 });
      assert.deepEqual(plan.updated, [{ sku: "A", quantity: 5 }]);
      assert.deepEqual(plan.added, [{ sku: "C", quantity: 1 }, { sku: "D", quantity: 2 }]);
      assert.deepEqual(plan.dropped, []);
    });

    it("caps summed quantities at the line limit instead of failing the sign-in", () => {
      const plan = planMerge([usd("A", 8)], [usd("A", 5), usd("B", 12)], limits);
      assert.deepEqual(plan.updated, [{ sku: "A", quantity: 10 }]);
      assert.deepEqual(plan.added, [{ sku: "B", quantity: 10 }]);
    });

    it("leaves a line unchanged when it is already at the limit", () => {
      assert.deepEqual(planMerge([usd("A", 10)], [usd("A", 1)], limits).updated, []);
    });

    it("leaves out new lines beyond the line count, and lines in another currency", () => {
      const plan = planMerge([usd("A", 1), usd("B", 1)], [{ sku: "X", quantity: 1, currency: "EUR" }, usd("C", 1), usd("D", 1)], limits);
      assert.deepEqual(plan.added, [{ sku: "C", quantity: 1 }]);
      assert.deepEqual(plan.dropped, [
        { sku: "X", reason: "currency" },
        { sku: "D", reason: "line_limit" },
      ]);
    });

    it("gives an empty user cart the guest cart's currency", () => {
      const plan = planMerge([], [{ sku: "X", quantity: 2, currency: "EUR" }], limits);
      assert.deepEqual(plan.added, [{ sku: "X", quantity: 2 }]);
    });
  });

  describe("owners and tokens", () => {
    it("makes 256-bit tokens and keys guest carts by the token's SHA-256 only", () => {
      const token = newCartToken();
      assert.match(token, /^ct_[A-Za-z0-9_-]{43}$/);
      assert.notEqual(newCartToken(), token);
      const key = ownerKey({ kind: "guest", token });
      assert.equal(key, `g:${hashCartToken(token)}`);
      assert.ok(!key.includes(token.slice(3)));
      assert.equal(ownerKey({ kind: "user", userId: "u1" }), "u:u1");
    });

    it("uses a signed-in caller's own cart whatever token the request carries", () => {
      assert.deepEqual(requestOwner("u1", "ct_someone-elses"), { kind: "user", userId: "u1" });
      assert.deepEqual(requestOwner(undefined, "ct_x"), { kind: "guest", token: "ct_x" });
      assert.equal(requestOwner(undefined, ""), undefined);
    });
  });
});

describe("cart view", () => {
  const addedAt = new Date("2030-01-01T00:00:00Z");
  const line = (sku: string, quantity: number, addedMinor: bigint, currency = "USD"): StoredLine => ({
    sku,
    quantity,
    productId: `p-${sku}`,
    productName: `Product ${sku}`,
    skuName: "Blue / M",
    imageUrl: "",
    addedPrice: { amountMinor: addedMinor, currency },
    addedAt,
  });
  const cart = (...lines: StoredLine[]): StoredCart => ({ id: "c1", userId: undefined, updatedAt: addedAt, expiresAt: addedAt, lines });
  const info = (sku: string, minor: bigint, extra: Partial<SkuInfo> = {}): SkuInfo => ({
    sku,
    productId: `p-${sku}`,
    productName: `Product ${sku}`,
    skuName: "Blue / M",
    imageUrl: `https://img/${sku}`,
    price: { amountMinor: minor, currency: "USD" },
    purchasable: true,
    ...extra,
  });
  const lookup = (...infos: SkuInfo[]): SkuLookup => ({ found: new Map(infos.map((i) => [i.sku, i])), missing: new Set() });
  const plenty = (...skus: string[]) => new Map(skus.map((s) => [s, 1000]));

  it("prices lines at current catalog prices and sums exactly in minor units", () => {
    // 0.10 three times is 0.30 exactly in integers, unlike in binary floating point.
    const view = buildCartView(cart(line("A", 3, 10n), line("B", 2, 1999n)), lookup(info("A", 10n), info("B", 1999n)), plenty("A", "B"));
    assert.deepEqual(view.lines.map((l) => l.lineTotal), [
      { amountMinor: 30n, currency: "USD" },
      { amountMinor: 3998n, currency: "USD" },
    ]);
    assert.deepEqual(view.subtotal, { amountMinor: 4028n, currency: "USD" });
    assert.equal(view.totalQuantity, 5);
    assert.deepEqual(view.warnings, []);
    assert.equal(view.lines[0]?.imageUrl, "https://img/A", "catalog data wins over the snapshot");
  });

  it("handles amounts beyond 2^53 minor units without losing a unit", () => {
    const big = 2n ** 60n + 1n;
    const view = buildCartView(cart(line("A", 3, big)), lookup(info("A", big)), plenty("A"));
    assert.equal(view.subtotal?.amountMinor, big * 3n);
  });

  it("warns about a changed price, with both prices", () => {
    const view = buildCartView(cart(line("A", 1, 1999n)), lookup(info("A", 1799n)), plenty("A"));
    assert.deepEqual(view.warnings, [{ code: "price_changed", sku: "A", message: "Price of Product A (Blue / M) changed from USD 19.99 to USD 17.99" }]);
    assert.equal(view.subtotal?.amountMinor, 1799n);
  });

  it("keeps a line whose SKU vanished or stopped selling, warns, and leaves it out of the subtotal", () => {
    const skus: SkuLookup = { found: new Map([["B", info("B", 500n, { purchasable: false })], ["C", info("C", 100n)]]), missing: new Set(["A"]) };
    const view = buildCartView(cart(line("A", 1, 1000n), line("B", 1, 500n), line("C", 1, 100n)), skus, new Map([["C", 5]]));
    assert.deepEqual(view.lines.map((l) => l.sku), ["A", "B", "C"]);
    assert.equal(view.lines[0]?.productName, "Product A", "the snapshot names a vanished SKU");
    assert.equal(view.lines[0]?.unitPrice, undefined);
    assert.deepEqual(view.warnings.map((w) => [w.code, w.sku]), [["unavailable", "A"], ["unavailable", "B"]]);
    assert.deepEqual(view.subtotal, { amountMinor: 100n, currency: "USD" });
    assert.equal(view.totalQuantity, 3);
  });

  it("flags a line the catalog now prices in another currency than the cart", () => {
    const view = buildCartView(cart(line("A", 1, 100n), line("B", 1, 100n)), lookup(info("A", 100n), info("B", 90n, { price: { amountMinor: 90n, currency: "EUR" } })), plenty("A", "B"));
    assert.deepEqual(view.warnings.map((w) => [w.code, w.sku]), [["unavailable", "B"]]);
    assert.deepEqual(view.subtotal, { amountMinor: 100n, currency: "USD" });
  });

  it("reports availability per line, with warnings for short and missing stock", () => {
    const view = buildCartView(cart(line("A", 2, 1n), line("B", 5, 1n), line("C", 1, 1n)), lookup(info("A", 1n), info("B", 1n), info("C", 1n)), new Map([["A", 2], ["B", 3]]));
    assert.deepEqual(view.lines.map((l) => l.availability), [
      { inStock: true, quantityAvailable: 2 },
      { inStock: false, quantityAvailable: 3 },
      { inStock: false, quantityAvailable: 0 },
    ]);
    assert.deepEqual(view.warnings.map((w) => [w.code, w.sku, w.message]), [
      ["insufficient_stock", "B", "Only 3 of Product B (Blue / M) available"],
      ["out_of_stock", "C", "Product C (Blue / M) is out of stock"],
    ]);
  });

  it("without inventory: availability unknown on every line and one warning, prices intact", () => {
    const view = buildCartView(cart(line("A", 1, 100n), line("B", 1, 100n)), lookup(info("A", 100n), info("B", 100n)), undefined);
    assert.ok(view.lines.every((l) => l.availability === undefined));
    assert.deepEqual(view.warnings.map((w) => [w.code, w.sku]), [["availability_unknown", ""]]);
    assert.deepEqual(view.subtotal, { amountMinor: 200n, currency: "USD" });
  });

  it("without the catalog: the snapshot without prices, no subtotal, one warning, stock still checked", () => {
    const view = buildCartView(cart(line("A", 2, 100n)), undefined, new Map([["A", 1]]));
    assert.equal(view.lines[0]?.productName, "Product A");
    assert.equal(view.lines[0]?.unitPrice, undefined);
    assert.equal(view.lines[0]?.lineTotal, undefined);
    assert.equal(view.subtotal, undefined);
    assert.deepEqual(view.warnings.map((w) => w.code), ["insufficient_stock", "price_unknown"]);
  });

  it("an empty cart has no subtotal and no warnings", () => {
    const view = buildCartView(cart(), undefined, undefined);
    assert.equal(view.subtotal, undefined);
    assert.deepEqual(view.warnings, []);
  });
});

describe("money formatting", () => {
  it("places the decimal point by the currency's minor unit", () => {
    assert.equal(formatMoney({ amountMinor: 1999n, currency: "USD" }), "USD 19.99");
    assert.equal(formatMoney({ amountMinor: 5n, currency: "EUR" }), "EUR 0.05");
    assert.equal(formatMoney({ amountMinor: 1500n, currency: "JPY" }), "JPY 1500");
    assert.equal(formatMoney({ amountMinor: 1234n, currency: "KWD" }), "KWD 1.234");
    assert.equal(formatMoney({ amountMinor: -250n, currency: "USD" }), "USD -2.50");
  });
});
