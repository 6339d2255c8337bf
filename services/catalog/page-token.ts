// Keyset pagination for the catalog's lists: a page token is the sort key of the last row
// returned, so the next page is "rows after this key", stable under inserts and cheap at any
// depth (no OFFSET). The same idea as services/users/page-token.ts, with keys of any shape
// (price, name, rank, time) instead of (time, id), and bound to the list it came from: the
// token carries which list and a fingerprint of its filters, so a token replayed with other
// filters or another sort is INVALID_ARGUMENT instead of a silently wrong page.
import { createHash } from "node:crypto";
import { fieldError } from "../../platform/errors.js";

export const DEFAULT_PAGE_SIZE = 20;

/** One value of a sort key: numbers (prices, ranks, epoch ms) and strings (names, slugs). */
export type KeyPart = number | string;

export interface PageKey {
  /** The sort key of the last row, without the id. */
  readonly key: readonly KeyPart[];
  /** The last row's id, the tie breaker of every sort. */
  readonly id: string;
}

export function pageSize(requested: number): number {
  return requested > 0 ? requested : DEFAULT_PAGE_SIZE;
}

/** A short digest of what a list was asked (list name, sort, filters); tokens carry it. */
export function listFingerprint(parts: readonly unknown[]): string {
  const text = JSON.stringify(parts, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  return createHash("sha256").update(text).digest("base64url").slice(0, 12);
}

export function encodePageToken(list: string, key: PageKey): string {
  return Buffer.from(JSON.stringify({ l: list, k: key.key, i: key.id })).toString("base64url");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A lower-case uuid, as PostgreSQL prints them (for key parts that are ids). */
export const isUuid = (s: string): boolean => UUID.test(s);

/**
 * The key in `token`, undefined for "" (the first page). `shape` is the types of the key's
 * parts, e.g. ["number", "string"]; a token of another list, or one that does not decode, is
 * INVALID_ARGUMENT naming `field`.
 */
export function decodePageToken(
  token: string,
  list: string,
  shape: readonly ("number" | "string")[],
  field = "page_token",
): PageKey | undefined {
  if (token === "") return undefined;
  const invalid = () => fieldError(field, "not a page token from this list (with these filters and sort)");
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (typeof raw !== "object" || raw === null) throw invalid();
  const { l, k, i } = raw as Record<string, unknown>;
  if (l !== list || typeof i !== "string" || !UUID.test(i) || !Array.isArray(k) || k.length !== shape.length) throw invalid();
  const key = k as unknown[];
  shape.forEach((type, n) => {
    const part = key[n];
    if (typeof part !== type || (typeof part === "number" && !Number.isFinite(part))) throw invalid();
  });
  return { key: key as KeyPart[], id: i };
}

/** The page of `rows` (fetched with one extra row) and the token for the next one. */
export function pageOf<R extends { readonly id: string }>(
  rows: readonly R[],
  limit: number,
  list: string,
  keyOf: (row: R) => readonly KeyPart[],
): { page: R[]; nextPageToken: string } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextPageToken: rows.length > limit && last ? encodePageToken(list, { key: keyOf(last), id: last.id }) : "" };
}
