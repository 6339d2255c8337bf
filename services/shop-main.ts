// `npm start`: the whole shop in this process, until Ctrl-C. See services/shop.ts.
import { startShop } from "./shop.js";

try {
  const shop = await startShop();
  const url = shop.gateway.url;
  process.stdout.write(
    [
      "",
      `Shop mesh is running: ${shop.services.length} services and the gateway at ${url}`,
      `Prometheus metrics of the whole process: ${shop.metricsUrl}`,
      ...shop.off.map((o) => `${o.name} is off: ${o.reason}`),
      "",
      "Try:",
      `  curl -s ${url}/shop.catalog.v1.CatalogService/SearchProducts -H 'content-type: application/json' -d '{"query":"shirt","pageSize":3}'`,
      `  curl -s ${url}/openapi.json | head -c 300`,
      "",
      "Ctrl-C stops it.",
      "",
    ].join("\n"),
  );
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("stopping...\n");
    void shop.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
} catch (err) {
  process.stderr.write(`shop: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
