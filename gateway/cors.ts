// CORS from configuration: which browser origins may call the API, and what they may send and
// read. Header sets are computed once per origin, so a request pays one Map lookup.
//
// No credentials mode: the API authenticates with a bearer token in Authorization, never with
// cookies, so `*` is safe to offer and Access-Control-Allow-Credentials is never sent.
import { cors as connectCors } from "@connectrpc/connect";

const allowMethods = [...connectCors.allowedMethods].join(", ");
const allowHeaders = [...new Set([...connectCors.allowedHeaders, "Authorization", "If-None-Match", "Grpc-Timeout"])].join(", ");
const exposeHeaders = [...new Set([...connectCors.exposedHeaders, "ETag", "Retry-After", "Cache-Control"])].join(", ");
const PREFLIGHT_MAX_AGE_S = "7200";

export type HeaderMap = Readonly<Record<string, string>>;

export interface CorsPolicy {
  /** Whether any origin is allowed at all (CORS_ORIGINS not empty). */
  readonly enabled: boolean;
  /** Headers for an actual (non-preflight) response to a request from `origin`; undefined when none apply. */
  responseHeaders(origin: string | undefined): HeaderMap | undefined;
  /** The answer to an OPTIONS preflight: 204 with the allowances, or 403 for an origin or method not allowed. */
  preflight(origin: string | undefined, requestMethod: string | undefined): { status: number; headers: HeaderMap };
}

export function createCorsPolicy(origins: readonly string[]): CorsPolicy {
  const any = origins.includes("*");
  const byOrigin = new Map<string, HeaderMap>();
  const responseFor = (origin: string): HeaderMap =>
    any
      ? { "access-control-allow-origin": "*", "access-control-expose-headers": exposeHeaders }
      : { "access-control-allow-origin": origin, "access-control-expose-headers": exposeHeaders, vary: "Origin" };
  for (const o of origins) if (o !== "*") byOrigin.set(normalize(o), responseFor(normalize(o)));
  const wildcard = any ? responseFor("*") : undefined;

  const responseHeaders = (origin: string | undefined): HeaderMap | undefined => {
    if (origin === undefined) return undefined;
    return wildcard ?? byOrigin.get(origin);
  };

  return {
    enabled: origins.length > 0,
    responseHeaders,
    preflight(origin, requestMethod) {
      const allowed = responseHeaders(origin);
      if (!allowed || requestMethod === undefined || !connectCors.allowedMethods.includes(requestMethod.toUpperCase())) {
        return { status: 403, headers: { vary: "Origin" } };
      }
      return {
        status: 204,
        headers: {
          "access-control-allow-origin": allowed["access-control-allow-origin"]!,
          "access-control-allow-methods": allowMethods,
          "access-control-allow-headers": allowHeaders,
          "access-control-max-age": PREFLIGHT_MAX_AGE_S,
          vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        },
      };
    },
  };
}

/** Browsers send origins without a trailing slash and with a lower-case scheme and host. */
function normalize(origin: string): string {
  return origin.replace(/\/+$/, "").toLowerCase();
}
