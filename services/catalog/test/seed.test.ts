// The seeders against real PostgreSQL: the demo catalog once and only once (with its events),
// the large generated catalog topping up to a count, and the whole service on the embedded
// PostgreSQL (PGlite) of the single-process mode, where the migrations need pg_trgm too.
import assert from "node:assert/strict";
import { ProductCreatedSchema } from "../../../gen/shop/catalog/v1/events_pb.js";
import { openEmbeddedPostgres, type EmbeddedPostgres } from "../../../platform/db/embedded-postgres.js";
import { createTestDatabase } from "../../../platform/testing/pg.js";
import { createDb } from "../../../platform/db/db.js";
import { migrate } from "../../../platform/db/migrate.js";
import { eventsMigrationSet } from "../../../platform/events/index.js";
import { sourcePath } from "../../../platform/paths.js";
import { DEMO_PRODUCT_COUNT, demoSkuCodes, seedDemoCatalog, seedLargeCatalog } from "../seed.js";
import { outboxEvents, productInput, sku, startCatalog, type RunningCatalog } from "./helpers.js";

const count = async (db: { query: RunningCatalog["db"]["query"] }, table: string) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

describe("catalog seeders", () => {
  describe("demo catalog (real PostgreSQL, seeded by the module at start-up)", () => {
    let cat: RunningCatalog;
    before(async () => {
      cat = await startCatalog({ SEED_DEMO_CATALOG: "true" });
    });
    after(async () => {
      await cat?.stop();
    });

    it("loads a few hundred active products with several EUR SKUs each, and their ProductCreated events", async () => {
      assert.equal(await count(cat.db, "products"), DEMO_PRODUCT_COUNT);
      const codes = demoSkuCodes();
      assert.equal(await count(cat.db, "skus"), codes.length);
      assert.equal((await outboxEvents(cat.db, ProductCreatedSchema)).length, DEMO_PRODUCT_COUNT);
      const skus = await cat.client.batchGetSkus({ skus: codes.slice(0, 3) });
      assert.ok(skus.skus.every((d) => d.purchasable && d.sku?.price?.currencyCode === "EUR"));
      const top = await cat.client.listCategories({});
      assert.ok(["apparel", "kitchen", "electronics", "shoes", "home"].every((slug) => top.categories.some((c) => c.slug === slug)));
    });

    it("does nothing when products exist", async () => {
      assert.deepEqual(await seedDemoCatalog(cat.db), { products: 0, skus: 0 });
      assert.equal(await count(cat.db, "products"), DEMO_PRODUCT_COUNT);
      assert.equal((await outboxEvents(cat.db, ProductCreatedSchema)).length, DEMO_PRODUCT_COUNT);
    });

    it("is searchable, typos included", async () => {
      const found = await cat.client.searchProducts({ query: "linen shrit", pageSize: 100 });
      assert.ok(found.products.length > 0);
      assert.ok(found.products.every((p) => /linen/i.test(p.name + p.description) && /shirt/i.test(p.name + p.description)));
    });
  });

  it("tops a large generated catalog up to the count asked, in bulk, without events", async () => {
    const tdb = await createTestDatabase("catalog_large");
    const db = createDb({ url: tdb.url, schema: "catalog", applicationName: "catalog-seed-test" });
    try {
      await migrate(db, [eventsMigrationSet, { name: "catalog", dir: sourcePath("services", "catalog", "migrations") }]);
      const first = await seedLargeCatalog(db, 2500, { batchSize: 1000 });
      assert.equal(first.products, 2500);
      assert.equal(await count(db, "products"), 2500);
      assert.equal(await count(db, "skus"), first.skus);
      assert.deepEqual(await seedLargeCatalog(db, 2500, { batchSize: 1000 }), { products: 0, skus: 0 });
      assert.equal((await seedLargeCatalog(db, 3000, { batchSize: 1000 })).products, 500);
      assert.equal(await count(db, "products"), 3000);
      assert.equal(await count(db, "outbox"), 0);
      const { rows } = await db.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM products GROUP BY status");
      const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      assert.ok(by["active"]! > 2500 && by["draft"]! > 0 && by["archived"]! > 0, JSON.stringify(by));
    } finally {
      await db.close();
      await tdb.drop();
    }
  });

  describe("on the embedded PostgreSQL (PGlite) of the single-process mode", () => {
    let pg: EmbeddedPostgres;
    let cat: RunningCatalog | undefined;
    before(async function () {
      this.timeout(120_000);
      pg = await openEmbeddedPostgres(undefined);
    });
    after(async () => {
      await cat?.stop();
      await pg?.close();
    });

    it("applies the migrations (pg_trgm included), seeds the demo catalog and corrects typos", async function () {
      this.timeout(120_000);
      cat = await startCatalog({ SEED_DEMO_CATALOG: "true" }, { shared: { db: (schema) => pg.forSchema(schema) } });
      const shared = pg.forSchema("catalog");
      assert.equal(await count(shared, "products"), DEMO_PRODUCT_COUNT);
      const found = await cat.client.searchProducts({ query: "shrit", pageSize: 5 });
      assert.ok(found.products.length > 0 && found.products.every((p) => /shirt/i.test(p.name + p.description)));
      const listed = await cat.client.listProducts({ pageSize: 3, categoryId: (await cat.client.listCategories({})).categories.find((c) => c.slug === "apparel")!.id });
      assert.equal(listed.products.length, 3);
      // The admin path too: SKU upserts count their rows on PGlite as on a server.
      const made = (await cat.client.createProduct(productInput({ name: "Embedded Samovar" }), cat.admin)).product!;
      const moved = await cat.client.updateProduct({ id: made.id, product: { skus: [sku(`${made.slug}-x`, 2n)] }, updateMask: { paths: ["skus"] } }, cat.admin);
      assert.deepEqual(moved.product!.skus.map((s) => s.active), [true, false]);
      assert.equal((await cat.client.searchProducts({ query: "samovra" })).products[0]?.id, made.id);
    });
  });
});
