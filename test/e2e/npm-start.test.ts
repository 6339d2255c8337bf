// `npm start` as a newcomer runs it: no database, no broker. The whole shop comes up in one
// process on embedded PostgreSQL and the in-process bus, says where it is, serves the JSON API
// with the demo catalog seeded, and stops cleanly on Ctrl-C. Reviews (MongoDB, no embedded
// stand-in) is off, which the banner and the gateway's answers say.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { repoRoot } from "../../platform/paths.js";
import { scrape } from "../../platform/testing/metrics.js";
import { freePortRange } from "../../platform/testing/ports.js";
import { waitFor } from "../../platform/testing/wait-for.js";
import { serviceModules } from "../../services/modules.js";
import { callApi, freePort } from "./shop-processes.js";

describe("npm start (single process, embedded PostgreSQL, no servers)", function () {
  this.timeout(120_000);

  it("runs the shop, prints the gateway URL, serves the seeded catalog and stops on SIGINT", async () => {
    // Every service's port follows the base.
    const base = await freePortRange(serviceModules.length);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"],
      SHOP_IN_MEMORY: "true",
      SHOP_GRPC_BASE_PORT: String(base),
      GATEWAY_PORT: String(await freePort()),
      METRICS_PORT: String(await freePort()),
    };
    const child = spawn(process.execPath, [join(repoRoot(), "dist", "services", "shop-main.js")], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const url = await waitFor(
        "the banner with the gateway URL",
        () => {
          if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${out}`);
          return /the gateway at (http:\/\/\S+)/.exec(out)?.[1];
        },
        { timeoutMs: 90_000, intervalMs: 100 },
      );
      assert.match(out, /curl -s http:\/\/127\.0\.0\.1:\d+\/shop\.catalog\.v1\.CatalogService\/SearchProducts/);
      const reg = await callApi(url, "shop.users.v1.UsersService/Register", { email: "newcomer@shop.test", password: "correct horse battery staple", displayName: "New" });
      assert.equal(reg.status, 200, JSON.stringify(reg.body));
      const search = await callApi(url, "shop.catalog.v1.CatalogService/SearchProducts", { query: "shirt", pageSize: 3 });
      assert.equal(search.status, 200, JSON.stringify(search.body));
      assert.ok((search.body["products"] as unknown[]).length > 0, "the demo catalog is seeded");
      assert.equal((await fetch(`${url}/readyz`)).status, 200, "a service the shop runs without does not hold readiness back");
      // No MongoDB here: reviews is off, said once, and its RPCs say why.
      assert.equal(out.match(/reviews is off: MONGODB_URL is unset/g)?.length, 1, out);
      const reviews = await callApi(url, "shop.reviews.v1.ReviewsService/GetRatingSummary", { productId: "00000000-0000-4000-8000-000000000000" });
      assert.equal(reviews.status, 503);
      assert.equal(reviews.body.code, "unavailable");
      assert.match(reviews.body.message ?? "", /reviews is off in this shop: .*MongoDB \(set MONGODB_URL\)/);

      // One /metrics endpoint for the whole process, every series labelled with its service.
      const metricsUrl = /Prometheus metrics of the whole process: (http:\/\/\S+)/.exec(out)?.[1];
      assert.equal(metricsUrl, `http://127.0.0.1:${env["METRICS_PORT"]}/metrics`);
      const metrics = await scrape(metricsUrl);
      assert.equal(metrics.value("shop_http_server_requests_total", { service: "gateway", procedure: "/shop.catalog.v1.CatalogService/SearchProducts", status: "200" }), 1);
      for (const service of ["users", "catalog", "order"]) assert.equal(metrics.value("shop_db_pool_max", { service }), 1, `${service} shares the embedded PostgreSQL's one connection`);
      assert.notEqual(metrics.value("shop_outbox_backlog", { service: "users" }), undefined, "every service's outbox is watched");
    } finally {
      if (child.exitCode === null) child.kill("SIGINT");
    }
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0, out);
    assert.match(out, /stopping/);
  });
});
