// Limits on failed sign-ins, per account (the email as typed, normalized, whether or not an
// account has it, so the limit itself does not reveal which accounts exist) and per client
// address. Counted over a sliding window from rows in PostgreSQL, so every replica sees the
// same counts and a restart forgets nothing.

export interface LoginLimitPolicy {
  /** Failures allowed within the window; the next attempt is refused. */
  readonly maxFailures: number;
  readonly windowMs: number;
}

export type LimitStatus = { readonly limited: false } | { readonly limited: true; readonly retryAfterMs: number };

/**
 * Whether another attempt is allowed, given the most recent failures (newest first, at least
 * `maxFailures` of them if there are that many within the window).
 */
export function limitStatus(recentFailures: readonly Date[], policy: LoginLimitPolicy, now: Date): LimitStatus {
  const inWindow = recentFailures.filter((t) => t.getTime() > now.getTime() - policy.windowMs);
  if (inWindow.length < policy.maxFailures) return { limited: false };
  // Allowed again once the max-th newest failure leaves the window: then only max-1 remain.
  const pivot = [...inWindow].sort((a, b) => b.getTime() - a.getTime())[policy.maxFailures - 1]!;
  return { limited: true, retryAfterMs: Math.max(1000, pivot.getTime() + policy.windowMs - now.getTime()) };
}

/** The longer wait of two statuses (account and address), or not limited. */
export function combineLimits(a: LimitStatus, b: LimitStatus): LimitStatus {
  if (!a.limited) return b;
  if (!b.limited) return a;
  return a.retryAfterMs >= b.retryAfterMs ? a : b;
}

/** "try again in 12 minutes": a hint precise enough for a person, vague enough to leak nothing. */
export function retryHint(retryAfterMs: number): string {
  const seconds = Math.ceil(retryAfterMs / 1000);
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
