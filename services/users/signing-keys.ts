// The life of a signing key, as pure rules over its timestamps (key-store.ts keeps the keys).
//
//   created ──(publish ahead)──> activated ──(next key activates)──> retired ──(token TTL)──> gone
//   in the JWKS ............................................................................ |
//                                 signs new tokens ..............|
//
// A new key is published immediately but only signs once every verifier has had time to fetch
// it (the publish-ahead delay, longer than replicas' reload interval and JWKS caches), and an
// old key stays published until every token it signed has expired. Every replica computes the
// same answers from the same rows and its clock, so they switch keys together without talking.

export interface KeyTimes {
  readonly kid: string;
  readonly createdAt: Date;
  /** From then on it signs (may be in the future). */
  readonly activatedAt: Date;
  /** From then on it no longer signs (set when its successor is created; may be in the future). */
  readonly retiredAt: Date | null;
}

export interface KeyPolicy {
  readonly rotationIntervalMs: number;
  readonly publishAheadMs: number;
  /** Lifetime of the tokens a key signs. */
  readonly accessTokenTtlMs: number;
}

/** Verifiers accept 5 s of clock skew (platform/auth/jwt-verifier.ts); a minute more keeps a margin. */
export const VERIFY_MARGIN_MS = 60_000;

const t = (d: Date) => d.getTime();

/** The key to sign with at `now`: the most recently activated one that is active. */
export function signingKeyAt<K extends KeyTimes>(keys: readonly K[], now: Date): K | undefined {
  let best: K | undefined;
  for (const k of keys) {
    if (t(k.activatedAt) > t(now)) continue;
    if (k.retiredAt && t(k.retiredAt) <= t(now)) continue;
    if (!best || t(k.activatedAt) > t(best.activatedAt)) best = k;
  }
  return best;
}

/** Until when tokens signed by `key` may still be presented. */
function lastUse(key: KeyTimes, policy: KeyPolicy): number {
  return key.retiredAt ? t(key.retiredAt) + policy.accessTokenTtlMs + VERIFY_MARGIN_MS : Infinity;
}

/** The keys whose public half belongs in the JWKS at `now`. */
export function publishedKeysAt<K extends KeyTimes>(keys: readonly K[], now: Date, policy: KeyPolicy): K[] {
  return keys.filter((k) => t(k.createdAt) <= t(now) && lastUse(k, policy) > t(now));
}

/** Keys that no token can need any more: their rows (private halves included) can go. */
export function expiredKeysAt<K extends KeyTimes>(keys: readonly K[], now: Date, policy: KeyPolicy): K[] {
  return keys.filter((k) => lastUse(k, policy) <= t(now));
}

/** A rotation is due when there is no key, or the newest one is older than the interval. */
export function rotationDue(keys: readonly KeyTimes[], now: Date, policy: KeyPolicy): boolean {
  if (keys.length === 0) return true;
  return t(now) - Math.max(...keys.map((k) => t(k.createdAt))) >= policy.rotationIntervalMs;
}

/**
 * The times of a key created at `now`. The very first key signs at once (no verifier can know
 * any key yet, so there is nothing to wait for); a successor waits for the publish-ahead delay.
 * Keys still signing (or waiting to) retire when the successor activates.
 */
export function planRotation(keys: readonly KeyTimes[], now: Date, policy: KeyPolicy): { activatedAt: Date; retire: string[] } {
  // Nothing signing now (first start, or a clock that went backwards): waiting would only mean
  // that no token can be issued meanwhile.
  const activatedAt = signingKeyAt(keys, now) === undefined ? now : new Date(t(now) + policy.publishAheadMs);
  const retire = keys.filter((k) => !k.retiredAt || t(k.retiredAt) > t(activatedAt)).map((k) => k.kid);
  return { activatedAt, retire };
}
