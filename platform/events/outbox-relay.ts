// The outbox relay: moves committed outbox rows to the event transport, at least once, in order.
//
// Each round locks a bounded batch of unpublished rows (FOR UPDATE SKIP LOCKED, so replicas
// share the work instead of queueing behind each other), publishes them all, waits for every
// confirm, marks the confirmed ones and commits. A crash or broker loss anywhere before the
// commit leaves the rows unpublished and unlocked: they go out again later. Duplicates are the
// consumers' problem (the inbox); a lost or skipped event is impossible because nothing is
// remembered outside the rows themselves (no high-water mark).
//
// Order: rows go out by id within a batch, on one channel. Across replicas, or when a lower id
// commits after a higher one, events can overtake each other; consumers must not rely on order.
import { ROOT_CONTEXT, context, trace } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import type { Db } from "../db/db.js";
import { unavailable } from "../errors.js";
import type { Logger } from "../logger.js";
import { recordOutboxPublished } from "../metrics/index.js";
import { extractContext, getTracer, injectContext, recordError, SpanKind } from "../telemetry.js";
import type { EventPublisher } from "./event-bus.js";
import { outboxChannel } from "./outbox.js";

const tracer = getTracer("shop.events");

/** An event waiting in an outbox, as a source hands it to the relay. */
export interface OutboxRecord {
  readonly eventId: string;
  readonly type: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly createdAt: Date;
}

/**
 * Where a relay finds its events: PostgreSQL's outbox table (`createPostgresOutboxSource`, what
 * `db` gives) or another store's (platform/mongo's `createMongoOutboxSource`). The relay's loop,
 * publishing, tracing and retry are the same for every source.
 */
export interface OutboxSource {
  /**
   * Holds up to `limit` unpublished events for this relay alone (other replicas skip them),
   * hands them to `publish` in outbox order, and marks the ids it returns as published. If
   * anything throws before the mark, every event of the batch stays unpublished.
   */
  withBatch(limit: number, publish: (records: readonly OutboxRecord[]) => Promise<readonly string[]>): Promise<void>;
  /** Calls `wake` when events may have been committed; resolves a function that stops listening. */
  listen(wake: () => void): Promise<() => Promise<void>>;
  stats(): Promise<OutboxStats>;
}

export interface OutboxRelayOptions {
  /** The service's PostgreSQL, whose outbox table is the source; or give `source`. */
  db?: Db;
  source?: OutboxSource;
  publisher: EventPublisher;
  logger: Logger;
  /** The producing service: the `service` label of the relay's metrics. Default `unknown`. */
  service?: string;
  /** Rows per transaction. Default 100. */
  batchSize?: number;
  /** Backstop poll for missed notifications and retries after a failure. Default 1000ms. */
  pollIntervalMs?: number;
  /**
   * How long a batch waits for its confirms. A publish still unconfirmed then counts as failed:
   * its row stays unpublished and goes out again (a duplicate the inbox absorbs), instead of
   * holding the batch's transaction open if a confirm never comes. Default 30s.
   */
  confirmTimeoutMs?: number;
  /**
   * Fault injection for tests: runs after the batch's confirms and before it is marked. If it
   * throws, the transaction rolls back exactly as if the process had died at that point.
   */
  beforeMark?: (eventIds: readonly string[]) => void | Promise<void>;
}

export interface OutboxStats {
  /** Unpublished rows. */
  backlog: number;
  /** Age of the oldest unpublished row in milliseconds; 0 when there is none. */
  lagMs: number;
}

export interface OutboxRelay {
  /** Subscribes to the outbox channel and starts the poll timer; publishes what is pending. */
  start(): Promise<void>;
  /** Stops waking up and waits for the batch in flight to finish. */
  stop(): Promise<void>;
  /** Publishes until the outbox is empty (or a publish fails); returns how many went out. */
  drain(): Promise<number>;
  stats(): Promise<OutboxStats>;
}

interface OutboxRow extends Record<string, unknown> {
  id: number;
  event_id: string;
  type: string;
  payload: Buffer;
  headers: Record<string, string>;
  created_at: Date;
}

/** The outbox table of `db` (the eventsMigrationSet's), woken by the enqueue's NOTIFY. */
export function createPostgresOutboxSource(db: Db): OutboxSource {
  return {
    withBatch: (limit, publish) =>
      db.tx(async (q) => {
        const { rows } = await q.query<OutboxRow>(
          `SELECT id, event_id, type, payload, headers, created_at FROM outbox
           WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        const confirmed = new Set(
          await publish(rows.map((r) => ({ eventId: r.event_id, type: r.type, payload: r.payload, headers: r.headers, createdAt: r.created_at }))),
        );
        const ids = rows.filter((r) => confirmed.has(r.event_id)).map((r) => r.id);
        if (ids.length > 0) await q.query("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [ids]);
      }),
    listen: async (wake) => db.listen(await outboxChannel(db), wake),
    async stats() {
      const { rows } = await db.query<{ backlog: number; lag_ms: number }>(
        `SELECT count(*)::int AS backlog,
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)) * 1000, 0)::float8 AS lag_ms
         FROM outbox WHERE published_at IS NULL`,
      );
      return { backlog: rows[0]?.backlog ?? 0, lagMs: Math.max(0, Math.round(rows[0]?.lag_ms ?? 0)) };
    },
  };
}

/** `Promise.allSettled`, except that what has not settled after `ms` counts as rejected. */
async function settleWithin<T>(promises: readonly Promise<T>[], ms: number): Promise<PromiseSettledResult<T>[]> {
  const results = new Array<PromiseSettledResult<T> | undefined>(promises.length);
  const all = Promise.all(
    promises.map((p, i) =>
      p.then(
        (value) => void (results[i] = { status: "fulfilled", value }),
        (reason: unknown) => void (results[i] = { status: "rejected", reason }),
      ),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([all, expired]);
  } finally {
    clearTimeout(timer);
  }
  // Array.from, not map: map would skip the holes, which are exactly the unsettled ones.
  return Array.from(results, (r) => r ?? { status: "rejected", reason: unavailable(`no publisher confirm within ${ms}ms`) });
}

function missing(message: string): never {
  throw new Error(message);
}

export function createOutboxRelay(opts: OutboxRelayOptions): OutboxRelay {
  const { publisher, logger } = opts;
  const service = opts.service ?? "unknown";
  const source = opts.source ?? createPostgresOutboxSource(opts.db ?? missing("createOutboxRelay needs a db or a source"));
  const batchSize = opts.batchSize ?? 100;
  const pollIntervalMs = opts.pollIntervalMs ?? 1000;
  const confirmTimeoutMs = opts.confirmTimeoutMs ?? 30_000;
  let stopped = true;
  let stopping = false;
  let wanted = false;
  let running: Promise<void> | undefined;
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  function publishRow(row: OutboxRecord): Promise<void> {
    // The stored context is the request that produced the event; the publish span continues it
    // and becomes, through the headers, the parent of every consumer's span.
    const parent = extractContext(row.headers, ROOT_CONTEXT);
    const span = tracer.startSpan(
      `publish ${publisher.destination.name}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          "messaging.system": publisher.destination.system,
          "messaging.operation.type": "send",
          "messaging.destination.name": publisher.destination.name,
          "messaging.rabbitmq.destination.routing_key": row.type,
          "messaging.message.id": row.eventId,
          "messaging.message.body.size": row.payload.byteLength,
        },
      },
      parent,
    );
    const headers: Record<string, unknown> = {};
    injectContext(headers, trace.setSpan(parent, span));
    const envelope = {
      id: row.eventId,
      type: row.type,
      payload: row.payload,
      timestamp: row.createdAt,
      headers: headers as Record<string, string>,
    };
    return publisher.publish(envelope).then(
      () => span.end(),
      (err: unknown) => {
        recordError(span, err);
        span.end();
        throw err;
      },
    );
  }

  /** One batch; returns how many rows it published and the first publish error, if any. */
  async function publishBatch(): Promise<{ published: number; full: boolean; error?: Error }> {
    let outcome: { published: number; full: boolean; error?: Error } = { published: 0, full: false };
    await source.withBatch(batchSize, async (rows) => {
      if (rows.length === 0) return [];
      // All publishes are issued before any confirm is awaited: one round trip per batch, and
      // the channel keeps them in outbox order.
      const results = await settleWithin(rows.map(publishRow), confirmTimeoutMs);
      const confirmed = rows.filter((_, i) => results[i]?.status === "fulfilled").map((r) => r.eventId);
      const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (opts.beforeMark) await opts.beforeMark(confirmed);
      outcome = { published: confirmed.length, full: rows.length === batchSize, ...(failure ? { error: failure.reason instanceof Error ? failure.reason : new Error("publish failed", { cause: failure.reason }) } : {}) };
      return confirmed;
    });
    return outcome;
  }

  async function drain(untilStopped: boolean): Promise<number> {
    let total = 0;
    // Polling is routine, not a request: its SQL would only litter the trace store with roots.
    // The publish spans are unaffected because they name their parent explicitly.
    await context.with(suppressTracing(ROOT_CONTEXT), async () => {
      for (;;) {
        const { published, full, error } = await publishBatch();
        // Counted once committed: a batch rolled back after its confirms goes out again.
        recordOutboxPublished(service, published);
        total += published;
        if (error) throw error;
        if (!full || (untilStopped && stopping)) return; // stop() should not wait for a large backlog
      }
    });
    return total;
  }

  function wake(): void {
    if (stopped || Date.now() < pausedUntil) return;
    wanted = true;
    running ??= loop().finally(() => (running = undefined));
  }

  async function loop(): Promise<void> {
    while (wanted && !stopped) {
      wanted = false;
      try {
        await drain(true);
      } catch (err) {
        // The rows are still there; try again at the next poll rather than spin on a dead broker.
        pausedUntil = Date.now() + pollIntervalMs;
        logger.warn("outbox publish failed; will retry", { err });
        return;
      }
    }
  }

  return {
    async start() {
      if (!stopped) return;
      stopped = false;
      stopping = false;
      pausedUntil = 0;
      unlisten = await source.listen(wake);
      timer = setInterval(wake, pollIntervalMs);
      timer.unref();
      wake();
    },
    async stop() {
      stopped = true;
      stopping = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      const u = unlisten;
      unlisten = undefined;
      await u?.();
      await running;
    },
    drain: () => drain(false),
    // Read at every metrics scrape: like the polling, not worth a trace of its own.
    stats: () => context.with(suppressTracing(ROOT_CONTEXT), () => source.stats()),
  };
}
