// Refresh tokens: opaque 256-bit random values. Only their SHA-256 is stored, so a copy of the
// database does not hold usable tokens (a fast hash is enough: the value has 256 bits of
// entropy, there is nothing to brute-force).
//
// Tokens come in families: signing in starts one, and each use marks the presented token used
// and issues its successor in the same family. A used token presented again means two parties
// hold the chain (one of them stole it), and we cannot tell which is the owner, so the whole
// family is revoked: the thief's and the owner's newest token alike. The owner signs in again.
import { createHash, randomBytes } from "node:crypto";

export interface RefreshTokenState {
  readonly userId: string;
  readonly familyId: string;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly revokedAt: Date | null;
}

export type RefreshDecision =
  | { readonly kind: "rotate" }
  /** The token was already used: revoke its family, refuse. */
  | { readonly kind: "replay" }
  | { readonly kind: "reject"; readonly reason: "unknown" | "revoked" | "expired" };

export function newRefreshToken(): string {
  return randomBytes(32).toString("base64url");
}

export function hashRefreshToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** What to do with a presented refresh token in the state the store found it in. */
export function decideRefresh(token: RefreshTokenState | undefined, now: Date): RefreshDecision {
  if (!token) return { kind: "reject", reason: "unknown" };
  // Revocation first: once a family is revoked, replays of its tokens change nothing more.
  if (token.revokedAt) return { kind: "reject", reason: "revoked" };
  if (token.usedAt) return { kind: "replay" };
  if (token.expiresAt.getTime() <= now.getTime()) return { kind: "reject", reason: "expired" };
  return { kind: "rotate" };
}
