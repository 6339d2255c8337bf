// MongoDB for tests. There is no MongoDB on every machine (none on the development one, and
// none can be embedded), so Mongo-backed suites run only when MONGO_URL names a server, a
// replica set (the services need transactions), e.g.
// `MONGO_URL=mongodb://127.0.0.1:27017/?replicaSet=rs0`; otherwise they skip, saying why once.
// Each suite gets a database of its own on that server, dropped after.
import { MongoClient } from "mongodb";
import { uniqueName } from "./names.js";

/** The test server, or undefined when MONGO_URL is unset. */
export const mongoTestUrl: string | undefined = process.env["MONGO_URL"] || undefined;

export const MONGO_SKIP_MESSAGE = "skipped: MONGO_URL is unset (these tests need a MongoDB replica set, e.g. MONGO_URL=mongodb://127.0.0.1:27017/?replicaSet=rs0)";

/**
 * In a suite's `before`: the server's URL, or skip the suite with one printed line. Mocha skips
 * every test of the suite when `before` calls skip.
 */
export function requireMongo(ctx: Mocha.Context, suite: string): string {
  if (mongoTestUrl) return mongoTestUrl;
  process.stdout.write(`  ${suite}: ${MONGO_SKIP_MESSAGE}\n`);
  return ctx.skip();
}

/** `base` with its database path replaced by `name` (options kept). */
export function withDatabase(base: string, name: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(base);
  if (!m) throw new Error("MONGO_URL is not a mongodb:// URL");
  return `${m[1]}/${name}${m[2] ?? ""}`;
}

export interface TestMongoDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

export function createTestMongoDatabase(base: string, prefix = "t"): TestMongoDatabase {
  const name = uniqueName(prefix);
  const url = withDatabase(base, name);
  return {
    url,
    name,
    async drop() {
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
      try {
        await client.db(name).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}
