// Keyset page tokens for lists sorted by (time, id): a token is the sort key of the last row
// returned, so the next page is "rows after this key", stable under inserts and cheap at any
// depth (no OFFSET). Opaque to callers (base64url JSON); a token that does not decode is
// INVALID_ARGUMENT naming page_token. A list sorted by a number first (reviews by rating, or by
// text-search score) puts it in `rank`: the key is then (rank, time, id). Services whose lists
// sort by other keys (catalog's prices and names, users' default-first address book) keep codecs
// of their own.
import { fieldError } from "./errors.js";

export const DEFAULT_PAGE_SIZE = 50;

/** Times come from the service's clock with millisecond precision, so an ISO string round-trips exactly. */
export interface PageKey {
  readonly time: Date;
  readonly id: string;
  /** A leading numeric sort key, when the list has one; finite (JSON round-trips it exactly). */
  readonly rank?: number;
}

export function pageSize(requested: number): number {
  return requested > 0 ? requested : DEFAULT_PAGE_SIZE;
}

export function encodePageToken(key: PageKey): string {
  const raw = key.rank === undefined ? { t: key.time.toISOString(), i: key.id } : { t: key.time.toISOString(), i: key.id, r: key.rank };
  return Buffer.from(JSON.stringify(raw)).toString("base64url");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function decodePageToken(token: string): PageKey | undefined {
  if (token === "") return undefined;
  const invalid = () => fieldError("page_token", "not a page token from this list");
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (typeof raw !== "object" || raw === null) throw invalid();
  const { t, i, r } = raw as Record<string, unknown>;
  const time = typeof t === "string" ? new Date(t) : undefined;
  if (!time || Number.isNaN(time.getTime()) || typeof i !== "string" || !UUID.test(i)) throw invalid();
  if (r === undefined) return { time, id: i };
  if (typeof r !== "number" || !Number.isFinite(r)) throw invalid();
  return { time, id: i, rank: r };
}
