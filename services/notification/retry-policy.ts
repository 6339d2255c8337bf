// When a failed mail is tried again, and when the sender gives up on it.

export interface RetrySettings {
  readonly maxAttempts: number;
  /** Pause after the first failed attempt; doubles with each further one. */
  readonly baseMs: number;
  readonly maxMs: number;
}

export type AfterFailure = { readonly retryInMs: number } | { readonly giveUp: true };

/**
 * After `attempts` attempts (this one included) failed: retry after an exponential pause with
 * up to 20% jitter (so mails queued during one outage do not all hit the server in the same
 * second when it returns), or give up once the attempts are used or the failure is permanent.
 */
export function afterFailure(attempts: number, permanent: boolean, s: RetrySettings, random: () => number = Math.random): AfterFailure {
  if (permanent || attempts >= s.maxAttempts) return { giveUp: true };
  const pause = Math.min(s.maxMs, s.baseMs * 2 ** Math.max(0, attempts - 1));
  return { retryInMs: Math.round(pause * (1 - 0.2 * random())) };
}
