// Versioned SQL migrations. A migration set is a folder of `NNN_description.sql` files applied
// in order, each in its own transaction, recorded in `schema_migrations` with a checksum so
// that editing an applied migration is caught instead of silently diverging. An advisory lock
// lets several replicas start at once: one migrates, the others wait and find nothing to do.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Db, Queryable } from "./db.js";
import { quoteIdent } from "./db.js";

export interface MigrationSet {
  /** Distinguishes sets sharing one schema, e.g. "platform" (outbox, inbox) and "service". */
  name: string;
  dir: string;
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".sql")).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!m) throw new Error(`migration file name must look like 001_description.sql: ${join(dir, file)}`);
    const sql = await readFile(join(dir, file), "utf8");
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) throw new Error(`duplicate migration version ${version} in ${dir}`);
    out.push({ version, name: m[2]!, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return out;
}

/** Applies every pending migration of each set, in order. Returns the names applied. */
export async function migrate(db: Db, sets: readonly MigrationSet[]): Promise<string[]> {
  const applied: string[] = [];
  const lockKey = `migrate:${db.schema ?? "public"}`;
  await db.tx(async (q) => {
    await q.query("SELECT pg_advisory_xact_lock(hashtext($1))", [lockKey]);
    if (db.schema) await q.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(db.schema)}`);
    await q.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      set_name text NOT NULL,
      version integer NOT NULL,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (set_name, version))`);
    for (const set of sets) {
      const done = await appliedVersions(q, set.name);
      for (const m of await readMigrations(set.dir)) {
        const prior = done.get(m.version);
        if (prior !== undefined) {
          if (prior !== m.checksum) {
            throw new Error(`migration ${set.name}/${m.version}_${m.name} was changed after it was applied`);
          }
          continue;
        }
        await q.query(m.sql);
        await q.query("INSERT INTO schema_migrations (set_name, version, name, checksum) VALUES ($1, $2, $3, $4)", [
          set.name,
          m.version,
          m.name,
          m.checksum,
        ]);
        applied.push(`${set.name}/${m.version}_${m.name}`);
      }
    }
  });
  return applied;
}

async function appliedVersions(q: Queryable, setName: string): Promise<Map<number, string>> {
  const { rows } = await q.query<{ version: number; checksum: string }>(
    "SELECT version, checksum FROM schema_migrations WHERE set_name = $1",
    [setName],
  );
  return new Map(rows.map((r) => [r.version, r.checksum]));
}
