// Verifies the shop's access tokens: ES256 JWTs issued by the users service, checked against its
// JWKS. The gateway verifies every request, and every service verifies again (no trust by
// network position), so this is the one implementation both use.
//
// Keys are cached; a token naming an unknown `kid` triggers one refresh (rate limited, so a
// flood of forged kids cannot turn into a flood of JWKS fetches). That is how key rotation at
// the users service reaches every verifier without a restart.
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWK } from "jose";
import { unauthenticated, unavailable } from "../errors.js";

export const ACCESS_TOKEN_ALG = "ES256";

export interface VerifiedToken {
  /** The user id. */
  readonly subject: string;
  readonly roles: readonly string[];
  /** The `name` claim (display name at sign-in), when present: for display, never for decisions. */
  readonly name: string | undefined;
  /** Epoch seconds. */
  readonly expiresAt: number;
  readonly tokenId: string | undefined;
}

export interface JwtVerifierOptions {
  issuer: string;
  audience: string;
  /** Returns the current public keys (users service's GetJwks). */
  fetchJwks: () => Promise<readonly JWK[]>;
  /**
   * At most one refresh per this interval when an unknown kid shows up. Default 5 s: a rotated
   * key is honoured within seconds, a flood of forged kids costs one fetch per interval.
   */
  minRefreshIntervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Accepted clock skew in seconds for exp/nbf/iat. Default 5. */
  clockToleranceSec?: number;
}

export interface JwtVerifier {
  /** The token's claims, or ShopError UNAUTHENTICATED with a message that leaks nothing. */
  verify(token: string): Promise<VerifiedToken>;
}

/** The verifier's keys, for a process that republishes them (the gateway's /.well-known/jwks.json). */
export interface JwksSource {
  /**
   * The public keys as last fetched, fetched again first when that was more than `maxAgeMs`
   * ago. A failed fetch answers with the cached keys; with none cached, UNAVAILABLE.
   */
  publicKeys(maxAgeMs: number): Promise<readonly JWK[]>;
}

export function createJwtVerifier(opts: JwtVerifierOptions): JwtVerifier & JwksSource {
  const minRefresh = opts.minRefreshIntervalMs ?? 5_000;
  const now = opts.now ?? Date.now;
  let keySet: ReturnType<typeof createLocalJWKSet> | undefined;
  let kids = new Set<string>();
  let current: readonly JWK[] = [];
  let lastFetch = 0;
  let lastAttempt = 0;
  let inflight: Promise<void> | undefined;

  const refresh = (): Promise<void> =>
    (inflight ??= (async () => {
      lastAttempt = now();
      try {
        const keys = await opts.fetchJwks();
        const jwks: JSONWebKeySet = { keys: keys.map((k) => ({ ...k })) };
        keySet = createLocalJWKSet(jwks);
        current = jwks.keys;
        kids = new Set(keys.map((k) => k.kid).filter((k): k is string => typeof k === "string"));
        lastFetch = now();
      } finally {
        inflight = undefined;
      }
    })());

  return {
    async publicKeys(maxAgeMs) {
      // While the users service is down, cached keys are served and asked for again at most once per minRefresh.
      if (keySet === undefined || (now() - lastFetch > maxAgeMs && now() - lastAttempt >= minRefresh)) {
        try {
          await refresh();
        } catch (err) {
          if (!keySet) throw unavailable("the signing keys are not available right now", err);
        }
      }
      return current;
    },
    async verify(token) {
      let kid: string | undefined;
      try {
        const header = decodeProtectedHeader(token);
        // Only our algorithm: refuses `none`, HS256-with-the-public-key and every other swap.
        if (header.alg !== ACCESS_TOKEN_ALG) throw unauthenticated("invalid token");
        kid = header.kid;
      } catch {
        throw unauthenticated("invalid token");
      }
      if (!kid) throw unauthenticated("invalid token");
      if (!kids.has(kid) && (keySet === undefined || now() - lastFetch >= minRefresh)) {
        try {
          await refresh();
        } catch (err) {
          // With keys cached we keep verifying with them; without any, it is our fault, not the caller's.
          if (!keySet) throw unavailable("cannot verify tokens right now", err);
        }
      }
      if (!keySet || !kids.has(kid)) throw unauthenticated("invalid token");
      try {
        const { payload } = await jwtVerify(token, keySet, {
          issuer: opts.issuer,
          audience: opts.audience,
          algorithms: [ACCESS_TOKEN_ALG],
          clockTolerance: opts.clockToleranceSec ?? 5,
          requiredClaims: ["sub", "exp", "iat"],
        });
        const roles = Array.isArray(payload["roles"]) ? payload["roles"].filter((r): r is string => typeof r === "string") : [];
        const name = typeof payload["name"] === "string" && payload["name"] !== "" ? payload["name"] : undefined;
        return { subject: payload.sub!, roles, name, expiresAt: payload.exp!, tokenId: payload.jti };
      } catch (err) {
        if (err instanceof errors.JWTExpired) throw unauthenticated("token expired");
        throw unauthenticated("invalid token");
      }
    },
  };
}

/** The token of an `authorization: Bearer <token>` header value, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m?.[1];
}
