// Full-text search and related products on a real port and real PostgreSQL (tsvector, pg_trgm):
// ranking, stemming, every word required, typos corrected from the catalog's own vocabulary,
// filters, keyset pages over equal ranks; related products ranked by shared categories and
// attributes.
import assert from "node:assert/strict";
import { ProductStatus, type Product } from "../../../gen/shop/catalog/v1/product_pb.js";
import { Code } from "../../../platform/errors.js";
import { seedLargeCatalog } from "../seed.js";
import { productInput, rejectionOf, sku, startCatalog, uniqueSlug, type ProductMore, type RunningCatalog } from "./helpers.js";

/** Ids in the search's tie order: newest first, then the greater id. */
const newestFirst = (products: readonly Product[]) =>
  [...products]
    .sort((a, b) => Number(b.createTime!.seconds - a.createTime!.seconds) || b.createTime!.nanos - a.createTime!.nanos || (b.id > a.id ? 1 : -1))
    .map((p) => p.id);

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
    await create("storageBox", { name: "Oak Storage Box", description: "Keeps things tidy.", skus: [sku(s(), 3500n)] });
    await create("boxerShorts", { name: "Boxer Shorts", description: "Three in a pack.", skus: [sku(s(), 1900n)] });
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

  it("corrects a word only when the query as typed finds nothing: 'boxes' is the box by its stem, not a boxer one edit away", async () => {
    assert.deepEqual(await search("boxes"), ids("storageBox"));
    assert.deepEqual(await search("boxxer"), ids("boxerShorts"));
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
    assert.deepEqual(seen, newestFirst(Array.from({ length: 12 }, (_, i) => made[`plain${i}`]!)));
    const other = await rejectionOf(cat.client.searchProducts({ query: "something else", pageToken: (await cat.client.searchProducts({ query: "plain", pageSize: 1 })).nextPageToken }));
    assert.equal(other.code, Code.INVALID_ARGUMENT);
  });

  it("searches what products say now: renamed, repriced, archived", async () => {
    const p = await create("quartz", { name: "Quartz Lamp", description: "Glows.", skus: [sku(uniqueSlug("q"), 2000n)] });
    assert.deepEqual(await search("quartz"), [p.id]);
    await cat.client.updateProduct({ id: p.id, product: { name: "Basalt Lamp" }, updateMask: { paths: ["name"] } }, cat.admin);
    assert.deepEqual([await search("quartz"), await search("basalt")], [[], [p.id]]);
    await cat.client.updateProduct({ id: p.id, product: { skus: [sku(p.skus[0]!.code, 9000n)] }, updateMask: { paths: ["skus"] } }, cat.admin);
    assert.deepEqual(await search("basalt", { maxPrice: { amountMinor: 5000n, currencyCode: "EUR" } }), []);
    await cat.client.archiveProduct({ id: p.id }, cat.admin);
    assert.deepEqual(await search("basalt"), []);
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

describe("catalog service: search windows (real PostgreSQL)", () => {
  let cat: RunningCatalog;
  let now = Date.parse("2026-01-01T00:00:00Z");
  const made: Record<string, Product> = {};

  before(async () => {
    // A window of three matches, and a clock a minute apart per product, so the order is known.
    cat = await startCatalog({}, { searchWindow: 3, clock: () => new Date((now += 60_000)) });
    const create = async (key: string, more: ProductMore) => {
      made[key] = (await cat.client.createProduct(productInput({ skus: [sku(uniqueSlug("w"), 1000n)], ...more }), cat.admin)).product!;
    };
    await create("linenShirt", { name: "Linen Shirt", description: "Cool in summer." });
    for (let i = 1; i <= 4; i++) await create(`scarf${i}`, { name: `Wool Scarf ${i}`, description: "Pairs well with linen." });
    for (let i = 0; i < 7; i++) await create(`tee${i}`, { name: "Plain Tee", description: "Nothing special." });
  });

  after(async () => {
    await cat?.stop();
  });

  const ids = (...keys: string[]) => keys.map((k) => made[k]!.id);
  const all = async (query: string, pageSize: number) => {
    const seen: string[] = [];
    let token = "";
    do {
      const res = await cat.client.searchProducts({ query, pageSize, pageToken: token });
      seen.push(...res.products.map((p) => p.id));
      token = res.nextPageToken;
    } while (token);
    return seen;
  };

  it("ranks each window of the newest matches, windows newest first", async () => {
    // Windows: scarves 4, 3, 2; then scarf 1 and the shirt, where the name match ranks first.
    const want = ids("scarf4", "scarf3", "scarf2", "linenShirt", "scarf1");
    assert.deepEqual(await all("linen", 50), want);
    for (const size of [1, 2, 3, 4]) assert.deepEqual(await all("linen", size), want, `pages of ${size}`);
  });

  it("pages equal ranks across windows without a repeat or a gap, newest first", async () => {
    const want = newestFirst(Array.from({ length: 7 }, (_, i) => made[`tee${i}`]!));
    for (const size of [1, 2, 3, 5, 7, 8]) assert.deepEqual(await all("plain tee", size), want, `pages of ${size}`);
  });

  it("refuses a token whose window start was tampered with", async () => {
    const { nextPageToken } = await cat.client.searchProducts({ query: "plain", pageSize: 1 });
    const raw = JSON.parse(Buffer.from(nextPageToken, "base64url").toString("utf8")) as { k: unknown[] };
    raw.k[1] = "not-a-uuid";
    const forged = Buffer.from(JSON.stringify(raw)).toString("base64url");
    const err = await rejectionOf(cat.client.searchProducts({ query: "plain", pageSize: 1, pageToken: forged }));
    assert.deepEqual([err.code, err.violations.map((v) => v.field)], [Code.INVALID_ARGUMENT, ["page_token"]]);
  });
});

describe("catalog service: search on a generated catalog larger than a window (real PostgreSQL)", () => {
  let cat: RunningCatalog;

  before(async () => {
    cat = await startCatalog();
    await seedLargeCatalog(cat.db, 5000);
  });

  after(async () => {
    await cat?.stop();
  });

  /** ts_rank of every ACTIVE match of `query`, computed over all of them (what ranking every match would give). */
  const exactRanks = async (query: string, where: string, params: unknown[]) => {
    const { rows } = await cat.db.query<{ id: string; rank: number }>(
      `SELECT id, ts_rank(search_vector, plainto_tsquery('english', $1)) AS rank FROM products
       WHERE status = 'active' AND search_vector @@ plainto_tsquery('english', $1) ${where}`,
      [query, ...params],
    );
    return new Map(rows.map((r) => [r.id, r.rank]));
  };

  it("shows only the best matches of all on the first page of typical queries, and every match across the pages", async () => {
    const cookware = (await cat.client.listCategories({ pageSize: 100 })).categories.find((c) => c.slug === "cookware")!.id;
    const any: [string, unknown[]] = ["", []];
    const cases: [string, Record<string, unknown>, [string, unknown[]]][] = [
      ...["shirt", "linen", "cotton", "lamp", "ceramic", "running shoes", "blue linen shirt"].map((q): [string, Record<string, unknown>, [string, unknown[]]] => [q, {}, any]),
      ["cast iron", { categoryId: cookware }, ["AND category_ids && ARRAY[$2::uuid]", [cookware]]],
      ["shirt", { maxPrice: { amountMinor: 5000n, currencyCode: "EUR" } }, ["AND currency_code = 'EUR' AND min_price_minor <= 5000", []]],
    ];
    for (const [query, more, [where, params]] of cases) {
      const exact = await exactRanks(query, where, params);
      const first = await cat.client.searchProducts({ query, pageSize: 20, ...more });
      assert.ok(first.products.length > 0, query);
      // The ranks shown are the best ranks of all matches, best first (which of equals is shown may differ).
      const shown = first.products.map((p) => exact.get(p.id));
      assert.deepEqual(shown, [...exact.values()].sort((a, b) => b - a).slice(0, 20), query);
      const seen: string[] = [...first.products.map((p) => p.id)];
      for (let token = first.nextPageToken; token; ) {
        const res = await cat.client.searchProducts({ query, pageSize: 100, pageToken: token, ...more });
        seen.push(...res.products.map((p) => p.id));
        token = res.nextPageToken;
      }
      assert.equal(seen.length, exact.size, `${query}: every match once`);
      assert.deepEqual(new Set(seen), new Set(exact.keys()), query);
    }
  });
});
