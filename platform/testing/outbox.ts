// Reading what a service enqueued in its outbox, from tests: the event rows commit with the
// state change, so a test can assert on them without a broker.
import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { Db } from "../db/db.js";

/** The highest outbox id now, to look only at events a test causes. */
export async function outboxMark(db: Db): Promise<number> {
  const { rows } = await db.query<{ id: string | number | null }>("SELECT max(id) AS id FROM outbox");
  return Number(rows[0]?.id ?? 0);
}

/** Events of type `schema` in the outbox after `afterId`, oldest first. */
export async function outboxEvents<D extends DescMessage>(db: Db, schema: D, afterId = 0): Promise<MessageShape<D>[]> {
  const { rows } = await db.query<{ payload: Buffer }>("SELECT payload FROM outbox WHERE type = $1 AND id > $2 ORDER BY id", [schema.typeName, afterId]);
  return rows.map((r) => fromBinary(schema, new Uint8Array(r.payload)));
}

/** Every row after `afterId`, undecoded, oldest first: for asserting on the mix of event types. */
export async function outboxRows(db: Db, afterId = 0): Promise<{ id: number; type: string; payload: Uint8Array }[]> {
  const { rows } = await db.query<{ id: string | number; type: string; payload: Buffer }>("SELECT id, type, payload FROM outbox WHERE id > $1 ORDER BY id", [afterId]);
  return rows.map((r) => ({ id: Number(r.id), type: r.type, payload: new Uint8Array(r.payload) }));
}

/** Types of every event after `afterId`, oldest first. */
export async function outboxTypes(db: Db, afterId = 0): Promise<string[]> {
  return (await outboxRows(db, afterId)).map((r) => r.type);
}
