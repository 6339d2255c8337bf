// Keyset page tokens: the sort key of the last row returned, opaque to callers (base64url
// JSON). A token that does not decode is INVALID_ARGUMENT naming page_token.
import { fieldError } from "../../platform/errors.js";

export const DEFAULT_PAGE_SIZE = 50;

export const pageSize = (requested: number): number => (requested > 0 ? requested : DEFAULT_PAGE_SIZE);

const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString("base64url");

function decode(token: string): Record<string, unknown> {
  try {
    const raw: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (typeof raw === "object" && raw !== null) return raw as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw fieldError("page_token", "not a page token from this list");
}

/** Payment methods: newest first by (created time, token). */
export const encodeMethodToken = (key: { time: Date; token: string }) => encode({ t: key.time.toISOString(), k: key.token });

export function decodeMethodToken(token: string): { time: Date; token: string } | undefined {
  if (token === "") return undefined;
  const { t, k } = decode(token);
  const time = typeof t === "string" ? new Date(t) : undefined;
  if (!time || Number.isNaN(time.getTime()) || typeof k !== "string") throw fieldError("page_token", "not a page token from this list");
  return { time, token: k };
}

/** Ledger entries: in order of recording, by sequence number. */
export const encodeLedgerToken = (seq: bigint) => encode({ s: seq.toString() });

export function decodeLedgerToken(token: string): bigint {
  if (token === "") return 0n;
  const { s } = decode(token);
  if (typeof s !== "string" || !/^\d{1,19}$/.test(s)) throw fieldError("page_token", "not a page token from this list");
  return BigInt(s);
}
