// Catalog browsing and search latency over a real gRPC hop, on a large generated catalog:
//
//   node dist/services/catalog/bench/search.bench.js [--count 100000] [--runs 30]
//
// Seeds a fresh database on TEST_DATABASE_URL's server with `count` products (seedLargeCatalog)
// unless CATALOG_BENCH_DATABASE_URL names one already seeded (kept, never dropped), starts the
// catalog service on it, and prints p50/p95/max per query kind. Anonymous calls only, so no
// users service is needed.
import { parseArgs } from "node:util";
import { CatalogService, ProductSort } from "../../../gen/shop/catalog/v1/catalog_pb.js";
import { createDb } from "../../../platform/db/db.js";
import { migrate } from "../../../platform/db/migrate.js";
import { eventsMigrationSet } from "../../../platform/events/index.js";
import { createClient } from "../../../platform/grpc/index.js";
import { sourcePath } from "../../../platform/paths.js";
import { startService } from "../../../platform/service.js";
import { createTestDatabase, type TestDatabase } from "../../../platform/testing/pg.js";
import { createCatalogModule } from "../module.js";
import { seedLargeCatalog } from "../seed.js";

const { values } = parseArgs({ options: { count: { type: "string", default: "100000" }, runs: { type: "string", default: "30" } } });
const count = Number(values.count);
const runs = Number(values.runs);

let tdb: TestDatabase | undefined;
let url = process.env["CATALOG_BENCH_DATABASE_URL"];
if (!url) {
  tdb = await createTestDatabase("catalog_bench");
  url = tdb.url;
}
const db = createDb({ url, schema: "catalog", applicationName: "catalog-bench" });
await migrate(db, [eventsMigrationSet, { name: "catalog", dir: sourcePath("services", "catalog", "migrations") }]);
const seedStart = Date.now();
const seeded = await seedLargeCatalog(db, count);
if (seeded.products > 0) process.stdout.write(`seeded ${seeded.products} products, ${seeded.skus} SKUs in ${((Date.now() - seedStart) / 1000).toFixed(1)}s\n`);
await db.query("ANALYZE");
await db.close();

const service = await startService(createCatalogModule(), { DATABASE_URL: url, GRPC_HOST: "127.0.0.1", GRPC_PORT: "0", LOG_LEVEL: "warn" });
const client = createClient(CatalogService, { service: "bench", name: "catalog", address: `127.0.0.1:${service.port}`, timeoutMs: 10_000 });
try {
  const apparel = (await client.listCategories({ pageSize: 100 })).categories.find((c) => c.slug === "apparel")!.id;
  const sample = (await client.listProducts({ pageSize: 1 })).products[0]!;
  const cases: [string, () => Promise<unknown>][] = [
    ["search 'shirt' (broad, ~5% of products)", () => client.searchProducts({ query: "shirt" })],
    ["search 'black' (very broad, ~10%)", () => client.searchProducts({ query: "black" })],
    ["search 'blue linen shirt' (selective)", () => client.searchProducts({ query: "blue linen shirt" })],
    ["search 'shrit' (typo, corrected)", () => client.searchProducts({ query: "shrit" })],
    ["search 'cast iron skilet' + price filter", () => client.searchProducts({ query: "cast iron skilet", maxPrice: { amountMinor: 10000n, currencyCode: "EUR" } })],
    ["list newest", () => client.listProducts({})],
    ["list apparel (with subcategories) by price", () => client.listProducts({ categoryId: apparel, sort: ProductSort.PRICE_ASC })],
    ["list by name, page 50", async () => {
      let token = "";
      for (let i = 0; i < 50; i++) token = (await client.listProducts({ sort: ProductSort.NAME, pageToken: token })).nextPageToken;
    }],
    ["related products", () => client.listRelatedProducts({ productId: sample.id })],
  ];
  for (const [name, call] of cases) {
    await call(); // warm up
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = process.hrtime.bigint();
      await call();
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
    const per = name.includes("page 50") ? " (50 calls)" : "";
    process.stdout.write(`${name.padEnd(48)} p50 ${at(0.5)} ms  p95 ${at(0.95)} ms  max ${at(1)} ms${per}\n`);
  }
} finally {
  client.close();
  await service.stop();
  await tdb?.drop();
}
