// What a shopper's read costs through the gateway, against a bare node:http server returning a
// fixed JSON body of the same size, measured in the same run.
//
// Every service and the gateway run as their own processes (as in the end-to-end tests) on a
// fresh PostgreSQL database seeded with a generated catalog; the load comes from this process
// over keep-alive HTTP/1.1 with 64 requests in flight. Variants alternate round by round, and
// the figures are medians of the rounds:
//   bare              node:http answering the product's JSON from memory (the baseline)
//   get-product GET   Connect GET of a public read: answered from the gateway's public cache
//   get-product POST  the same read as a POST: every request goes gateway -> catalog -> SQL
//   search POST       SearchProducts over the rotating query mix below
// Then search latency over the mix, 1 in flight (medians of rounds) and 64, at 10k products and at 100k;
// at 100k also each query kind alone (1 in flight), and the catalog's browsing reads (newest,
// a category by price, page 50 by name, related products), so a slow kind shows by name.
// Targets (issue 4): cached get-product >= 0.4x bare requests/s; search p99 < 20 ms at 100k.
//
//   npm run bench:storefront        (BENCH_CALLS, BENCH_ROUNDS, BENCH_LARGE, BENCH_KIND_CALLS and
//                                    BENCH_LATENCY_ROUNDS change the size)
import http from "node:http";
import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createDb } from "../../platform/db/db.js";
import { drive, formatStats, statsOf, summarize, type Call, type RoundStats } from "../../platform/bench/load.js";
import { seedLargeCatalog } from "../../services/catalog/seed.js";
import { startShopProcesses } from "../../test/e2e/shop-processes.js";

const CALLS = Number(process.env["BENCH_CALLS"] ?? 5_000);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const LARGE = Number(process.env["BENCH_LARGE"] ?? 100_000);
const IN_FLIGHT = 64;
const KIND_CALLS = Number(process.env["BENCH_KIND_CALLS"] ?? 100);
const LATENCY_ROUNDS = Number(process.env["BENCH_LATENCY_ROUNDS"] ?? 5);

/**
 * What shoppers type, against the generated catalog (services/catalog/seed-data.ts): broad single
 * words (2.5-10% of products match), multi-word and selective queries, typos (corrected from the
 * vocabulary), a category or price filter on a broad word, and a query nothing matches.
 */
function searchMix(categories: ReadonlyMap<string, string>): [string, Record<string, unknown>][] {
  const inCategory = (slug: string) => ({ categoryId: categories.get(slug) });
  return [
    ["shirt", {}], ["cotton", {}], ["lamp", {}], ["black", {}], ["linen", {}], ["ceramic", {}],
    ["linen shirt", {}], ["running shoes", {}], ["wireless headphones", {}], ["blue linen shirt", {}],
    ["shrit", {}], ["jackte", {}], ["headphnes", {}],
    ["black", inCategory("shoes")], ["cotton", inCategory("apparel")], ["cast iron", inCategory("kitchen")],
    ["shirt", { maxPrice: { amountMinor: "5000", currencyCode: "EUR" } }], ["wool socks", {}],
  ];
}

const kindName = ([query, more]: [string, Record<string, unknown>]) =>
  `'${query}'${"categoryId" in more ? " in a category" : ""}${"maxPrice" in more ? " under 50 EUR" : ""}`;

const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });

function request(port: number, method: "GET" | "POST", path: string, body?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path, agent, headers: body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {} }, (res) => {
      res.resume();
      res.once("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.once("error", reject);
    req.end(body);
  });
}

async function fetchText(url: string, body: unknown): Promise<string> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return res.text();
}

async function main(): Promise<void> {
  const shop = await startShopProcesses({ RATE_LIMIT_IP_RATE: "1000000", RATE_LIMIT_IP_BURST: "1000000", LOG_LEVEL: "error" });
  const bareScript = fileURLToPath(new URL("./bare-http-server.js", import.meta.url));
  const catalogDb = createDb({ url: shop.db.url, schema: "catalog", applicationName: "bench-seed" });
  try {
    const seedStart = Date.now();
    await seedLargeCatalog(catalogDb, 10_000);
    console.log(`seeded 10000 products in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
    const gatewayPort = Number(new URL(shop.url).port);
    const listed = JSON.parse(await fetchText(`${shop.url}/shop.catalog.v1.CatalogService/ListProducts`, { pageSize: 1 })) as { products: { id: string }[] };
    const productId = listed.products[0]!.id;
    const getBody = JSON.stringify({ id: productId });
    const productJson = await fetchText(`${shop.url}/shop.catalog.v1.CatalogService/GetProduct`, { id: productId });

    const bare = fork(bareScript, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    bare.send(productJson);
    const [barePort] = (await once(bare, "message")) as [number];

    const getPath = `/shop.catalog.v1.CatalogService/GetProduct?encoding=json&message=${encodeURIComponent(getBody)}`;
    const categories = JSON.parse(await fetchText(`${shop.url}/shop.catalog.v1.CatalogService/ListCategories`, { pageSize: 100 })) as { categories: { id: string; slug: string }[] };
    const mix = searchMix(new Map(categories.categories.map((c) => [c.slug, c.id])));
    const catalogPost = (method: string, body: unknown) => () => request(gatewayPort, "POST", `/shop.catalog.v1.CatalogService/${method}`, JSON.stringify(body));
    const searchOf = ([query, more]: [string, Record<string, unknown>]) => catalogPost("SearchProducts", { query, pageSize: 20, ...more });
    const searches = mix.map(searchOf);
    let q = 0;
    const variants: [string, Call][] = [
      ["bare node:http", () => request(barePort, "GET", "/product")],
      ["get-product GET (cached)", () => request(gatewayPort, "GET", getPath)],
      ["get-product POST", () => request(gatewayPort, "POST", "/shop.catalog.v1.CatalogService/GetProduct", getBody)],
      ["search POST", () => searches[q++ % searches.length]!()],
    ];
    console.log(`storefront through the gateway: ${IN_FLIGHT} in flight, product JSON ${productJson.length} bytes, ${CALLS} requests x ${ROUNDS} rounds per variant`);
    for (const [, call] of variants) await drive(call, 1000, { inFlight: IN_FLIGHT }); // warm-up
    const rounds = new Map<string, RoundStats[]>(variants.map(([name]) => [name, []]));
    for (let i = 0; i < ROUNDS; i++) for (const [name, call] of variants) rounds.get(name)!.push(statsOf(await drive(call, CALLS, { inFlight: IN_FLIGHT })));
    const results = new Map([...rounds].map(([name, rs]) => [name, summarize(rs)]));
    for (const [name, s] of results) console.log(formatStats(name, s));
    const ratio = results.get("get-product GET (cached)")!.perSecond / results.get("bare node:http")!.perSecond;
    console.log(`cached get-product / bare requests/s: ${ratio.toFixed(2)}x (target >= 0.4x)`);
    const uncached = results.get("get-product POST")!.perSecond / results.get("bare node:http")!.perSecond;
    console.log(`uncached get-product / bare requests/s: ${uncached.toFixed(2)}x`);

    // Latency one at a time is what the target is about, and one slow moment of a shared machine
    // moves a single round's p99: it runs in LATENCY_ROUNDS rounds, each printed, and the medians count.
    const searchLatency = async (label: string) => {
      const rounds: RoundStats[] = [];
      for (let i = 0; i < LATENCY_ROUNDS; i++) rounds.push(statsOf(await drive(variants[3]![1], 500, { inFlight: 1 })));
      console.log(`${formatStats(`search ${label}, 1 in flight`, summarize(rounds))}  (median of ${LATENCY_ROUNDS} rounds of 500; p99s ${rounds.map((r) => r.p99.toFixed(1)).join(" ")})`);
      console.log(formatStats(`search ${label}, ${IN_FLIGHT} in flight`, statsOf(await drive(variants[3]![1], 3000, { inFlight: IN_FLIGHT }))));
    };
    await searchLatency("10k products");
    const topUp = Date.now();
    await seedLargeCatalog(catalogDb, LARGE);
    console.log(`seeded ${LARGE} products in ${((Date.now() - topUp) / 1000).toFixed(1)} s`);
    // As at 10k (measured after the throughput rounds), latency is measured on a warm catalog: a
    // pass over the mix first, so the first round does not pay for reading the new rows in.
    await drive(variants[3]![1], 10 * mix.length, { inFlight: 1 });
    await searchLatency(`${Math.round(LARGE / 1000)}k products`);
    console.log(`each kind alone at ${Math.round(LARGE / 1000)}k products, 1 in flight, ${KIND_CALLS} calls:`);
    for (const kind of mix) console.log(formatStats(`  search ${kindName(kind)}`, statsOf(await drive(searchOf(kind), KIND_CALLS, { inFlight: 1 }))));
    const apparel = categories.categories.find((c) => c.slug === "apparel")!.id;
    const nameSortPage50 = async () => {
      let pageToken = "";
      for (let i = 0; i < 50; i++) {
        const page = JSON.parse(await fetchText(`${shop.url}/shop.catalog.v1.CatalogService/ListProducts`, { sort: "PRODUCT_SORT_NAME", pageToken })) as { nextPageToken: string };
        pageToken = page.nextPageToken;
      }
    };
    const browse: [string, Call, number][] = [
      ["list newest", catalogPost("ListProducts", {}), KIND_CALLS],
      ["list apparel (with subcategories) by price", catalogPost("ListProducts", { categoryId: apparel, sort: "PRODUCT_SORT_PRICE_ASC" }), KIND_CALLS],
      ["related products", catalogPost("ListRelatedProducts", { productId }), KIND_CALLS],
      ["list by name to page 50 (50 calls each)", nameSortPage50, 5],
    ];
    for (const [name, call, calls] of browse) console.log(formatStats(`  ${name}`, statsOf(await drive(call, calls, { inFlight: 1 }))));

    bare.kill("SIGTERM");
  } finally {
    agent.destroy();
    await catalogDb.close();
    await shop.stop();
  }
}

await main();
