// A request counter and a latency histogram over one label set, for the metrics recorded on
// every RPC. prom-client's Counter and Histogram build a label key string, check every label
// and (for a histogram) allocate a closure on each increment, even through `labels()`
// children; on the gRPC hot path that was a few microseconds per call. Here a series is a
// plain object found once (callers cache it), an observation is three number updates, and the
// exposition is built only when Prometheus scrapes: both metrics read the same series, so
// `<requests>` always equals `<duration>_count`.
import type { Metric, Registry } from "prom-client";

export interface CallSeries {
  readonly labels: Readonly<Record<string, string>>;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative), the last one for +Inf. */
  readonly buckets: Float64Array;
}

export interface CallSeriesFamily<L extends string> {
  /** The series of these label values, created on first use. Cache it: this builds a key. */
  series(labels: Readonly<Record<L, string>>): CallSeries;
  observe(series: CallSeries, seconds: number): void;
}

interface Spec<L extends string> {
  readonly requests: { readonly name: string; readonly help: string };
  readonly duration: { readonly name: string; readonly help: string };
  readonly labelNames: readonly L[];
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

export function callSeriesFamily<L extends string>(spec: Spec<L>): CallSeriesFamily<L> {
  const bounds = spec.buckets;
  const all = new Map<string, CallSeries>();
  const { requests, duration } = spec;
  const metric = (name: string, help: string, type: "counter" | "histogram", values: () => unknown[]) =>
    ({
      name,
      help,
      type,
      labelNames: spec.labelNames,
      aggregator: "sum",
      get: async () => ({ name, help, type, aggregator: "sum", values: values() }),
      reset: () => {
        for (const s of all.values()) {
          s.count = 0;
          s.sum = 0;
          s.buckets.fill(0);
        }
      },
    }) as unknown as Metric;
  const counter = metric(requests.name, requests.help, "counter", () => [...all.values()].map((s) => ({ labels: s.labels, value: s.count })));
  const histogram = metric(duration.name, duration.help, "histogram", () => {
    const out: unknown[] = [];
    for (const s of all.values()) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += s.buckets[i]!;
        out.push({ metricName: `${duration.name}_bucket`, labels: { ...s.labels, le: bounds[i] }, value: cumulative });
      }
      out.push({ metricName: `${duration.name}_bucket`, labels: { ...s.labels, le: "+Inf" }, value: s.count });
      out.push({ metricName: `${duration.name}_sum`, labels: s.labels, value: s.sum });
      out.push({ metricName: `${duration.name}_count`, labels: s.labels, value: s.count });
    }
    return out;
  });
  for (const r of spec.registers) {
    r.registerMetric(counter);
    r.registerMetric(histogram);
  }
  return {
    series(labels) {
      const key = spec.labelNames.map((n) => labels[n]).join("\u0000");
      let s = all.get(key);
      if (!s) {
        s = { labels: { ...labels }, count: 0, sum: 0, buckets: new Float64Array(bounds.length + 1) };
        all.set(key, s);
      }
      return s;
    },
    observe(s, seconds) {
      s.count++;
      s.sum += seconds;
      let i = 0;
      while (i < bounds.length && seconds > bounds[i]!) i++;
      s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    },
  };
}
