// State that already lives somewhere (a pool's counts, a breaker, an outbox table, a queue) is
// read when Prometheus scrapes, not copied on a timer: a watcher registers a read function and
// the gauges in registry.ts call it from their collect hook. A read that fails or times out
// drops its series from that scrape instead of failing the scrape or showing a stale value.
import type { BreakerState } from "../grpc/client-policies.js";

export interface DbPoolStats {
  readonly inUse: number;
  readonly idle: number;
  readonly waiting: number;
  readonly max: number;
}

export interface OutboxReading {
  readonly backlog: number;
  readonly lagMs: number;
}

export interface QueueReading {
  /** Messages ready in the queue. */
  readonly ready: number;
  /** Messages in its dead-letter queue. */
  readonly deadLettered: number;
}

type Read<T> = () => T | Promise<T>;

export interface Source<L, T> {
  readonly labels: L;
  readonly read: Read<T>;
}

/** The registered read functions, keyed by their label values. Only registry.ts reads these. */
export const sources = {
  breakers: new Map<string, Source<{ service: string; peer: string }, BreakerState>>(),
  dbPools: new Map<string, Source<{ service: string }, DbPoolStats>>(),
  outboxes: new Map<string, Source<{ service: string }, OutboxReading>>(),
  queues: new Map<string, Source<{ service: string; queue: string }, QueueReading>>(),
};

/** A scrape should never wait long on one source. */
export const readTimeoutMs = 2000;

function add<L, T>(map: Map<string, Source<L, T>>, key: string, source: Source<L, T>): () => void {
  map.set(key, source);
  return () => {
    if (map.get(key) === source) map.delete(key);
  };
}

/** The breaker of `service`'s client for `peer`, e.g. `client.breakerState` of a platform client. */
export function watchBreaker(service: string, peer: string, read: Read<BreakerState>): () => void {
  return add(sources.breakers, `${service}\u0000${peer}`, { labels: { service, peer }, read });
}

/** A pg pool: `{ inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount, max }`. */
export function watchDbPool(service: string, read: Read<DbPoolStats>): () => void {
  return add(sources.dbPools, service, { labels: { service }, read });
}

/** The outbox relay's `stats()` (one small aggregate query per scrape). */
export function watchOutbox(service: string, read: Read<OutboxReading>): () => void {
  return add(sources.outboxes, service, { labels: { service }, read });
}

/** A consumer's queue and its DLQ, e.g. from `checkQueue(queue)` and `checkQueue(queue + ".dlq")`. */
export function watchQueue(service: string, queue: string, read: Read<QueueReading>): () => void {
  return add(sources.queues, `${service}\u0000${queue}`, { labels: { service, queue }, read });
}

export type Reading<L, T> = { labels: L; value: T | undefined }[];

const inflight = new Map<Map<string, Source<never, unknown>>, Promise<Reading<never, unknown>>>();

/**
 * Reads every source of `map`; failed or slow reads come back as undefined. The registry asks
 * all its metrics at once, so gauges fed by the same source (backlog and lag of one outbox)
 * share the round in flight instead of reading twice.
 */
export function readAll<L, T>(map: Map<string, Source<L, T>>): Promise<Reading<L, T>> {
  const key = map as unknown as Map<string, Source<never, unknown>>;
  let round = inflight.get(key) as Promise<Reading<L, T>> | undefined;
  if (!round) {
    round = Promise.all([...map.values()].map(async (s) => ({ labels: s.labels, value: await readWithTimeout(s.read) })));
    inflight.set(key, round as unknown as Promise<Reading<never, unknown>>);
    void round.finally(() => inflight.delete(key));
  }
  return round;
}

async function readWithTimeout<T>(read: Read<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), readTimeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(read).catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
