// The catalog service on a real port and real PostgreSQL, callers' tokens verified against a
// users JWKS double: admin writes and their outbox events, who sees what, validation naming
// the field, SKUs for the cart (through the cart's own catalog port), categories.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { ProductSort } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import {
  PriceChangedSchema,
  ProductArchivedSchema,
  ProductCreatedSchema,
  ProductDeletedSchema,
  ProductUpdatedSchema,
} from "../../../gen/shop/catalog/v1/events_pb.js";
import { ProductStatus } from "../../../gen/shop/catalog/v1/product_pb.js";
import { Code, ShopError } from "../../../platform/errors.js";
import { createGrpcCatalog } from "../../cart/catalog.js";
import { createCategories } from "../categories.js";
import { outboxEvents, productInput, rejectionOf, sku, startCatalog, uniqueSlug, type ProductMore, type RunningCatalog } from "./helpers.js";

describe("catalog service: products and categories (real PostgreSQL, users JWKS double)", () => {
  let cat: RunningCatalog;

  before(async () => {
    cat = await startCatalog();
  });
  after(async () => {
    await cat?.stop();
  });

  const create = async (more: ProductMore = {}) => (await cat.client.createProduct(productInput(more), cat.admin)).product!;

  describe("admin writes", () => {
    it("creates a product with its SKUs and reads it back by id and by slug; ProductCreated is in the outbox", async () => {
      const slug = uniqueSlug("linen-shirt");
      const created = await create({
        slug,
        name: "  Blue Linen Shirt ",
        skus: [sku(`${slug}-M`, 4999n, { color: "blue", size: "M" }, { weightGrams: 220 }), sku(`${slug}-L`, 5499n, { color: "blue", size: "L" })],
      });
      assert.equal(created.name, "Blue Linen Shirt");
      assert.equal(created.status, ProductStatus.ACTIVE);
      assert.deepEqual(created.skus.map((s) => [s.code, s.price?.amountMinor, s.price?.currencyCode, s.attributes["size"], s.inStock]), [
        [`${slug}-M`, 4999n, "EUR", "M", false],
        [`${slug}-L`, 5499n, "EUR", "L", false],
      ]);
      assert.equal(created.skus[0]?.weightGrams, 220);
      assert.ok(created.createTime && created.updateTime);

      const byId = (await cat.client.getProduct({ lookup: { case: "id", value: created.id } })).product!;
      const bySlug = (await cat.client.getProduct({ lookup: { case: "slug", value: slug } })).product!;
      assert.deepEqual(byId, created);
      assert.deepEqual(bySlug, created);

      const events = (await outboxEvents(cat.db, ProductCreatedSchema)).filter((e) => e.product?.id === created.id);
      assert.equal(events.length, 1);
      assert.deepEqual(events[0]!.product!.skus.map((s) => s.code), [`${slug}-M`, `${slug}-L`]);
    });

    it("refuses the admin RPCs to customers (PERMISSION_DENIED) and to anonymous callers (UNAUTHENTICATED)", async () => {
      assert.equal((await rejectionOf(cat.client.createProduct(productInput(), cat.customer))).code, Code.PERMISSION_DENIED);
      assert.equal((await rejectionOf(cat.client.createProduct(productInput()))).code, Code.UNAUTHENTICATED);
      const p = await create();
      assert.equal((await rejectionOf(cat.client.archiveProduct({ id: p.id }, cat.customer))).code, Code.PERMISSION_DENIED);
      assert.equal((await rejectionOf(cat.client.deleteProduct({ id: p.id }, cat.customer))).code, Code.PERMISSION_DENIED);
      assert.equal(
        (await rejectionOf(cat.client.updateProduct({ id: p.id, product: { name: "x" }, updateMask: { paths: ["name"] } }, cat.customer))).code,
        Code.PERMISSION_DENIED,
      );
      assert.equal((await rejectionOf(cat.client.createCategory({ slug: uniqueSlug("c"), name: "C" }, cat.customer))).code, Code.PERMISSION_DENIED);
    });

    it("updates only the masked fields, emits ProductUpdated with what changed and PriceChanged per repriced SKU", async () => {
      const slug = uniqueSlug("mug");
      const p = await create({ slug, skus: [sku(`${slug}-A`, 1000n), sku(`${slug}-B`, 2000n), sku(`${slug}-C`, 3000n)] });
      const updated = (await cat.client.updateProduct(
        {
          id: p.id,
          product: { name: "Stoneware Mug", description: "ignored: not in the mask", skus: [sku(`${slug}-B`, 2500n), sku(`${slug}-A`, 1000n), sku(`${slug}-D`, 500n)] },
          updateMask: { paths: ["name", "skus"] },
        },
        cat.admin,
      )).product!;
      assert.equal(updated.name, "Stoneware Mug");
      assert.equal(updated.description, p.description);
      // The given SKUs in the given order, then the one left out, deactivated (orders refer to it).
      assert.deepEqual(updated.skus.map((s) => [s.code, s.price?.amountMinor, s.active]), [
        [`${slug}-B`, 2500n, true],
        [`${slug}-A`, 1000n, true],
        [`${slug}-D`, 500n, true],
        [`${slug}-C`, 3000n, false],
      ]);

      const upd = (await outboxEvents(cat.db, ProductUpdatedSchema)).filter((e) => e.product?.id === p.id);
      assert.deepEqual(upd.map((e) => e.changedFields), [["name", "skus"]]);
      const prices = (await outboxEvents(cat.db, PriceChangedSchema)).filter((e) => e.productId === p.id);
      assert.deepEqual(prices.map((e) => [e.sku, e.oldPrice?.amountMinor, e.newPrice?.amountMinor]), [[`${slug}-B`, 2000n, 2500n]]);

      // The same update again changes nothing and emits nothing.
      await cat.client.updateProduct({ id: p.id, product: { name: "Stoneware Mug" }, updateMask: { paths: ["name"] } }, cat.admin);
      assert.equal((await outboxEvents(cat.db, ProductUpdatedSchema)).filter((e) => e.product?.id === p.id).length, 1);
    });

    it("re-prices a product in another currency; the SKUs left behind keep theirs and do not block later updates", async () => {
      const slug = uniqueSlug("repriced");
      const p = await create({ slug, skus: [sku(`${slug}-EUR`, 1000n)] });
      const usd = (await cat.client.updateProduct({ id: p.id, product: { skus: [sku(`${slug}-USD`, 1200n, {}, { currency: "USD" })] }, updateMask: { paths: ["skus"] } }, cat.admin)).product!;
      assert.deepEqual(usd.skus.map((s) => [s.price?.currencyCode, s.active]), [["USD", true], ["EUR", false]]);
      const renamed = (await cat.client.updateProduct({ id: p.id, product: { name: "Renamed" }, updateMask: { paths: ["name"] } }, cat.admin)).product!;
      assert.equal(renamed.name, "Renamed");
      const listed = await cat.client.listProducts({ minPrice: { amountMinor: 1200n, currencyCode: "USD" }, maxPrice: { amountMinor: 1200n, currencyCode: "USD" } });
      assert.deepEqual(listed.products.map((x) => x.id), [p.id]);
    });

    it("archives (idempotently, one ProductArchived with the SKU codes) and then sells nothing of it", async () => {
      const slug = uniqueSlug("lamp");
      const p = await create({ slug, skus: [sku(`${slug}-1`, 100n)] });
      const archived = (await cat.client.archiveProduct({ id: p.id }, cat.admin)).product!;
      assert.equal(archived.status, ProductStatus.ARCHIVED);
      await cat.client.archiveProduct({ id: p.id }, cat.admin);
      const events = (await outboxEvents(cat.db, ProductArchivedSchema)).filter((e) => e.productId === p.id);
      assert.deepEqual(events.map((e) => e.skus), [[`${slug}-1`]]);
      const skus = await cat.client.batchGetSkus({ skus: [`${slug}-1`] });
      assert.equal(skus.skus[0]?.purchasable, false);
      // Still resolvable by id (order history, reviews), not by slug, not listed.
      assert.equal((await cat.client.getProduct({ lookup: { case: "id", value: p.id } })).product?.status, ProductStatus.ARCHIVED);
      assert.equal((await rejectionOf(cat.client.getProduct({ lookup: { case: "slug", value: slug } }))).code, Code.NOT_FOUND);
      assert.equal(
        (await rejectionOf(cat.client.updateProduct({ id: p.id, product: { status: ProductStatus.ACTIVE }, updateMask: { paths: ["status"] } }, cat.admin))).code,
        Code.FAILED_PRECONDITION,
      );
    });

    it("deletes only drafts that were never active; ProductDeleted is in the outbox", async () => {
      const draft = await create({ status: ProductStatus.DRAFT });
      await cat.client.deleteProduct({ id: draft.id }, cat.admin);
      assert.equal((await rejectionOf(cat.client.getProduct({ lookup: { case: "id", value: draft.id } }, cat.admin))).code, Code.NOT_FOUND);
      assert.deepEqual((await outboxEvents(cat.db, ProductDeletedSchema)).filter((e) => e.productId === draft.id).map((e) => e.skus), [draft.skus.map((s) => s.code)]);
      assert.equal((await rejectionOf(cat.client.deleteProduct({ id: draft.id }, cat.admin))).code, Code.NOT_FOUND);

      const active = await create();
      assert.equal((await rejectionOf(cat.client.deleteProduct({ id: active.id }, cat.admin))).code, Code.FAILED_PRECONDITION);
      // Back to draft does not make it deletable: it may have been sold while active.
      await cat.client.updateProduct({ id: active.id, product: { status: ProductStatus.DRAFT }, updateMask: { paths: ["status"] } }, cat.admin);
      const err = await rejectionOf(cat.client.deleteProduct({ id: active.id }, cat.admin));
      assert.equal(err.code, Code.FAILED_PRECONDITION);
      assert.match(err.message, /archive/);
    });
  });

  describe("validation names the field", () => {
    it("refuses a taken slug (ALREADY_EXISTS on slug) and a SKU code of another product (on skus[i].code)", async () => {
      const p = await create();
      const dupSlug = await rejectionOf(cat.client.createProduct(productInput({ slug: p.slug }), cat.admin));
      assert.equal(dupSlug.code, Code.ALREADY_EXISTS);
      assert.deepEqual(dupSlug.violations.map((v) => v.field), ["slug"]);

      const other = uniqueSlug("other");
      const dupSku = await rejectionOf(cat.client.createProduct(productInput({ slug: other, skus: [sku(`${other}-X`, 1n), sku(p.skus[0]!.code, 1n)] }), cat.admin));
      assert.equal(dupSku.code, Code.ALREADY_EXISTS);
      assert.deepEqual(dupSku.violations.map((v) => v.field), ["skus[1].code"]);

      const taken = await create();
      const renamed = await rejectionOf(cat.client.updateProduct({ id: taken.id, product: { slug: p.slug }, updateMask: { paths: ["slug"] } }, cat.admin));
      assert.deepEqual([renamed.code, renamed.violations.map((v) => v.field)], [Code.ALREADY_EXISTS, ["product.slug"]]);
    });

    it("lets only one of two concurrent creates take a SKU code", async () => {
      const code = uniqueSlug("RACE").toUpperCase();
      const results = await Promise.allSettled([0, 1, 2].map(() => cat.client.createProduct(productInput({ skus: [sku(code, 1n)] }), cat.admin)));
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
      for (const r of results) if (r.status === "rejected") assert.equal((r.reason as { code: number }).code, Code.ALREADY_EXISTS);
      const owners = await cat.db.query("SELECT product_id FROM skus WHERE code = $1", [code]);
      assert.equal(owners.rowCount, 1);
    });

    it("refuses mixed currencies, blank names, unknown categories, non-https images and contract violations", async () => {
      const slug = uniqueSlug("mixed");
      const cases: [ProductMore, string][] = [
        [{ slug, skus: [sku(`${slug}-1`, 1n), sku(`${slug}-2`, 1n, {}, { currency: "USD" })] }, "skus[1].price.currency_code"],
        [{ name: "   " }, "name"],
        [{ categoryIds: [randomUUID()] }, "category_ids[0]"],
        [{ imageUrls: ["http://img.example.test/a.jpg"] }, "image_urls[0]"],
        [{ slug: "Not A Slug" }, "slug"],
        [{ skus: [] }, "skus"],
        [{ skus: [sku("NEG-1", -1n)] }, "skus[0].price"],
        [{ status: ProductStatus.ARCHIVED }, "status"],
      ];
      for (const [input, field] of cases) {
        const err = await rejectionOf(cat.client.createProduct(productInput(input), cat.admin));
        assert.equal(err.code, Code.INVALID_ARGUMENT, field);
        assert.ok(err.violations.some((v) => v.field === field), `${field}: got ${JSON.stringify(err.violations)}`);
      }
    });
  });

  describe("who sees what", () => {
    it("hides drafts from the public by id, slug, list and search, and shows them to admins", async () => {
      const slug = uniqueSlug("secret-prototype");
      const draft = await create({ slug, status: ProductStatus.DRAFT, name: "Zanzibarian prototype" });
      for (const call of [undefined, cat.customer]) {
        assert.equal((await rejectionOf(cat.client.getProduct({ lookup: { case: "id", value: draft.id } }, call))).code, Code.NOT_FOUND);
        assert.equal((await rejectionOf(cat.client.getProduct({ lookup: { case: "slug", value: slug } }, call))).code, Code.NOT_FOUND);
        // A customer asking for drafts gets ACTIVE products: the filter is forced.
        const listed = await cat.client.listProducts({ status: ProductStatus.DRAFT, pageSize: 100 }, call);
        assert.ok(listed.products.every((p) => p.status === ProductStatus.ACTIVE));
        assert.equal((await cat.client.searchProducts({ query: "zanzibarian" }, call)).products.length, 0);
      }
      assert.equal((await cat.client.getProduct({ lookup: { case: "slug", value: slug } }, cat.admin)).product?.id, draft.id);
      const drafts = await cat.client.listProducts({ status: ProductStatus.DRAFT, pageSize: 100 }, cat.admin);
      assert.ok(drafts.products.some((p) => p.id === draft.id));

      // Published, it is visible to everyone.
      await cat.client.updateProduct({ id: draft.id, product: { status: ProductStatus.ACTIVE }, updateMask: { paths: ["status"] } }, cat.admin);
      assert.equal((await cat.client.searchProducts({ query: "zanzibarian" })).products[0]?.id, draft.id);
    });
  });

  describe("SKUs for carts and orders", () => {
    it("answers BatchGetSkus in request order with the missing codes, and the cart's catalog port reads it", async () => {
      const slug = uniqueSlug("kettle");
      const category = (await cat.client.createCategory({ slug: uniqueSlug("kettles"), name: "Kettles" }, cat.admin)).category!;
      const p = await create({ slug, name: "Copper Kettle", categoryIds: [category.id], skus: [sku(`${slug}-1`, 3900n, { size: "1 l" }), sku(`${slug}-2`, 4900n, { size: "2 l" }, { active: false })] });
      const res = await cat.client.batchGetSkus({ skus: [`${slug}-2`, "NOPE-1", `${slug}-1`] });
      assert.deepEqual(res.skus.map((d) => [d.sku?.code, d.purchasable]), [[`${slug}-2`, false], [`${slug}-1`, true]]);
      assert.deepEqual(res.missingSkus, ["NOPE-1"]);
      const d = res.skus[1]!;
      assert.deepEqual([d.productId, d.productName, d.productSlug, d.imageUrl, d.categoryIds], [p.id, "Copper Kettle", slug, p.imageUrls[0], [category.id]]);

      // Exactly what the cart service calls.
      const lookup = await createGrpcCatalog(cat.client).getSkus([`${slug}-1`, "NOPE-1"]);
      const info = lookup.found.get(`${slug}-1`)!;
      assert.deepEqual([info.productName, info.skuName, info.price, info.purchasable], ["Copper Kettle", "1 l", { amountMinor: 3900n, currency: "EUR" }, true]);
      assert.deepEqual([...lookup.missing], ["NOPE-1"]);
    });
  });

  describe("categories", () => {
    it("reuses a known subtree for filters, forgets it when this process changes a category, and looks up an unknown one every time", async () => {
      // Two replicas of the service on one database.
      const here = createCategories({ db: cat.db, clock: () => new Date() });
      const there = createCategories({ db: cat.db, clock: () => new Date() });
      const top = await here.create({ slug: uniqueSlug("top"), name: "Top", parentId: "", description: "" });
      assert.deepEqual(await here.withDescendants(top.id, "category_id"), [top.id]);
      const near = await here.create({ slug: uniqueSlug("near"), name: "Near", parentId: top.id, description: "" });
      assert.deepEqual(new Set(await here.withDescendants(top.id, "category_id")), new Set([top.id, near.id]), "a change here shows at once");
      // A change on the other replica shows here once the kept subtree has aged (SUBTREE_TTL_MS), not before.
      const far = await there.create({ slug: uniqueSlug("far"), name: "Far", parentId: top.id, description: "" });
      assert.deepEqual(new Set(await here.withDescendants(top.id, "category_id")), new Set([top.id, near.id]));
      assert.deepEqual(new Set(await there.withDescendants(top.id, "category_id")), new Set([top.id, near.id, far.id]));
      // A category this replica has not seen is found at once, and an unknown id is refused naming the field.
      assert.deepEqual(await here.withDescendants(far.id, "category_id"), [far.id]);
      await assert.rejects(here.withDescendants(randomUUID(), "category_id"), (err: ShopError) => err.code === Code.INVALID_ARGUMENT && err.violations[0]?.field === "category_id");
    });

    it("keeps a tree: lists children, refuses cycles, and deletes only empty leaves", async () => {
      const root = (await cat.client.createCategory({ slug: uniqueSlug("root"), name: "Root" }, cat.admin)).category!;
      const child = (await cat.client.createCategory({ slug: uniqueSlug("child"), name: "Child", parentId: root.id }, cat.admin)).category!;
      const grandchild = (await cat.client.createCategory({ slug: uniqueSlug("grandchild"), name: "Grandchild", parentId: child.id }, cat.admin)).category!;
      const children = await cat.client.listCategories({ parentId: root.id });
      assert.deepEqual(children.categories.map((c) => c.id), [child.id]);

      const cycle = await rejectionOf(cat.client.updateCategory({ id: root.id, category: { parentId: grandchild.id }, updateMask: { paths: ["parent_id"] } }, cat.admin));
      assert.equal(cycle.code, Code.INVALID_ARGUMENT);
      assert.deepEqual(cycle.violations.map((v) => v.field), ["category.parent_id"]);
      for (const [category, path, field] of [[{ slug: "Not A Slug" }, "slug", "category.slug"], [{ parentId: "not-a-uuid" }, "parent_id", "category.parent_id"], [{ name: " " }, "name", "category.name"]] as const) {
        const bad = await rejectionOf(cat.client.updateCategory({ id: child.id, category, updateMask: { paths: [path] } }, cat.admin));
        assert.deepEqual([bad.code, bad.violations.map((v) => v.field)], [Code.INVALID_ARGUMENT, [field]]);
      }
      const renamed = (await cat.client.updateCategory({ id: child.id, category: { name: "Renamed" }, updateMask: { paths: ["name"] } }, cat.admin)).category!;
      assert.deepEqual([renamed.name, renamed.parentId, renamed.slug], ["Renamed", root.id, child.slug]);

      assert.equal((await rejectionOf(cat.client.deleteCategory({ id: child.id }, cat.admin))).code, Code.FAILED_PRECONDITION);
      const p = await create({ categoryIds: [grandchild.id] });
      assert.equal((await rejectionOf(cat.client.deleteCategory({ id: grandchild.id }, cat.admin))).code, Code.FAILED_PRECONDITION);
      await cat.client.updateProduct({ id: p.id, product: { categoryIds: [] }, updateMask: { paths: ["category_ids"] } }, cat.admin);
      await cat.client.deleteCategory({ id: grandchild.id }, cat.admin);
      assert.equal((await rejectionOf(cat.client.deleteCategory({ id: grandchild.id }, cat.admin))).code, Code.NOT_FOUND);
      const dup = await rejectionOf(cat.client.createCategory({ slug: root.slug, name: "Again" }, cat.admin));
      assert.deepEqual([dup.code, dup.violations.map((v) => v.field)], [Code.ALREADY_EXISTS, ["slug"]]);
    });

    it("pages categories by slug without repeats", async () => {
      const parent = (await cat.client.createCategory({ slug: uniqueSlug("pager"), name: "Pager" }, cat.admin)).category!;
      const made = [];
      for (let i = 0; i < 5; i++) made.push((await cat.client.createCategory({ slug: `${parent.slug}-${i}`, name: `Sub ${i}`, parentId: parent.id }, cat.admin)).category!.slug);
      const seen: string[] = [];
      let token = "";
      do {
        const res = await cat.client.listCategories({ parentId: parent.id, pageSize: 2, pageToken: token });
        seen.push(...res.categories.map((c) => c.slug));
        token = res.nextPageToken;
      } while (token);
      assert.deepEqual(seen, made.sort());
    });
  });

  it("rejects a page token from another list or with other filters", async () => {
    for (let i = 0; i < 3; i++) await create();
    const first = await cat.client.listProducts({ pageSize: 1, sort: ProductSort.NAME });
    assert.ok(first.nextPageToken);
    const err = await rejectionOf(cat.client.listProducts({ pageSize: 1, sort: ProductSort.PRICE_ASC, pageToken: first.nextPageToken }));
    assert.deepEqual([err.code, err.violations.map((v) => v.field)], [Code.INVALID_ARGUMENT, ["page_token"]]);
    assert.equal((await rejectionOf(cat.client.listProducts({ pageToken: "garbage" }))).code, Code.INVALID_ARGUMENT);
    const cheap = await cat.client.listProducts({ pageSize: 1, sort: ProductSort.NAME, maxPrice: { amountMinor: 100_000n, currencyCode: "EUR" } });
    assert.ok(cheap.nextPageToken);
    assert.equal((await rejectionOf(cat.client.listProducts({ pageSize: 1, sort: ProductSort.NAME, pageToken: cheap.nextPageToken }))).code, Code.INVALID_ARGUMENT);
    assert.equal((await cat.client.listProducts({ pageSize: 1, sort: ProductSort.NAME, maxPrice: { amountMinor: 100_000n, currencyCode: "EUR" }, pageToken: cheap.nextPageToken })).products.length, 1);
  });
});
