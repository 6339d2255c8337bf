// Turning protobuf-es messages into envelopes and back, and envelopes into AMQP messages and back.
//
// The AMQP mapping follows the conventions other tools already understand: `messageId` and
// `type` properties, `application/x-protobuf`, `timestamp` in POSIX seconds as the AMQP spec
// says (a millisecond copy rides in a header), and W3C trace context as plain string headers.
import { randomUUID } from "node:crypto";
import {
  create,
  createRegistry,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import type { ConsumeMessage, GetMessage, Options } from "amqplib";
import { decodeBinary } from "../binary-decoding.js";
import { encodeBinary } from "../binary-encoding.js";
import { injectContext } from "../telemetry.js";
import type { EventEnvelope, ReceivedEvent } from "./event-bus.js";

export const EVENT_CONTENT_TYPE = "application/x-protobuf";
const OCCURRED_AT_HEADER = "x-occurred-at";

/** A message that can never be handled, whatever the retries: it goes straight to dead letters. */
export class PoisonEventError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PoisonEventError";
  }
}

export interface EnvelopeOptions {
  id?: string;
  timestamp?: Date;
  /** Trace headers; by default the active trace context is captured. */
  headers?: Record<string, string>;
}

/** Encodes a message (or an init object for `schema`) with a fresh event id. */
export function createEnvelope<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc> | MessageInitShape<Desc>,
  opts: EnvelopeOptions = {},
): EventEnvelope {
  const msg = create(schema, message as MessageInitShape<Desc>);
  return {
    id: opts.id ?? randomUUID(),
    type: schema.typeName,
    payload: encodeBinary(schema, msg),
    timestamp: opts.timestamp ?? new Date(),
    headers: opts.headers ?? traceHeaders(),
  };
}

/** The active trace context as string headers, captured where the event is produced. */
export function traceHeaders(): Record<string, string> {
  const carrier: Record<string, unknown> = {};
  injectContext(carrier);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(carrier)) if (typeof v === "string") out[k] = v;
  return out;
}

export interface EventDecoder {
  readonly types: readonly string[];
  /** Decodes an envelope; throws PoisonEventError for unknown types and malformed payloads. */
  decode(envelope: EventEnvelope): ReceivedEvent;
}

/** A decoder for exactly the schemas a consumer subscribed to. */
export function createEventDecoder(schemas: readonly DescMessage[]): EventDecoder {
  const registry = createRegistry(...schemas);
  return {
    types: schemas.map((s) => s.typeName),
    decode(envelope) {
      const schema = registry.getMessage(envelope.type);
      if (!schema) throw new PoisonEventError(`unexpected event type ${JSON.stringify(envelope.type)}`);
      try {
        const message = decodeBinary(schema, envelope.payload);
        return { id: envelope.id, type: envelope.type, message, timestamp: envelope.timestamp };
      } catch (err) {
        throw new PoisonEventError(`undecodable ${envelope.type} payload: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

/** AMQP properties for an envelope; `appId` names the producing service. */
export function toAmqpOptions(envelope: EventEnvelope, appId: string): Options.Publish {
  return {
    messageId: envelope.id,
    type: envelope.type,
    contentType: EVENT_CONTENT_TYPE,
    timestamp: Math.floor(envelope.timestamp.getTime() / 1000),
    persistent: true,
    appId,
    headers: { ...envelope.headers, [OCCURRED_AT_HEADER]: envelope.timestamp.toISOString() },
  };
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The envelope inside an AMQP delivery; throws PoisonEventError when it cannot be one of ours. */
export function fromAmqpMessage(msg: ConsumeMessage | GetMessage): EventEnvelope {
  const p = msg.properties;
  const id: unknown = p.messageId;
  if (typeof id !== "string" || !uuidPattern.test(id)) throw new PoisonEventError("message without a UUID message id");
  const type: unknown = p.type ?? msg.fields.routingKey;
  if (typeof type !== "string" || type === "") throw new PoisonEventError(`message ${id} without a type`);
  const raw = (p.headers ?? {}) as Record<string, unknown>;
  const headers: Record<string, string> = {};
  for (const key of ["traceparent", "tracestate"]) {
    const v = raw[key];
    if (typeof v === "string") headers[key] = v;
    else if (Buffer.isBuffer(v)) headers[key] = v.toString("utf8");
  }
  return { id, type, payload: msg.content, timestamp: messageTime(raw[OCCURRED_AT_HEADER], p.timestamp), headers };
}

function messageTime(occurredAt: unknown, seconds: unknown): Date {
  const text = Buffer.isBuffer(occurredAt) ? occurredAt.toString("utf8") : occurredAt;
  if (typeof text === "string") {
    const d = new Date(text);
    if (!Number.isNaN(d.getTime())) return d;
  }
  return typeof seconds === "number" ? new Date(seconds * 1000) : new Date(0);
}
