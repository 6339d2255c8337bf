// Full-text search and related products on a real port and real PostgreSQL (tsvector, pg_trgm):
// ranking, stemming, every word required, typos corrected from the catalog's own vocabulary,
// filters, keyset pages over equal ranks; related products ranked by shared categories and
// attributes.
import assert from "node:assert/strict";
import { ProductStatus, type Product } from "../../../gen/shop/catalog/v1/product_pb.js";
import { Code } from "../../../platform/errors.js";
import { productInput, rejectionOf, sku, startCatalog, uniqueSlug, type ProductMore, type RunningCatalog } from "./helpers.js";

describe("catalog service: search and related products (real PostgreSQL)", () => {
  let cat: RunningCatalog;
  const made: Record<string, Product> = {};
  let shirts = "";
  let kitchen = "";

  const create = async (key: string, more: ProductMore) => {
    made[key] = (await cat.client.createProduct(productInput(more), cat.admin)).product!;
    return made[key];
  };

  before(async () => {
    cat = await startCatalog();
    shirts = (await cat.client.createCategory({ slug: uniqueSlug("shirts"), name: "Shirts" }, cat.admin)).category!.id;
    kitchen = (await cat.client.createCategory({ slug: uniqueSlug("kitchen"), name: "Kitchen" }, cat.admin)).category!.id;
    const s = () => uniqueSlug("s");
    await create("linenShirt", { name: "Blue Linen Shirt", description: "Breathable linen for summer days.", categoryIds: [shirts], skus: [sku(s(), 4900n, { color: "blue", size: "M" })] });
    await create("cottonShirt", { name: "Cotton Oxford Shirt", description: "A button-down for the office.", categoryIds: [shirts], skus: [sku(s(), 3900n, { color: "white", size: "M" })] });
    await create("shorts", { name: "Linen Shorts", description: "Goes well with any shirt.", categoryIds: [shirts], skus: [sku(s(), 2900n, { color: "blue", size: "M" })] });
    await create("pan", { name: "Cast Iron Skillet", description: "Seasoned and ready for the stove.", categoryIds: [kitchen], skus: [sku(s(), 5900n, { color: "black" })] });
    await create("kettle", { name: "Copper Kettle", description: "Whistles when the water boils.", categoryIds: [kitchen], skus: [sku(s(), 7900n, { color: "blue" })] });
    await create("draftShirt", { name: "Unreleased Shirt", status: ProductStatus.DRAFT, categoryIds: [shirts], skus: [sku(s(), 100n, { color: "blue", size: "M" })] });
    // Twelve products that rank exactly alike, for paging over equal ranks.
    for (let i = 0; i < 12; i++) await create(`plain${i}`, { name: "Plain Tee", description: "Nothing special.", skus: [sku(s(), 1000n)] });
  });

  after(async () => {
    await cat?.stop();
  });

  const search = async (query: string, more: Record<string, unknown> = {}) => (await cat.client.searchProducts({ query, pageSize: 50, ...more })).products.map((p) => p.id);
  const ids = (...keys: string[]) => keys.map((k) => made[k]!.id);

  it("ranks a match in the name above a match in the description only", async () => {
    const found = await search("shirt");
    assert.deepEqual(new Set(found), new Set(ids("linenShirt", "cottonShirt", "shorts")));
    assert.equal(found[found.length - 1], made["shorts"]!.id, "the description-only match comes last");
  });

  it("matches stemmed words and requires every word", async () => {
    assert.deepEqual(new Set(await search("shirts")), new Set(ids("linenShirt", "cottonShirt", "shorts")));
    assert.deepEqual(await search("linen shirt"), ids("linenShirt", "shorts"));
    assert.deepEqual(await search("linen skillet"), []);
    // Attribute values are searchable too.
    assert.deepEqual(new Set(await search("white")), new Set(ids("cottonShirt")));
  });

  it("corrects typos from the catalog's vocabulary: 'shrit' finds shirts, 'skilet' the skillet, 'copepr ketle' the kettle", async () => {
    assert.deepEqual(new Set(await search("shrit")), new Set(ids("linenShirt", "cottonShirt", "shorts")));
    assert.deepEqual(await search("skilet"), ids("pan"));
    assert.deepEqual(await search("copepr ketle"), ids("kettle"));
    // The shorts are blue linen and their description mentions a shirt: second.
    assert.deepEqual(await search("blue linnen shirt"), ids("linenShirt", "shorts"));
    // Nothing close enough: no result rather than a wild guess.
    assert.deepEqual(await search("xylophone"), []);
  });

  it("filters search results by category and price, and never shows drafts", async () => {
    assert.deepEqual(await search("blue", { categoryId: kitchen }), ids("kettle"));
    assert.deepEqual(await search("shirt", { maxPrice: { amountMinor: 3900n, currencyCode: "EUR" } }), ids("cottonShirt", "shorts"));
    assert.ok(!(await search("unreleased")).includes(made["draftShirt"]!.id));
  });

  it("pages results of equal rank without a repeat or a gap", async () => {
    const seen: string[] = [];
    let token = "";
    do {
      const res = await cat.client.searchProducts({ query: "plain tee", pageSize: 5, pageToken: token });
      seen.push(...res.products.map((p) => p.id));
      token = res.nextPageToken;
    } while (token);
    const want = Array.from({ length: 12 }, (_, i) => made[`plain${i}`]!.id).sort().reverse();
    assert.deepEqual(seen, want);
    const other = await rejectionOf(cat.client.searchProducts({ query: "something else", pageToken: (await cat.client.searchProducts({ query: "plain", pageSize: 1 })).nextPageToken }));
    assert.equal(other.code, Code.INVALID_ARGUMENT);
  });

  it("refuses a query without a word", async () => {
    const err = await rejectionOf(cat.client.searchProducts({ query: "  ?! " }));
    assert.deepEqual([err.code, err.violations.map((v) => v.field)], [Code.INVALID_ARGUMENT, ["query"]]);
  });

  it("lists related products: same category first, more shared attributes higher, never itself or drafts", async () => {
    const res = await cat.client.listRelatedProducts({ productId: made["linenShirt"]!.id });
    // shorts: shirts + blue + M (12); cotton shirt: shirts + M (11); the draft shares most but is hidden.
    assert.deepEqual(res.products.map((p) => p.id), ids("shorts", "cottonShirt"));
    const page1 = await cat.client.listRelatedProducts({ productId: made["linenShirt"]!.id, pageSize: 1 });
    const page2 = await cat.client.listRelatedProducts({ productId: made["linenShirt"]!.id, pageSize: 1, pageToken: page1.nextPageToken });
    assert.deepEqual([...page1.products, ...page2.products].map((p) => p.id), ids("shorts", "cottonShirt"));
    assert.equal(page2.nextPageToken, "");
    assert.equal((await rejectionOf(cat.client.listRelatedProducts({ productId: made["draftShirt"]!.id }))).code, Code.NOT_FOUND);
  });
});
