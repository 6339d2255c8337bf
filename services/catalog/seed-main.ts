// Seeds the catalog database at DATABASE_URL (schema DATABASE_SCHEMA, default "catalog"),
// applying the catalog's migrations first:
//
//   node dist/services/catalog/seed-main.js              the demo catalog, if the catalog is empty
//   node dist/services/catalog/seed-main.js --count N    N generated products for benchmarks (tops up)
import { parseArgs } from "node:util";
import { loadConfig, optional, str, url } from "../../platform/config.js";
import { createDb } from "../../platform/db/db.js";
import { migrate } from "../../platform/db/migrate.js";
import { eventsMigrationSet } from "../../platform/events/index.js";
import { sourcePath } from "../../platform/paths.js";
import { seedDemoCatalog, seedLargeCatalog } from "./seed.js";

const spec = {
  DATABASE_URL: url({ doc: "the catalog's PostgreSQL database", protocols: ["postgres", "postgresql"], secret: true }),
  DATABASE_SCHEMA: optional(str({ doc: "schema holding the catalog's tables (default: catalog)" })),
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { count: { type: "string" } } });
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new Error("--count must be a positive integer");
  const config = loadConfig(spec);
  const db = createDb({ url: config.DATABASE_URL, schema: config.DATABASE_SCHEMA ?? "catalog", applicationName: "catalog-seed" });
  try {
    await migrate(db, [eventsMigrationSet, { name: "catalog", dir: sourcePath("services", "catalog", "migrations") }]);
    const started = Date.now();
    const result =
      count === undefined
        ? await seedDemoCatalog(db)
        : await seedLargeCatalog(db, count, { onProgress: (done) => process.stderr.write(`\r${done}/${count} products`) });
    if (count !== undefined) process.stderr.write("\n");
    process.stdout.write(JSON.stringify({ ...result, seconds: (Date.now() - started) / 1000 }) + "\n");
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`catalog seed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
