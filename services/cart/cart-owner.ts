// Whose cart a request works on, and the key that cart is stored under.
//
// A signed-in caller always works on their own cart, keyed by user id. A guest proves
// ownership with a cart token: 256 random bits handed out once, when the guest's first AddItem
// creates the cart. Only the token's SHA-256 is stored, so a leaked database does not hand out
// working tokens, and a lookup by hash needs no constant-time comparison.
//
// The storage key of a cart (`owner_key`) is `u:<user id>` or `g:<hex sha-256 of the token>`:
// one column that every cart and line row carries, so both tables can later be distributed by it
// with a cart's lines on the cart's node.
import { createHash, randomBytes } from "node:crypto";

export type CartOwner =
  | { readonly kind: "user"; readonly userId: string }
  | { readonly kind: "guest"; readonly token: string };

/** Prefix that makes a leaked cart token recognizable (in logs, secret scanners). */
const TOKEN_PREFIX = "ct_";

export function newCartToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

export function hashCartToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function ownerKey(owner: CartOwner): string {
  return owner.kind === "user" ? `u:${owner.userId}` : `g:${hashCartToken(owner.token)}`;
}

/**
 * The owner a request acts for: the signed-in caller's own cart whatever token it sends
 * (a token held by a signed-in client is merged with MergeGuestCart, never read through), else
 * the guest's token, else nobody yet (a guest without a cart).
 */
export function requestOwner(callerId: string | undefined, cartToken: string): CartOwner | undefined {
  if (callerId !== undefined) return { kind: "user", userId: callerId };
  if (cartToken !== "") return { kind: "guest", token: cartToken };
  return undefined;
}
