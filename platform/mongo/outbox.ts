// The transactional outbox on MongoDB: the same contract as PostgreSQL's (events/outbox.ts),
// relayed by the same relay (events/outbox-relay.ts) through `createMongoOutboxSource`.
//
// - `enqueueMongoEvent(session, ...)` writes the event document in the caller's transaction, so
//   the event exists if and only if the change commits. A repeated id changes nothing (upsert).
// - The relay claims a batch with a lease instead of FOR UPDATE SKIP LOCKED: documents are
//   taken by setting `leaseUntil`/`leaseToken`, published, and the confirmed ones marked; a
//   relay that dies mid-batch leaves leases that expire, and the events go out again. At least
//   once, never lost; consumers deduplicate by event id (their inbox).
// - Wake-ups come from a change stream on inserts (committed writes only, like NOTIFY at
//   commit); the relay's poll timer is the backstop if the stream fails.
// - Published documents expire through a TTL index on `publishedAt`; unpublished ones never do.
import { randomUUID } from "node:crypto";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Binary, type ClientSession, type Collection } from "mongodb";
import { createEnvelope, type EnqueueOptions, type OutboxSource } from "../events/index.js";
import type { Logger } from "../logger.js";
import type { Mongo } from "./mongo.js";

export const OUTBOX_COLLECTION = "outbox";

interface OutboxDoc {
  _id: string;
  type: string;
  payload: Binary;
  headers: Record<string, string>;
  createdAt: Date;
  published: boolean;
  publishedAt?: Date;
  leaseUntil: Date;
  leaseToken?: string;
}

const outboxOf = (mongo: Mongo): Collection<OutboxDoc> => mongo.db.collection<OutboxDoc>(OUTBOX_COLLECTION);

export interface MongoOutboxIndexOptions {
  /** How long published events are kept (for inspection) before MongoDB deletes them. Default 7 days. */
  readonly keepPublishedMs?: number;
}

/** The outbox's indexes; idempotent, run at start-up. */
export async function ensureMongoOutbox(mongo: Mongo, opts: MongoOutboxIndexOptions = {}): Promise<void> {
  const outbox = outboxOf(mongo);
  await outbox.createIndex({ createdAt: 1, _id: 1 }, { name: "unpublished_by_age", partialFilterExpression: { published: false } });
  await outbox.createIndex({ publishedAt: 1 }, { name: "published_ttl", expireAfterSeconds: Math.round((opts.keepPublishedMs ?? 7 * 86_400_000) / 1000) });
}

/**
 * Adds the event to the outbox inside the caller's transaction and returns its id. The active
 * trace context is stored with it so the relay's publish continues this trace.
 */
export async function enqueueMongoEvent<Desc extends DescMessage>(
  mongo: Mongo,
  session: ClientSession,
  schema: Desc,
  message: MessageShape<Desc> | MessageInitShape<Desc>,
  opts: EnqueueOptions = {},
): Promise<string> {
  const envelope = createEnvelope(schema, message, { id: opts.id ?? randomUUID() });
  await outboxOf(mongo).updateOne(
    { _id: envelope.id },
    {
      $setOnInsert: {
        type: envelope.type,
        payload: new Binary(envelope.payload),
        headers: { ...envelope.headers },
        createdAt: envelope.timestamp,
        published: false,
        leaseUntil: new Date(0),
      },
    },
    { upsert: true, session },
  );
  return envelope.id;
}

export interface MongoOutboxSourceOptions {
  readonly log: Logger;
  /** How long a claimed batch is held before another relay may take it. Default 30s. */
  readonly leaseMs?: number;
}

export function createMongoOutboxSource(mongo: Mongo, opts: MongoOutboxSourceOptions): OutboxSource {
  const outbox = outboxOf(mongo);
  const leaseMs = opts.leaseMs ?? 30_000;
  const order = { createdAt: 1, _id: 1 } as const;
  return {
    async withBatch(limit, publish) {
      const now = new Date();
      const due = { published: false, leaseUntil: { $lte: now } };
      const candidates = await outbox.find(due, { projection: { _id: 1 }, sort: order, limit }).toArray();
      if (candidates.length === 0) {
        await publish([]);
        return;
      }
      const token = randomUUID();
      const ids = candidates.map((c) => c._id);
      // Only documents still due are taken: a relay that got there first keeps its own.
      await outbox.updateMany({ _id: { $in: ids }, ...due }, { $set: { leaseUntil: new Date(now.getTime() + leaseMs), leaseToken: token } });
      const docs = await outbox.find({ _id: { $in: ids }, leaseToken: token }, { sort: order }).toArray();
      let confirmed: readonly string[] = [];
      try {
        confirmed = await publish(
          docs.map((d) => ({ eventId: d._id, type: d.type, payload: d.payload.buffer, headers: d.headers, createdAt: d.createdAt })),
        );
        if (confirmed.length > 0) {
          await outbox.updateMany(
            { _id: { $in: [...confirmed] }, leaseToken: token },
            { $set: { published: true, publishedAt: new Date() }, $unset: { leaseToken: "" } },
          );
        }
      } finally {
        const done = new Set(confirmed);
        const rest = docs.map((d) => d._id).filter((id) => !done.has(id));
        // Handing the rest back early is a courtesy; if it fails the lease expires anyway.
        if (rest.length > 0) {
          await outbox.updateMany({ _id: { $in: rest }, leaseToken: token }, { $set: { leaseUntil: new Date(0) }, $unset: { leaseToken: "" } }).catch(() => undefined);
        }
      }
    },
    async listen(wake) {
      const stream = outbox.watch([{ $match: { operationType: "insert" } }, { $project: { _id: 1 } }]);
      stream.on("change", () => wake());
      stream.on("error", (err) => opts.log.warn("outbox change stream failed; polling only", { err }));
      return async () => {
        await stream.close();
      };
    },
    async stats() {
      const backlog = await outbox.countDocuments({ published: false });
      const oldest = await outbox.findOne({ published: false }, { sort: order, projection: { createdAt: 1 } });
      return { backlog, lagMs: oldest ? Math.max(0, Date.now() - oldest.createdAt.getTime()) : 0 };
    },
  };
}
