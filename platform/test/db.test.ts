import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDb, type Db } from "../db/db.js";
import { migrate } from "../db/migrate.js";
import { createTestDatabase, type TestDatabase } from "../testing/pg.js";

describe("db (real PostgreSQL)", () => {
  let tdb: TestDatabase;
  let db: Db;
  let dir: string;

  before(async () => {
    tdb = await createTestDatabase("platform_db");
    db = createDb({ url: tdb.url, schema: "orders", applicationName: "test" });
    dir = await mkdtemp(join(tmpdir(), "migrations-"));
    await writeFile(join(dir, "001_create.sql"), "CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL CHECK (qty >= 0));");
    await writeFile(join(dir, "002_seed.sql"), "INSERT INTO items VALUES (1, 5);");
  });

  after(async () => {
    await db.close();
    await tdb.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it("applies migrations once, inside the service's own schema", async () => {
    assert.deepEqual(await migrate(db, [{ name: "service", dir }]), ["service/1_create", "service/2_seed"]);
    assert.deepEqual(await migrate(db, [{ name: "service", dir }]), []);
    const { rows } = await db.query<{ table_schema: string }>(
      "SELECT table_schema FROM information_schema.tables WHERE table_name = 'items'",
    );
    assert.deepEqual(rows, [{ table_schema: "orders" }]);
  });

  it("refuses a migration edited after it was applied", async () => {
    await writeFile(join(dir, "002_seed.sql"), "INSERT INTO items VALUES (2, 5);");
    await assert.rejects(migrate(db, [{ name: "service", dir }]), /2_seed was changed after it was applied/);
    await writeFile(join(dir, "002_seed.sql"), "INSERT INTO items VALUES (1, 5);");
  });

  it("lets concurrent starters migrate without conflict", async () => {
    await writeFile(join(dir, "003_more.sql"), "ALTER TABLE items ADD COLUMN note text;");
    const results = await Promise.all([1, 2, 3].map(() => migrate(db, [{ name: "service", dir }])));
    assert.equal(results.flat().length, 1);
  });

  it("commits a transaction that resolves and rolls back one that throws", async () => {
    await db.tx(async (q) => {
      await q.query("UPDATE items SET qty = qty - 1 WHERE id = 1");
    });
    await assert.rejects(
      db.tx(async (q) => {
        await q.query("UPDATE items SET qty = qty - 1 WHERE id = 1");
        throw new Error("boom");
      }),
      /boom/,
    );
    const { rows } = await db.query<{ qty: number }>("SELECT qty FROM items WHERE id = 1");
    assert.equal(rows[0]!.qty, 4);
  });

  it("retries serializable transactions that lose a conflict", async () => {
    // Ten concurrent read-modify-write decrements: under SERIALIZABLE some fail with 40001 and
    // are retried, so every decrement lands exactly once.
    await db.query("UPDATE items SET qty = 10 WHERE id = 1");
    await Promise.all(
      Array.from({ length: 10 }, () =>
        db.tx(
          async (q) => {
            const { rows } = await q.query<{ qty: number }>("SELECT qty FROM items WHERE id = 1");
            await q.query("UPDATE items SET qty = $1 WHERE id = 1", [rows[0]!.qty - 1]);
          },
          { isolation: "serializable", retries: 20 },
        ),
      ),
    );
    const { rows } = await db.query<{ qty: number }>("SELECT qty FROM items WHERE id = 1");
    assert.equal(rows[0]!.qty, 0);
  });

  it("delivers NOTIFY to a listener after commit", async () => {
    const got: string[] = [];
    const stop = await db.listen("test_channel", (p) => got.push(p));
    await db.tx(async (q) => {
      await q.query("SELECT pg_notify('test_channel', 'hello')");
      assert.deepEqual(got, []);
    });
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(got, ["hello"]);
    await stop();
  });

  it("reports readiness", async () => {
    assert.equal(await db.ping(), true);
    const dead = createDb({ url: "postgres://postgres@127.0.0.1:1/none", applicationName: "test" });
    assert.equal(await dead.ping(), false);
    await dead.close();
  });
});
