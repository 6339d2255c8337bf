// Browsing on a real port, real PostgreSQL and real RabbitMQ (inventory's StockChanged keeps
// the in-stock flags): every sort paged to the end without a repeat or a gap (with ties in the
// sort keys), and the filters (category with its descendants, price range, in stock only).
import assert from "node:assert/strict";
import { ProductSort, type ListProductsRequest } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { ProductStatus, type Product } from "../../../gen/shop/catalog/v1/product_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ListProductsRequestSchema } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { Code } from "../../../platform/errors.js";
import { uniqueName } from "../../../platform/testing/names.js";
import { waitFor } from "../../../platform/testing/wait-for.js";
import { amqpUrl, productInput, rejectionOf, sku, startCatalog, startStockFeed, uniqueSlug, type RunningCatalog, type StockFeed } from "./helpers.js";
import { queueName } from "../../../platform/events/index.js";

type ListInit = MessageInitShape<typeof ListProductsRequestSchema>;

describe("catalog service: browsing (real PostgreSQL and RabbitMQ)", () => {
  let cat: RunningCatalog;
  let feed: StockFeed;
  const products: Product[] = [];
  const cats: Record<"apparel" | "shirts" | "kitchen", string> = { apparel: "", shirts: "", kitchen: "" };
  let draftId = "";

  before(async () => {
    const exchange = uniqueName("catalog_test");
    const queue = queueName(exchange, "catalog", "stock-levels");
    // Three products per millisecond tick: ties in the NEWEST key, broken by id.
    let tick = 0;
    const base = Date.now() - 3_600_000;
    cat = await startCatalog({ AMQP_URL: amqpUrl, AMQP_EXCHANGE: exchange }, { clock: () => new Date(base + Math.floor(tick++ / 3)) });
    feed = await startStockFeed(exchange, queue);
    const category = async (slug: string, parentId = "") => (await cat.client.createCategory({ slug: uniqueSlug(slug), name: slug, parentId }, cat.admin)).category!.id;
    cats.apparel = await category("apparel");
    cats.shirts = await category("shirts", cats.apparel);
    cats.kitchen = await category("kitchen");
    const names = ["Anchor", "birch", "Cedar", "delta", "Ember", "fjord", "Garnet", "harbor", "Indigo", "juniper"];
    for (let i = 0; i < 30; i++) {
      const slug = uniqueSlug("browse");
      // Prices repeat (ties in the price key); names repeat in different cases (ties in NAME).
      const price = BigInt(500 + (i % 7) * 250);
      const categoryIds = [i % 3 === 0 ? cats.shirts : i % 3 === 1 ? cats.apparel : cats.kitchen];
      const input = productInput({ slug, name: `${names[i % names.length]} ${i % 4 === 0 ? "Shirt" : "item"}`, categoryIds, skus: [sku(`${slug}-A`, price + 300n), sku(`${slug}-B`, price)] });
      products.push((await cat.client.createProduct(input, cat.admin)).product!);
    }
    draftId = (await cat.client.createProduct(productInput({ status: ProductStatus.DRAFT }), cat.admin)).product!.id;
  });

  after(async () => {
    await feed?.close();
    await cat?.stop();
  });

  /** Every id of the list, page by page. */
  async function pageThrough(req: ListInit, size: number): Promise<string[]> {
    const ids: string[] = [];
    let token = "";
    for (let pages = 0; pages < 100; pages++) {
      const res = await cat.client.listProducts({ ...req, pageSize: size, pageToken: token });
      assert.ok(res.products.length <= size);
      ids.push(...res.products.map((p) => p.id));
      token = res.nextPageToken;
      if (!token) return ids;
    }
    throw new Error("more pages than products");
  }

  const minPrice = (p: Product) => p.skus.reduce((m, s) => (s.price!.amountMinor < m ? s.price!.amountMinor : m), p.skus[0]!.price!.amountMinor);
  const ms = (p: Product) => Number(p.createTime!.seconds) * 1000 + Math.floor(p.createTime!.nanos / 1e6);
  const byId = (a: Product, b: Product) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const cmp = (a: number | bigint | string, b: number | bigint | string) => (a < b ? -1 : a > b ? 1 : 0);

  const expected: Record<string, (a: Product, b: Product) => number> = {
    [ProductSort.NEWEST]: (a, b) => cmp(ms(b), ms(a)) || byId(b, a),
    [ProductSort.PRICE_ASC]: (a, b) => cmp(minPrice(a), minPrice(b)) || byId(a, b),
    [ProductSort.PRICE_DESC]: (a, b) => cmp(minPrice(b), minPrice(a)) || byId(b, a),
    [ProductSort.NAME]: (a, b) => cmp(a.name.toLowerCase(), b.name.toLowerCase()) || byId(a, b),
  };

  for (const [sort, label] of [[ProductSort.NEWEST, "newest"], [ProductSort.PRICE_ASC, "price ascending"], [ProductSort.PRICE_DESC, "price descending"], [ProductSort.NAME, "name"]] as const) {
    it(`pages the ${label} sort to the end with no repeat and no gap, in the sort's order`, async () => {
      const ids = await pageThrough({ sort }, 4);
      assert.deepEqual(ids, [...products].sort(expected[sort]).map((p) => p.id));
    });
  }

  it("keeps its place when products are added between pages (keyset, not offset)", async () => {
    const first = await cat.client.listProducts({ sort: ProductSort.PRICE_ASC, pageSize: 5 });
    // A new product that sorts before the first page must not push anything onto the next page twice.
    const cheap = (await cat.client.createProduct(productInput({ priceMinor: 1n }), cat.admin)).product!;
    try {
      const rest: string[] = [];
      let token = first.nextPageToken;
      while (token) {
        const res = await cat.client.listProducts({ sort: ProductSort.PRICE_ASC, pageSize: 5, pageToken: token });
        rest.push(...res.products.map((p) => p.id));
        token = res.nextPageToken;
      }
      const all = [...first.products.map((p) => p.id), ...rest];
      assert.deepEqual(all, [...products].sort(expected[ProductSort.PRICE_ASC]).map((p) => p.id));
    } finally {
      await cat.client.archiveProduct({ id: cheap.id }, cat.admin);
    }
  });

  it("filters by category including its descendants", async () => {
    const inApparel = await pageThrough({ categoryId: cats.apparel }, 50);
    const want = products.filter((p) => p.categoryIds[0] !== cats.kitchen).map((p) => p.id);
    assert.deepEqual(new Set(inApparel), new Set(want));
    const inShirts = await pageThrough({ categoryId: cats.shirts }, 50);
    assert.deepEqual(new Set(inShirts), new Set(products.filter((p) => p.categoryIds[0] === cats.shirts).map((p) => p.id)));
    assert.ok(inShirts.length > 0 && inShirts.length < inApparel.length);
  });

  it("filters by an inclusive range of the lowest SKU price, in one currency", async () => {
    const range = await pageThrough({ minPrice: { amountMinor: 750n, currencyCode: "EUR" }, maxPrice: { amountMinor: 1250n, currencyCode: "EUR" } }, 50);
    const want = products.filter((p) => minPrice(p) >= 750n && minPrice(p) <= 1250n);
    assert.ok(want.some((p) => minPrice(p) === 750n) && want.some((p) => minPrice(p) === 1250n), "the bounds themselves are in the data");
    assert.deepEqual(new Set(range), new Set(want.map((p) => p.id)));
    assert.deepEqual(await pageThrough({ minPrice: { amountMinor: 0n, currencyCode: "USD" } }, 50), []);
    const mixed = await rejectionOf(cat.client.listProducts({ minPrice: { amountMinor: 1n, currencyCode: "EUR" }, maxPrice: { amountMinor: 2n, currencyCode: "USD" } }));
    assert.deepEqual([mixed.code, mixed.violations.map((v) => v.field)], [Code.INVALID_ARGUMENT, ["max_price.currency_code"]]);
  });

  it("shows in-stock flags from inventory's StockChanged events and filters on them; an older level never wins", async () => {
    const [a, b] = [products[0]!, products[1]!];
    assert.deepEqual(await pageThrough({ inStockOnly: true }, 50), []);
    await feed.publish(a.skus[1]!.code, 5);
    await feed.publish(b.skus[0]!.code, 2);
    const inStock = await waitFor("two products in stock", async () => {
      const ids = await pageThrough({ inStockOnly: true }, 50);
      return ids.length === 2 && ids;
    });
    assert.deepEqual(new Set(inStock), new Set([a.id, b.id]));
    const shown = (await cat.client.getProduct({ lookup: { case: "id", value: a.id } })).product!;
    assert.deepEqual(shown.skus.map((s) => s.inStock), [false, true]);

    // Sold out now; then a late event from before arrives and must not bring it back.
    const now = new Date();
    await feed.publish(b.skus[0]!.code, 0, now);
    await waitFor("b sold out", async () => {
      const ids = await pageThrough({ inStockOnly: true }, 50);
      return ids.length === 1 && ids;
    });
    await feed.publish(b.skus[0]!.code, 9, new Date(now.getTime() - 60_000));
    await feed.publish(a.skus[1]!.code, 4); // a marker: once this is applied, so is the late one before it
    await waitFor("the marker applied", async () => {
      const { rows } = await cat.db.query<{ available: number }>("SELECT available FROM sku_stock WHERE sku = $1", [a.skus[1]!.code]);
      return rows[0]?.available === 4;
    });
    assert.deepEqual(await pageThrough({ inStockOnly: true }, 50), [a.id]);

    // A deactivated SKU's stock does not make its product in stock.
    await cat.client.updateProduct({ id: a.id, product: { skus: [a.skus[0]!] }, updateMask: { paths: ["skus"] } }, cat.admin);
    assert.deepEqual(await pageThrough({ inStockOnly: true }, 50), []);
  });

  it("never lists the draft to anyone but admins asking for drafts", async () => {
    assert.ok(!(await pageThrough({}, 50)).includes(draftId));
    const drafts = await cat.client.listProducts({ status: ProductStatus.DRAFT } satisfies Partial<ListProductsRequest>, cat.admin);
    assert.deepEqual(drafts.products.map((p) => p.id), [draftId]);
  });
});
