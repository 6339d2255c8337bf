// The consumer's inbox on MongoDB: the same contract as PostgreSQL's (events/handle-event.ts).
// The event id is recorded in the transaction that runs the handler, so the effect and the
// dedupe record commit together. The record is an upsert, not an insert: a duplicate key error
// would abort the transaction, while an upsert that finds the document simply reports it. Two
// copies handled at once collide as a write conflict; the driver reruns the loser's transaction,
// which then finds the record. Records expire through a TTL index after `keepMs`.
import type { ClientSession, Collection } from "mongodb";
import type { EventInbox } from "../events/index.js";
import type { Mongo } from "./mongo.js";

export const INBOX_COLLECTION = "inbox";

interface InboxDoc {
  _id: string;
  consumer: string;
  eventId: string;
  handledAt: Date;
}

const inboxOf = (mongo: Mongo): Collection<InboxDoc> => mongo.db.collection<InboxDoc>(INBOX_COLLECTION);

/**
 * The inbox's TTL index. `keepMs` must be longer than any redelivery can arrive late, dead-letter
 * replays included (weeks, not hours). Default 30 days.
 */
export async function ensureMongoInbox(mongo: Mongo, keepMs = 30 * 86_400_000): Promise<void> {
  await inboxOf(mongo).createIndex({ handledAt: 1 }, { name: "handled_ttl", expireAfterSeconds: Math.round(keepMs / 1000) });
}

export function createMongoInbox(mongo: Mongo): EventInbox<ClientSession> {
  const inbox = inboxOf(mongo);
  return {
    once: (consumer, eventId, fn) =>
      mongo.tx(async (session) => {
        const r = await inbox.updateOne(
          { _id: `${consumer}/${eventId}` },
          { $setOnInsert: { consumer, eventId, handledAt: new Date() } },
          { upsert: true, session },
        );
        if (r.upsertedCount === 0) return "duplicate" as const;
        await fn(session);
        return "handled" as const;
      }),
  };
}
