// The load driver and statistics every benchmark shares: N calls with a fixed number in flight,
// bounded in time, and medians over alternating rounds (the machine is shared and noisy, so
// figures are medians and ratios against a baseline measured in the same run).

export type Call = () => Promise<unknown>;

export interface DriveResult {
  /** Per-call latency in ms, in call order. */
  readonly latencies: Float64Array;
  readonly seconds: number;
  readonly errors: number;
}

export interface DriveOptions {
  readonly inFlight: number;
  /** A round stops early after this long, so a slow variant cannot hang the benchmark. */
  readonly limitMs?: number;
}

/** Runs `count` calls, `inFlight` at a time; failures are counted, not thrown. */
export async function drive(call: Call, count: number, opts: DriveOptions): Promise<DriveResult> {
  const latencies = new Float64Array(count);
  const limit = opts.limitMs ?? 15_000;
  let next = 0;
  let errors = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count && performance.now() - started < limit) {
      const i = next++;
      const t = performance.now();
      try {
        await call();
      } catch {
        errors++;
      }
      latencies[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight }, worker));
  return { latencies: latencies.subarray(0, Math.min(next, count)), seconds: (performance.now() - started) / 1000, errors };
}

export interface RoundStats {
  readonly calls: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

export function statsOf(r: DriveResult): RoundStats {
  const sorted = Float64Array.from(r.latencies).sort();
  return {
    calls: sorted.length,
    perSecond: sorted.length / r.seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    errors: r.errors,
  };
}

/** `sorted` ascending; q in [0, 1]. */
export function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** The medians of several rounds of one variant. */
export function summarize(rounds: readonly RoundStats[]): RoundStats {
  return {
    calls: rounds.reduce((n, r) => n + r.calls, 0),
    perSecond: median(rounds.map((r) => r.perSecond)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
  };
}

export function formatStats(name: string, s: RoundStats, unit = "req"): string {
  const errors = s.errors > 0 ? `  ${s.errors} errors` : "";
  return `${name.padEnd(28)} ${s.perSecond.toFixed(0).padStart(7)} ${unit}/s  p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms${errors}`;
}
