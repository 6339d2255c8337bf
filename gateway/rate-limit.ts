// Token buckets in memory, one per key (a client address or a user id), per gateway replica.
//
// A bucket holds up to `burst` tokens and refills at `ratePerSec`; a request takes one. With N
// replicas behind a balancer a client gets up to N times the rate, which is the usual trade
// against a shared store on every request: the limits protect the backends from floods, they
// are not quotas. Memory is bounded by `maxKeys`; buckets that have refilled completely carry
// no information and are swept.

export interface RateLimitOptions {
  readonly ratePerSec: number;
  readonly burst: number;
  /** Keys tracked at most; when full, the oldest bucket is forgotten. */
  readonly maxKeys: number;
  /** Clock in milliseconds, for tests. */
  readonly now?: () => number;
}

export interface RateLimiter {
  /** Takes a token for `key`: 0 when allowed, else the whole seconds until one is available (Retry-After). */
  take(key: string): number;
  /** Drops buckets that are full again; runs on its own every minute. */
  sweep(): void;
  readonly size: number;
  close(): void;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, in ms. */
  at: number;
}

export function createRateLimiter(opts: RateLimitOptions): RateLimiter {
  const now = opts.now ?? Date.now;
  const perMs = opts.ratePerSec / 1000;
  const burst = opts.burst;
  const fullAfterMs = burst / perMs;
  const buckets = new Map<string, Bucket>();

  const sweep = () => {
    const t = now();
    for (const [key, b] of buckets) if (t - b.at >= fullAfterMs) buckets.delete(key);
  };
  const timer = setInterval(sweep, 60_000);
  timer.unref();

  return {
    take(key) {
      const t = now();
      const b = buckets.get(key);
      if (b === undefined) {
        if (buckets.size >= opts.maxKeys) {
          sweep();
          // Still full: forget the oldest key (Map keeps insertion order).
          if (buckets.size >= opts.maxKeys) buckets.delete(buckets.keys().next().value!);
        }
        buckets.set(key, { tokens: burst - 1, at: t });
        return 0;
      }
      const tokens = Math.min(burst, b.tokens + (t - b.at) * perMs);
      b.at = t;
      if (tokens >= 1) {
        b.tokens = tokens - 1;
        return 0;
      }
      b.tokens = tokens;
      return Math.max(1, Math.ceil((1 - tokens) / perMs / 1000));
    },
    sweep,
    get size() {
      return buckets.size;
    },
    close: () => clearInterval(timer),
  };
}
