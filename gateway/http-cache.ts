// HTTP caching of read-only RPCs served over Connect GET.
//
// Every successful GET answer carries a strong ETag over its body bytes, and a matching
// If-None-Match gets 304 without the body. Cache-Control says who may keep it: answers of the
// methods a backend lists as public reads, to anonymous callers, are `public` for a short
// max-age (browsers, CDNs and the gateway itself may reuse them); everything else is
// `private, no-store` because it belongs to a user (or to a guest's cart token).
//
// The gateway keeps those public answers itself for the same max-age: a popular product page
// then costs one backend call per replica per max-age instead of one per request, and is served
// without touching Connect, the JWT verifier or gRPC. Bounded by entry count and body size.
import { hash } from "node:crypto";

export const PRIVATE_NO_STORE = "private, no-store";

export function publicCacheControl(maxAgeMs: number): string {
  return `public, max-age=${Math.floor(maxAgeMs / 1000)}`;
}

/** A strong validator: changes whenever a byte of the (possibly compressed) body changes. */
export function etagOf(body: Uint8Array): string {
  return `"${hash("sha1", body, "base64url")}"`;
}

/**
 * Whether an If-None-Match header value matches `etag`. RFC 9110 compares weakly here: `W/`
 * prefixes are ignored, `*` matches anything, a list matches if any member does.
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header === etag) return true; // the common case: the client echoes our one tag
  for (const part of header.split(",")) {
    const tag = part.trim();
    if (tag === "*" || tag === etag || (tag.startsWith("W/") && tag.slice(2) === etag)) return true;
  }
  return false;
}

export interface CachedResponse {
  readonly body: Buffer;
  readonly etag: string;
  /** Content headers of the stored answer (content-type, content-encoding, cache-control, vary, etag). */
  readonly headers: Readonly<Record<string, string>>;
  /** When the backend answered, ms. */
  readonly storedAt: number;
}

export interface ResponseCache {
  get(key: string, now: number): CachedResponse | undefined;
  set(key: string, entry: CachedResponse): void;
  readonly size: number;
  clear(): void;
}

export interface ResponseCacheOptions {
  readonly maxEntries: number;
  readonly ttlMs: number;
  /** Larger bodies are not kept (a few huge listings must not evict every product page). */
  readonly maxBodyBytes?: number;
}

export function createResponseCache(opts: ResponseCacheOptions): ResponseCache {
  const entries = new Map<string, CachedResponse>();
  const maxBody = opts.maxBodyBytes ?? 256 * 1024;
  return {
    get(key, now) {
      const e = entries.get(key);
      if (e === undefined) return undefined;
      if (now - e.storedAt >= opts.ttlMs) {
        entries.delete(key);
        return undefined;
      }
      return e;
    },
    set(key, entry) {
      if (opts.maxEntries <= 0 || entry.body.byteLength > maxBody) return;
      entries.delete(key);
      // Oldest first out: entries expire after ttlMs anyway, so insertion order is nearly LRU.
      if (entries.size >= opts.maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(key, entry);
    },
    get size() {
      return entries.size;
    },
    clear: () => entries.clear(),
  };
}
