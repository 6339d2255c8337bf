import assert from "node:assert/strict";
import { migrate } from "../db/migrate.js";
import { openEmbeddedPostgres, type EmbeddedPostgres } from "../db/embedded-postgres.js";
import { eventsMigrationSet } from "../events/index.js";
import { sourcePath } from "../paths.js";
import { waitFor } from "../testing/wait-for.js";

describe("embedded PostgreSQL (PGlite, one instance, a schema per service)", () => {
  let pg: EmbeddedPostgres;
  before(async function () {
    this.timeout(60_000); // the WebAssembly instance takes a few seconds to boot
    pg = await openEmbeddedPostgres(undefined);
  });
  after(async () => {
    await pg.close();
  });

  it("runs the same migrations as real PostgreSQL, each service in its own schema", async () => {
    const fixtures = { name: "fixture", dir: sourcePath("platform", "test", "fixtures", "migrations") };
    const a = pg.forSchema("svc_a");
    const b = pg.forSchema("svc_b");
    assert.deepEqual(await migrate(a, [eventsMigrationSet, fixtures]), ["platform-events/1_outbox_inbox", "fixture/1_products"]);
    assert.deepEqual(await migrate(b, [eventsMigrationSet, fixtures]), ["platform-events/1_outbox_inbox", "fixture/1_products"]);
    await a.query("INSERT INTO products (id, slug, name) VALUES (gen_random_uuid(), 'a-only', 'A')");
    const [inA, inB] = await Promise.all([a.query("SELECT slug FROM products"), b.query("SELECT slug FROM products")]);
    assert.deepEqual(inA.rows, [{ slug: "a-only" }]);
    assert.deepEqual(inB.rows, []);
  });

  it("keeps interleaved statements of different services in their own schemas", async () => {
    const a = pg.forSchema("svc_a");
    const b = pg.forSchema("svc_b");
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).query("INSERT INTO products (id, slug, name) VALUES (gen_random_uuid(), $1, 'x')", [`p-${i}`]),
      ),
    );
    const counts = await Promise.all([a, b].map((db) => db.query<{ n: number }>("SELECT count(*)::int AS n FROM products WHERE slug LIKE 'p-%'")));
    assert.deepEqual(counts.map((c) => c.rows[0]!.n), [10, 10]);
  });

  it("commits or rolls back transactions and reports row counts like node-postgres", async () => {
    const a = pg.forSchema("svc_a");
    await assert.rejects(
      a.tx(async (q) => {
        await q.query("INSERT INTO products (id, slug, name) VALUES (gen_random_uuid(), 'rolled-back', 'x')");
        throw new Error("boom");
      }),
      /boom/,
    );
    const inserted = await a.tx((q) => q.query("INSERT INTO products (id, slug, name) VALUES (gen_random_uuid(), 'kept', 'x') ON CONFLICT DO NOTHING"));
    assert.equal(inserted.rowCount, 1);
    const again = await a.query("INSERT INTO products (id, slug, name) VALUES (gen_random_uuid(), 'kept', 'x') ON CONFLICT DO NOTHING");
    assert.equal(again.rowCount, 0);
    const { rows, rowCount } = await a.query<{ slug: string }>("SELECT slug FROM products WHERE slug IN ('kept', 'rolled-back')");
    assert.deepEqual(rows, [{ slug: "kept" }]);
    assert.equal(rowCount, 1);
  });

  it("returns bytea as Buffer and int8 as number", async () => {
    const a = pg.forSchema("svc_a");
    const { rows } = await a.query<{ b: unknown; n: unknown }>("SELECT $1::bytea AS b, 9007199254740991::int8 AS n", [Buffer.from([1, 2, 3])]);
    assert.ok(Buffer.isBuffer(rows[0]!.b));
    assert.deepEqual([...(rows[0]!.b)], [1, 2, 3]);
    assert.equal(rows[0]!.n, 9007199254740991);
  });

  it("delivers NOTIFY after commit to listeners", async () => {
    const a = pg.forSchema("svc_a");
    const got: string[] = [];
    const stop = await a.listen("outbox_svc_a", (p) => got.push(p));
    await a.tx(async (q) => {
      await q.query("SELECT pg_notify('outbox_svc_a', 'x')");
    });
    await waitFor("the notification", () => got.length > 0 || undefined);
    await stop();
  });

  it("has pg_trgm for fuzzy search", async () => {
    const a = pg.forSchema("svc_a");
    await a.query("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public");
    const { rows } = await a.query<{ s: number }>("SELECT similarity('linen shirt', 'linen shrit') AS s");
    assert.ok(rows[0]!.s > 0.3);
  });
});
