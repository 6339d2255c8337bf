// Keyset page tokens for lists sorted by (time, id): a token is the sort key of the last row
// returned, so the next page is "rows after this key", stable under inserts and cheap at any
// depth (no OFFSET). Opaque to callers (base64url JSON); a token that does not decode is
// INVALID_ARGUMENT naming page_token. A list with a leading boolean sort key (users' address
// book, default address first) carries it as `flag`; one with a leading numeric key (reviews by
// rating, or by text-search score) as `rank`. Catalog, whose lists sort by prices and names,
// keeps a codec of its own.
import { fieldError } from "./errors.js";

export const DEFAULT_PAGE_SIZE = 50;

/** Times come from the service's clock with millisecond precision, so an ISO string round-trips exactly. */
export interface PageKey {
  readonly time: Date;
  readonly id: string;
  /** A boolean sort key ahead of the time, for lists such as "default address first". */
  readonly flag?: boolean;
  /** A numeric sort key ahead of the time (a rating, a score); finite, so JSON round-trips it exactly. */
  readonly rank?: number;
}

/** The page size a caller asked for, or the list's default when it asked for none (0). */
export function pageSize(requested: number, fallback = DEFAULT_PAGE_SIZE): number {
  return requested > 0 ? requested : fallback;
}

export function encodePageToken(key: PageKey): string {
  const flag = key.flag === undefined ? {} : { f: key.flag };
  const rank = key.rank === undefined ? {} : { r: key.rank };
  return Buffer.from(JSON.stringify({ t: key.time.toISOString(), i: key.id, ...flag, ...rank })).toString("base64url");
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
  const { t, i, f, r } = raw as Record<string, unknown>;
  const time = typeof t === "string" ? new Date(t) : undefined;
  if (!time || Number.isNaN(time.getTime()) || typeof i !== "string" || !UUID.test(i)) throw invalid();
  if (f !== undefined && typeof f !== "boolean") throw invalid();
  if (r !== undefined && (typeof r !== "number" || !Number.isFinite(r))) throw invalid();
  return { time, id: i, ...(f === undefined ? {} : { flag: f }), ...(r === undefined ? {} : { rank: r }) };
}
