// Keyset page tokens for ListShipments: the (create time, id) of the last shipment returned,
// opaque to callers (base64url JSON). A token that does not decode is INVALID_ARGUMENT.
import { fieldError } from "../../platform/errors.js";
import type { ListPosition } from "./store.js";

export const DEFAULT_PAGE_SIZE = 20;

export const pageSize = (requested: number): number => (requested > 0 ? requested : DEFAULT_PAGE_SIZE);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Times come from the service's clock with millisecond precision, so an ISO string round-trips. */
export function encodePageToken(p: ListPosition): string {
  return Buffer.from(JSON.stringify({ t: p.createdAt.toISOString(), i: p.id })).toString("base64url");
}

export function decodePageToken(token: string): ListPosition | undefined {
  if (token === "") return undefined;
  const invalid = () => fieldError("page_token", "not a page token from this list");
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (typeof raw !== "object" || raw === null) throw invalid();
  const { t, i } = raw as Record<string, unknown>;
  const createdAt = typeof t === "string" ? new Date(t) : undefined;
  if (!createdAt || Number.isNaN(createdAt.getTime()) || typeof i !== "string" || !UUID.test(i)) throw invalid();
  return { createdAt, id: i };
}
