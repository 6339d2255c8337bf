// Access tokens: short-lived ES256 JWTs that every service verifies locally against the JWKS
// (platform/auth/jwt-verifier.ts). They carry the user id, roles and display name (`name`, for
// display only: reviews shows it as the author) and cannot be revoked,
// which is why they live minutes, not days.
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { ACCESS_TOKEN_ALG } from "../../platform/auth/jwt-verifier.js";
import type { SigningKey } from "./key-store.js";

export interface AccessTokenClaims {
  readonly userId: string;
  readonly roles: readonly string[];
  /** The display name at sign-in; omitted when empty. */
  readonly name?: string;
}

export interface AccessTokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlMs: number;
}

export interface AccessToken {
  readonly token: string;
  readonly expiresAt: Date;
}

export async function signAccessToken(key: SigningKey, claims: AccessTokenClaims, settings: AccessTokenSettings, now: Date): Promise<AccessToken> {
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + Math.max(1, Math.floor(settings.ttlMs / 1000));
  const token = await new SignJWT({ roles: [...claims.roles], ...(claims.name ? { name: claims.name } : {}) })
    // RFC 9068's type for access tokens keeps them from being mistaken for ID tokens.
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: "at+jwt" })
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setSubject(claims.userId)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { token, expiresAt: new Date(exp * 1000) };
}
