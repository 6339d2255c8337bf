// The catalog's rules in memory: product checks naming the field, status changes, what an
// update changed, SKU replacement, derived facets, typo correction, page tokens, demo data.
import assert from "node:assert/strict";
import { Code, type ShopError } from "../../../platform/errors.js";
import { decodePageToken, encodePageToken, pageOf } from "../page-token.js";
import {
  changedFields,
  checkDeletable,
  checkProduct,
  checkStatusChange,
  priceChanges,
  productFacets,
  replaceSkus,
  visibleTo,
  type ProductFields,
  type SkuFields,
} from "../product-rules.js";
import { demoCatalog, demoSkuCodes, DEMO_PRODUCT_COUNT } from "../seed.js";
import { generateProduct } from "../seed-data.js";
import { bestCorrection, editDistance, maxEdits, queryWords, searchWords } from "../search-terms.js";

const eur = (amountMinor: bigint) => ({ amountMinor, currency: "EUR" });
const skuOf = (code: string, price: bigint, more: Partial<SkuFields> = {}): SkuFields => ({ code, name: code, price: eur(price), attributes: {}, weightGrams: 1, active: true, ...more });
const product = (more: Partial<ProductFields> = {}): ProductFields => ({
  slug: "p",
  name: "P",
  description: "",
  categoryIds: [],
  imageUrls: [],
  status: "active",
  skus: [skuOf("A", 100n)],
  ...more,
});
const fields = (fn: () => void): string[] => {
  try {
    fn();
  } catch (err) {
    return (err as ShopError).violations.map((v) => v.field);
  }
  return [];
};

describe("catalog rules", () => {
  describe("products", () => {
    it("names every offending field, with the request's prefix", () => {
      assert.deepEqual(fields(() => checkProduct(product({ name: " " }))), ["name"]);
      assert.deepEqual(fields(() => checkProduct(product({ name: " " }), "product.")), ["product.name"]);
      assert.deepEqual(
        fields(() =>
          checkProduct(product({ imageUrls: ["https://ok.test/a.jpg", "ftp://x/b"], skus: [skuOf("A", 1n), skuOf("A", 2n), skuOf("B", 1n, { price: { amountMinor: 1n, currency: "USD" } })] })),
        ),
        ["image_urls[1]", "skus[1].code", "skus[2].price.currency_code"],
      );
      assert.deepEqual(fields(() => checkProduct(product({ skus: [skuOf("A", 1n, { attributes: { "a=b": "c" } })] }))), ["skus[0].attributes"]);
      assert.deepEqual(fields(() => checkProduct(product())), []);
    });

    it("allows DRAFT <-> ACTIVE, archiving only through ArchiveProduct, and nothing out of ARCHIVED", () => {
      assert.doesNotThrow(() => checkStatusChange("draft", "active"));
      assert.doesNotThrow(() => checkStatusChange("active", "draft"));
      assert.doesNotThrow(() => checkStatusChange("archived", "archived"));
      assert.throws(() => checkStatusChange("active", "archived"), (e: ShopError) => e.code === Code.INVALID_ARGUMENT);
      assert.throws(() => checkStatusChange("archived", "active"), (e: ShopError) => e.code === Code.FAILED_PRECONDITION);
    });

    it("deletes only drafts never published", () => {
      assert.doesNotThrow(() => checkDeletable({ status: "draft", publishedAt: undefined }));
      assert.throws(() => checkDeletable({ status: "draft", publishedAt: new Date() }), (e: ShopError) => e.code === Code.FAILED_PRECONDITION);
      assert.throws(() => checkDeletable({ status: "archived", publishedAt: undefined }), (e: ShopError) => e.code === Code.FAILED_PRECONDITION);
    });

    it("shows ACTIVE to everyone, ARCHIVED by id only, DRAFT to admins only", () => {
      const shopper = { admin: false };
      assert.equal(visibleTo({ status: "active" }, shopper, "slug"), true);
      assert.equal(visibleTo({ status: "archived" }, shopper, "id"), true);
      assert.equal(visibleTo({ status: "archived" }, shopper, "slug"), false);
      assert.equal(visibleTo({ status: "draft" }, shopper, "id"), false);
      assert.equal(visibleTo({ status: "draft" }, { admin: true }, "slug"), true);
    });

    it("replaces the SKU list, keeping left-out SKUs deactivated, and reports what changed", () => {
      const before = [skuOf("A", 100n), skuOf("B", 200n), skuOf("C", 300n)];
      const after = replaceSkus(before, [skuOf("B", 250n), skuOf("D", 50n)]);
      assert.deepEqual(after.map((s) => [s.code, s.active]), [["B", true], ["D", true], ["A", false], ["C", false]]);
      assert.deepEqual(priceChanges(before, after), [{ sku: "B", oldPrice: eur(200n), newPrice: eur(250n) }]);
      assert.deepEqual(changedFields(product({ skus: before }), product({ skus: after, name: "Q" })), ["name", "skus"]);
      assert.deepEqual(changedFields(product(), product()), []);
      assert.deepEqual(changedFields(product({ skus: [skuOf("A", 1n, { attributes: { a: "1" } })] }), product({ skus: [skuOf("A", 1n, { attributes: { a: "2" } })] })), ["skus"]);
    });

    it("derives the lowest active price, the attribute tags and the searchable extra text", () => {
      const f = productFacets([
        skuOf("A", 900n, { active: false, name: "Blue / M", attributes: { Color: "Blue", size: "M" } }),
        skuOf("B", 1200n, { name: "Red / M", attributes: { color: "red", size: "M" } }),
      ]);
      assert.deepEqual([f.currency, f.minPriceMinor, f.attrTags], ["EUR", 1200n, ["color=blue", "color=red", "size=m"]]);
      assert.match(f.searchExtra, /Blue \/ M.*Red/);
      assert.equal(productFacets([skuOf("A", 900n, { active: false }), skuOf("B", 700n, { active: false })]).minPriceMinor, 700n);
    });
  });

  describe("typo correction", () => {
    it("counts a swap of neighbours as one edit", () => {
      assert.equal(editDistance("shrit", "shirt"), 1);
      assert.equal(editDistance("shrit", "shrimp"), 2);
      assert.equal(editDistance("kettle", "ketle"), 1);
      assert.equal(editDistance("", "abc"), 3);
      assert.equal(editDistance("same", "same"), 0);
    });

    it("picks the fewest edits, prefers the same first letter, and leaves short words alone", () => {
      assert.equal(bestCorrection("shrit", ["shrimp", "shorts", "shirt"]), "shirt");
      assert.equal(bestCorrection("lamp", ["camp", "lamb"]), "lamb");
      assert.equal(bestCorrection("xylophone", ["shirt"]), undefined);
      assert.equal(bestCorrection("tee", ["tea"]), undefined);
      assert.equal(bestCorrection("shirt", ["shirt", "shirts"]), undefined);
      assert.deepEqual([maxEdits(3), maxEdits(5), maxEdits(9)], [0, 1, 2]);
    });

    it("splits text into lower-case words of letters and digits", () => {
      assert.deepEqual(queryWords("T-Shirt, 100% Baumwolle — größe XL"), ["t", "shirt", "100", "baumwolle", "größe", "xl"]);
      assert.deepEqual(searchWords("a shirt, a SHIRT 42"), ["shirt"]);
    });
  });

  describe("page tokens", () => {
    it("round-trip their key and refuse tokens of another list or of another shape", () => {
      const token = encodePageToken("products:name:abc", { key: ["blue shirt"], id: "00000000-0000-4000-8000-000000000001" });
      assert.deepEqual(decodePageToken(token, "products:name:abc", ["string"]), { key: ["blue shirt"], id: "00000000-0000-4000-8000-000000000001" });
      assert.equal(decodePageToken("", "x", ["string"]), undefined);
      for (const [t, list, shape] of [[token, "products:name:xyz", ["string"]], [token, "products:name:abc", ["number"]], ["not-base64-json", "x", ["string"]]] as const) {
        assert.throws(() => decodePageToken(t, list, shape), (e: ShopError) => e.code === Code.INVALID_ARGUMENT && e.violations[0]?.field === "page_token");
      }
    });

    it("gives a next token only when there is another row", () => {
      const rows = [1, 2, 3].map((n) => ({ id: `00000000-0000-4000-8000-00000000000${n}`, n }));
      assert.equal(pageOf(rows, 3, "l", (r) => [r.n]).nextPageToken, "");
      const { page, nextPageToken } = pageOf(rows, 2, "l", (r) => [r.n]);
      assert.equal(page.length, 2);
      assert.deepEqual(decodePageToken(nextPageToken, "l", ["number"]), { key: [2], id: rows[1]!.id });
    });
  });

  describe("generated catalogs", () => {
    it("are deterministic, valid by the product rules, with unique slugs and SKU codes", () => {
      const demo = demoCatalog(new Date(0));
      assert.equal(demo.length, DEMO_PRODUCT_COUNT);
      assert.deepEqual(demoCatalog(new Date(0)), demo);
      for (const p of demo) {
        checkProduct(p);
        assert.match(p.slug, /^[a-z0-9]+(-[a-z0-9]+)*$/);
        assert.ok(p.skus.length >= 1 && p.skus.length <= 8);
        assert.ok(p.skus.every((s) => s.price.currency === "EUR" && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s.code)));
      }
      assert.equal(new Set(demo.map((p) => p.slug)).size, demo.length);
      const codes = demoSkuCodes();
      assert.equal(new Set(codes).size, codes.length);
      assert.ok(codes.length > 2 * DEMO_PRODUCT_COUNT, "several SKUs per product");
      const large = Array.from({ length: 2000 }, (_, n) => generateProduct("large", n, new Map(), new Date(0)));
      assert.equal(new Set([...large.map((p) => p.slug), ...demo.map((p) => p.slug)]).size, 2000 + demo.length);
      assert.ok(large.some((p) => p.status === "draft") && large.some((p) => p.status === "archived"));
    });
  });
});
