// MongoDB for a service that keeps its data there (reviews): one client per process, the
// service's database, transactions, a readiness ping, and a CLIENT span per command.
//
// Transactions need a replica set (or a sharded cluster): the outbox and the inbox put an event
// and the change it belongs to in one transaction, so `connectMongo` refuses a standalone
// server at start-up with a message saying how to make it a one-member replica set.
import { MongoClient, type ClientSession, type CommandFailedEvent, type CommandStartedEvent, type CommandSucceededEvent, type Db as MongoDb } from "mongodb";
import type { Span } from "@opentelemetry/api";
import type { Logger } from "../logger.js";
import { context, getTracer, SpanKind, SpanStatusCode, trace } from "../telemetry.js";

const tracer = getTracer("shop.mongo");

export interface MongoOptions {
  /** `mongodb://` or `mongodb+srv://`; the path names the database (default `defaultDb`). */
  readonly url: string;
  /** Database when the URL names none: the service name. */
  readonly defaultDb: string;
  /** Shown in the server's logs and currentOp. */
  readonly appName: string;
  readonly log: Logger;
  /** Longest wait for a server at start-up and per operation's server selection. Default 10s. */
  readonly serverSelectionTimeoutMs?: number;
}

export interface Mongo {
  readonly client: MongoClient;
  readonly db: MongoDb;
  /**
   * Runs `fn` in a transaction (snapshot reads, majority writes) and commits; transient errors
   * (write conflicts, a primary stepping down) rerun `fn`, so it must only touch the database.
   */
  tx<R>(fn: (session: ClientSession) => Promise<R>): Promise<R>;
  /** True while the server answers a ping. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** The database a MongoDB URL names in its path, if any. */
export function databaseOf(url: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/[^/?]*\/([^?]+)/.exec(url);
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

export const STANDALONE_MESSAGE =
  "MONGODB_URL points at a standalone MongoDB server, which has no transactions; a replica set is required " +
  "(a single server can be one: start mongod with --replSet rs0 and run rs.initiate() once)";

export async function connectMongo(opts: MongoOptions): Promise<Mongo> {
  const client = new MongoClient(opts.url, {
    appName: opts.appName,
    monitorCommands: true,
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMs ?? 10_000,
  });
  traceCommands(client);
  try {
    await client.connect();
    const hello = await client.db("admin").command({ hello: 1 });
    if (typeof hello["setName"] !== "string" && hello["msg"] !== "isdbgrid") throw new Error(STANDALONE_MESSAGE);
  } catch (err) {
    await client.close().catch(() => undefined);
    // The driver's messages name hosts, never credentials; ours above names neither.
    throw new Error(`cannot use MongoDB: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const db = client.db(databaseOf(opts.url) ?? opts.defaultDb);
  return {
    client,
    db,
    tx: (fn) =>
      client.withSession((session) =>
        session.withTransaction(() => fn(session), {
          readConcern: { level: "snapshot" },
          writeConcern: { w: "majority" },
          readPreference: "primary",
        }),
      ),
    async ping() {
      try {
        await db.command({ ping: 1 });
        return true;
      } catch (err) {
        opts.log.warn("mongodb ping failed", { err });
        return false;
      }
    },
    close: () => client.close(),
  };
}

/**
 * A CLIENT span per command, child of whatever is active when the driver sends it (the RPC or
 * the consumer). Only the command's name and collection are recorded, never its documents.
 * Commands outside any span (a change stream's getMore every second, start-up index builds) are
 * not traced: they would litter the trace store with root spans, as the relay's polling would.
 */
function traceCommands(client: MongoClient): void {
  const spans = new Map<number, Span>();
  client.on("commandStarted", (e: CommandStartedEvent) => {
    if (e.commandName === "hello" || e.commandName === "isMaster" || e.commandName === "ping") return;
    if (!trace.getSpan(context.active())) return;
    const collection = typeof e.command[e.commandName] === "string" ? (e.command[e.commandName] as string) : undefined;
    const span = tracer.startSpan(
      collection ? `${e.commandName} ${collection}` : e.commandName,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system.name": "mongodb",
          "db.namespace": e.databaseName,
          "db.operation.name": e.commandName,
          ...(collection ? { "db.collection.name": collection } : {}),
        },
      },
      context.active(),
    );
    spans.set(e.requestId, span);
  });
  const end = (e: CommandSucceededEvent | CommandFailedEvent, failed: boolean) => {
    const span = spans.get(e.requestId);
    if (!span) return;
    spans.delete(e.requestId);
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: (e as CommandFailedEvent).failure.message });
    span.end();
  };
  client.on("commandSucceeded", (e: CommandSucceededEvent) => end(e, false));
  client.on("commandFailed", (e: CommandFailedEvent) => end(e, true));
}
