// PostgreSQL access for a service: one pool, a transaction helper, LISTEN, and a span per query.
//
// `Db` is an interface so the embedded mode can put PGlite behind the same calls. Each service
// gets its own database (real servers) or its own schema (embedded); either way the search_path
// is pinned, so a service's SQL can never name another service's tables by accident.
import pg from "pg";
import { SpanKind } from "@opentelemetry/api";
import { getTracer, inSpan } from "../telemetry.js";

export type Row = Record<string, unknown>;

export interface QueryResult<R extends Row = Row> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export type Isolation = "read committed" | "repeatable read" | "serializable";

export interface TxOptions {
  isolation?: Isolation;
  /** Retries on serialization failure or deadlock (SQLSTATE 40001/40P01); default 3 when serializable. */
  retries?: number;
}

export interface Db extends Queryable {
  readonly schema: string | undefined;
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  tx<T>(fn: (q: Queryable) => Promise<T>, opts?: TxOptions): Promise<T>;
  /** Calls `onNotify` for each NOTIFY on `channel` until the returned function is called. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** True when a trivial query succeeds: the health service's readiness check. */
  ping(): Promise<boolean>;
  /** The pool's connections (open, idle, queries waiting for one, the size limit), for saturation metrics. */
  stats(): PoolStats;
  close(): Promise<void>;
}

export interface PoolStats {
  /** Open connections, idle or checked out. */
  readonly total: number;
  readonly idle: number;
  /** Queries and transactions queued for a connection. */
  readonly waiting: number;
  /** The pool's size limit. */
  readonly max: number;
}

export interface DbOptions {
  url: string;
  /** Pin search_path to this schema (created by migrate). */
  schema?: string | undefined;
  max?: number;
  /** Shown in pg_stat_activity. */
  applicationName: string;
  statementTimeoutMs?: number;
}

const tracer = getTracer("shop.db");

// Parse int8 and numeric as strings would force every caller to convert; money is int8 minor
// units well inside 2^53, so int8 comes back as a JS number. Counts (COUNT(*)) likewise.
pg.types.setTypeParser(20, (v) => Number(v));

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe SQL identifier: ${name}`);
  return `"${name}"`;
}

function traced(q: Queryable, dbName: string): Queryable {
  return {
    query: <R extends Row>(sql: string, params?: readonly unknown[]) =>
      inSpan(
        tracer,
        `SQL ${firstWord(sql)}`,
        // The statement is recorded, its parameters never: they may carry personal data.
        { kind: SpanKind.CLIENT, attributes: { "db.system": "postgresql", "db.namespace": dbName, "db.query.text": sql } },
        () => q.query<R>(sql, params),
      ),
  };
}

function firstWord(sql: string): string {
  const m = /^\s*(\w+)/.exec(sql);
  return (m?.[1] ?? "query").toUpperCase();
}

const retryable = new Set(["40001", "40P01"]);

export function createDb(opts: DbOptions): Db {
  const max = opts.max ?? 10;
  const options = opts.schema ? `-c search_path=${quoteIdent(opts.schema)},public` : undefined;
  const pool = new pg.Pool({
    connectionString: opts.url,
    max,
    application_name: opts.applicationName,
    ...(options ? { options } : {}),
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits here; without a listener it would crash the process.
  pool.on("error", () => undefined);
  const dbName = new URL(opts.url).pathname.slice(1) + (opts.schema ? `.${opts.schema}` : "");
  const rawQuery: Queryable = {
    query: async <R extends Row>(sql: string, params?: readonly unknown[]) => {
      const res = await pool.query(sql, params as unknown[] | undefined);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    },
  };
  const q = traced(rawQuery, dbName);

  async function txOnce<T>(fn: (q: Queryable) => Promise<T>, isolation: Isolation | undefined): Promise<T> {
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query(isolation ? `BEGIN ISOLATION LEVEL ${isolation.toUpperCase()}` : "BEGIN");
      const tq = traced(
        {
          query: async <R extends Row>(sql: string, params?: readonly unknown[]) => {
            const res = await client.query(sql, params as unknown[] | undefined);
            return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
          },
        },
        dbName,
      );
      const result = await fn(tq);
      await client.query("COMMIT");
      return result;
    } catch (err) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true; // the connection is gone; do not return it to the pool
      }
      throw err;
    } finally {
      client.release(broken);
    }
  }

  return {
    schema: opts.schema,
    query: (sql, params) => q.query(sql, params),
    async tx(fn, txOpts = {}) {
      const retries = txOpts.retries ?? (txOpts.isolation === "serializable" ? 3 : 0);
      for (let attempt = 0; ; attempt++) {
        try {
          return await inSpan(tracer, "SQL TRANSACTION", { kind: SpanKind.INTERNAL }, () => txOnce(fn, txOpts.isolation));
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          if (attempt < retries && typeof code === "string" && retryable.has(code)) {
            await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * (attempt + 1)));
            continue;
          }
          throw err;
        }
      }
    },
    async listen(channel, onNotify) {
      return listenWithReconnect(pool, channel, onNotify);
    },
    async ping() {
      try {
        await pool.query("SELECT 1");
        return true;
      } catch {
        return false;
      }
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    close: () => pool.end(),
  };
}

/**
 * Holds one dedicated connection in LISTEN; when it drops, reconnects with backoff and calls
 * `onNotify("")` once so the listener re-reads whatever it may have missed meanwhile.
 */
async function listenWithReconnect(
  pool: pg.Pool,
  channel: string,
  onNotify: (payload: string) => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let client: pg.PoolClient | undefined;
  let detach: (c: pg.PoolClient) => void = () => undefined;
  let delay = 100;
  const connect = async (): Promise<void> => {
    while (!stopped) {
      let c: pg.PoolClient | undefined;
      let released = false;
      try {
        c = await pool.connect();
        const conn = c;
        const onNotification = (n: pg.Notification): void => {
          if (n.channel === channel) onNotify(n.payload ?? "");
        };
        const onError = (): void => {
          detach(conn);
          released = true;
          conn.release(true);
          // Before LISTEN succeeded, the loop below is still running and retries by itself.
          if (client !== conn) return;
          client = undefined;
          if (!stopped) setTimeout(() => void connect().then(() => onNotify("")), delay);
        };
        // The client goes back to the pool when listening stops; these handlers must not go with it
        // (a later error on the pooled client would release it a second time and throw).
        detach = (x) => {
          x.removeListener("notification", onNotification);
          x.removeListener("error", onError);
        };
        c.on("notification", onNotification);
        c.on("error", onError);
        await c.query(`LISTEN ${quoteIdent(channel)}`);
        client = c;
        delay = 100;
        return;
      } catch {
        if (c && !released) {
          detach(c);
          c.release(true);
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 5000);
      }
    }
  };
  await connect();
  return async () => {
    stopped = true;
    const c = client;
    client = undefined;
    if (c) {
      detach(c);
      try {
        await c.query(`UNLISTEN ${quoteIdent(channel)}`);
        c.release();
      } catch (err) {
        c.release(true); // the connection is broken; do not hand it to the next caller
        throw err;
      }
    }
  };
}
