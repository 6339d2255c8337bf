// The embedded mode's database: one PGlite (PostgreSQL compiled to WebAssembly) per process,
// shared by every service, each service in its own schema: the same isolation as a database
// per service, at a fraction of the memory (~0.8 GB for the first instance, ~0.2 GB for each
// more, so one, not ten).
//
// PGlite is a single connection, so two things differ from a pg pool and are handled here:
// - search_path is per session, and services interleave: every statement runs under a mutex
//   that switches search_path when the schema changes (cheap: in-process, and usually a no-op);
// - a transaction holds the connection: while one runs, other statements wait. Code must use
//   the transaction's `q` inside `tx()` (as it must anyway) and never wait on another service
//   while holding a transaction, or it would wait on itself.
import { PGlite, types } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import type { Db, Queryable, QueryResult, Row } from "./db.js";
import { quoteIdent } from "./db.js";

export interface EmbeddedPostgres {
  /** A Db for one service, confined to `schema` (created by migrate). */
  forSchema(schema: string): Db;
  close(): Promise<void>;
}

/** Opens (or creates) the database in `dataDir`; in memory when undefined. */
export async function openEmbeddedPostgres(dataDir: string | undefined): Promise<EmbeddedPostgres> {
  const pg = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    extensions: { pg_trgm },
    // Same JS types as node-postgres: bytea as Buffer, int8 as number (money in minor units fits).
    parsers: {
      [types.BYTEA]: (v: string) => Buffer.from(v.slice(2), "hex"),
      [types.INT8]: (v: string) => Number(v),
    },
  });
  let tail: Promise<unknown> = Promise.resolve();
  let waiting = 0;
  let currentPath = "";
  let closed = false;

  // Serializes access: each call runs after the previous one settled.
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    waiting++;
    const run = tail.then(() => {
      waiting--;
      return fn();
    });
    tail = run.catch(() => undefined);
    return run;
  };

  const run = async <R extends Row>(
    target: Pick<PGlite, "query" | "exec">,
    sql: string,
    params: readonly unknown[] | undefined,
  ): Promise<QueryResult<R>> => {
    // Like node-postgres: without parameters the simple protocol, which allows several
    // statements (migrations); with parameters one statement, extended protocol.
    if (!params || params.length === 0) {
      const results = await target.exec(sql);
      const last = results[results.length - 1];
      return { rows: (last?.rows ?? []) as R[], rowCount: rowCountOf(last) };
    }
    const res = await target.query<R>(sql, params as unknown[]);
    return { rows: res.rows, rowCount: rowCountOf(res) };
  };

  return {
    forSchema(schema) {
      const path = `SET search_path TO ${quoteIdent(schema)}, public`;
      const withPath = async <T>(fn: () => Promise<T>): Promise<T> =>
        exclusive(async () => {
          if (currentPath !== path) {
            await pg.exec(path);
            currentPath = path;
          }
          return fn();
        });
      const db: Db = {
        schema,
        query: (sql, params) => withPath(() => run(pg, sql, params)),
        tx: (fn) =>
          withPath(() =>
            pg.transaction(async (tx) => {
              const q: Queryable = { query: (sql, params) => run(tx, sql, params) };
              return fn(q);
            }),
          ),
        async listen(channel, onNotify) {
          const unlisten = await exclusive(() => pg.listen(channel, onNotify));
          return () => exclusive(() => unlisten());
        },
        ping: async () => !closed,
        // One connection, shared by every schema: each service reports the instance's.
        stats: () => ({ total: 1, idle: waiting === 0 ? 1 : 0, waiting, max: 1 }),
        close: async () => undefined, // the instance is shared; its owner closes it
      };
      return db;
    },
    async close() {
      closed = true;
      await exclusive(() => pg.close());
    },
  };
}

function rowCountOf(res: { rows: unknown[]; affectedRows?: number; rowCount?: number; command?: string } | undefined): number {
  if (!res) return 0;
  if (res.rowCount !== undefined) return res.rowCount;
  return res.command === "SELECT" ? res.rows.length : (res.affectedRows ?? res.rows.length);
}
