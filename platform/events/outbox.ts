// The transactional outbox: the only way a service emits an event.
//
// `enqueueEvent` writes the encoded event into the caller's transaction, so the event exists if
// and only if the state change commits. It also signals the relay with NOTIFY, which PostgreSQL
// delivers at commit and drops on rollback: the relay wakes for committed events only, and a
// rolled-back event never even causes a wake-up.
import { randomUUID } from "node:crypto";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { Queryable } from "../db/db.js";
import { createEnvelope } from "./event-codec.js";

export interface EnqueueOptions {
  /**
   * A deterministic event id (e.g. derived from an order id) makes the enqueue idempotent:
   * a second enqueue with the same id is ignored. Random by default.
   */
  id?: string;
}

/**
 * Adds the event to the outbox inside the caller's transaction and returns its id.
 * The active trace context is stored with it so the relay's publish continues this trace.
 */
export async function enqueueEvent<Desc extends DescMessage>(
  q: Queryable,
  schema: Desc,
  message: MessageShape<Desc> | MessageInitShape<Desc>,
  opts: EnqueueOptions = {},
): Promise<string> {
  const envelope = createEnvelope(schema, message, { id: opts.id ?? randomUUID() });
  // One round trip: the insert and the (commit-time) notification. Identical notifications in a
  // transaction are folded into one by PostgreSQL, so a burst costs a single wake-up.
  await q.query(
    `WITH inserted AS (
       INSERT INTO outbox (event_id, type, payload, headers)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (event_id) DO NOTHING
       RETURNING id)
     SELECT pg_notify(${channelSql}, '') FROM inserted`,
    [
      envelope.id,
      envelope.type,
      Buffer.from(envelope.payload.buffer, envelope.payload.byteOffset, envelope.payload.byteLength),
      JSON.stringify(envelope.headers),
    ],
  );
  return envelope.id;
}

// The channel is per schema: in the embedded mode all services share one PostgreSQL, and a
// service's relay should wake for its own outbox only. Producer and relay both resolve it with
// the connection's search_path, so they agree without configuration.
const channelSql = "'outbox_' || current_schema()";

/** The NOTIFY channel of the outbox that `q`'s search_path resolves to. */
export async function outboxChannel(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ channel: string }>(`SELECT ${channelSql} AS channel`);
  const channel = rows[0]?.channel;
  if (!channel) throw new Error("cannot resolve the outbox channel: no current schema");
  return channel;
}

/**
 * Deletes published rows older than `olderThanMs`, at most `limit` per call; returns how many.
 * Unpublished rows are never touched, whatever their age.
 */
export async function pruneOutbox(q: Queryable, olderThanMs: number, limit = 10_000): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM outbox WHERE id IN (
       SELECT id FROM outbox
       WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1::double precision / 1000)
       ORDER BY published_at LIMIT $2)`,
    [olderThanMs, limit],
  );
  return rowCount;
}
