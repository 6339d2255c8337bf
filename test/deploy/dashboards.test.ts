/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument --
   rendered manifests and dashboards are untyped JSON walked by path (as the repo's test rules already allow for member access); schemas.ts validates their shape. */
// The Grafana dashboards are JSON that parses, and every series they query is one the code
// exports (platform/metrics), with labels those metrics have: a renamed metric or label breaks
// this test instead of silently emptying a panel.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Metric } from "prom-client";
import { registry } from "../../platform/metrics/registry.js";
import { chartDir } from "./helm.js";

const dashboardDir = join(chartDir, "dashboards");
const files = readdirSync(dashboardDir).filter((f) => f.endsWith(".json")).sort();

/** Labels Prometheus adds to every scraped series (charts/shop/templates/dev/prometheus.yaml). */
const targetLabels = new Set(["job", "instance", "workload", "version", "pod", "namespace"]);

const functions = new Set([
  "rate", "irate", "increase", "sum", "max", "min", "avg", "count", "histogram_quantile", "topk", "bottomk",
  "label_values", "clamp_min", "clamp_max", "abs", "delta", "deriv", "max_over_time", "min_over_time", "avg_over_time", "time",
]);
const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"]);

interface Selector {
  readonly metric: string;
  readonly labels: readonly string[];
}

/** The metric selectors of a PromQL expression (Grafana's $variables and ranges allowed). */
export function selectors(expr: string): Selector[] {
  const src = expr
    .replace(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g, '$1{$2=""}') // Grafana's variable query
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values, which may hold anything
    .replace(/\[[^\]]*\]/g, "") // range and subquery durations
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " "); // label lists
  const out: Selector[] = [];
  for (const m of src.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g)) {
    const [, name, braces, call] = m;
    if ((call !== undefined && !braces) || keywords.has(name!) || functions.has(name!)) continue;
    const labels = braces ? [...braces.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!) : [];
    out.push({ metric: name!, labels });
  }
  return out;
}

function expressions(dashboard: any): string[] {
  const exprs: string[] = [];
  const visit = (panels: any[]) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) exprs.push(t.expr);
      visit(p.panels);
    }
  };
  visit(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : v.query?.query;
    if (v.type === "query" && q) exprs.push(q);
  }
  return exprs;
}

/** Every series name the registry exposes, with the label names it carries. */
async function exportedSeries(): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const json of await registry.getMetricsAsJSON()) {
    const metric = registry.getSingleMetric(json.name) as (Metric & { labelNames?: string[] }) | undefined;
    const labels = new Set<string>([...(metric?.labelNames ?? []), ...json.values.flatMap((v) => Object.keys(v.labels))]);
    if (String(json.type) === "histogram") {
      out.set(`${json.name}_bucket`, new Set([...labels, "le"]));
      out.set(`${json.name}_sum`, labels);
      out.set(`${json.name}_count`, labels);
    } else {
      out.set(json.name, labels);
    }
  }
  return out;
}

describe("Grafana dashboards", () => {
  it("exist for services, checkout, events and calls between services", () => {
    assert.deepEqual(files, ["shop-checkout.json", "shop-events.json", "shop-resilience.json", "shop-services.json"]);
  });

  it("finds the metric selectors of an expression, and only those", () => {
    assert.deepEqual(
      selectors('histogram_quantile(0.99, sum by (service, le) (rate(shop_rpc_server_duration_seconds_bucket{service=~"$service",code!="OK"}[$__rate_interval])))'),
      [{ metric: "shop_rpc_server_duration_seconds_bucket", labels: ["service", "code"] }],
    );
    assert.deepEqual(selectors("sum(a_total) / sum(b_total) * 60"), [{ metric: "a_total", labels: [] }, { metric: "b_total", labels: [] }]);
    assert.deepEqual(selectors("label_values(shop_outbox_backlog, service)"), [{ metric: "shop_outbox_backlog", labels: ["service"] }]);
  });

  for (const file of files) {
    it(`${file}: parses, has a unique uid, and queries only exported metrics and their labels`, async () => {
      const dashboard = JSON.parse(readFileSync(join(dashboardDir, file), "utf8"));
      assert.equal(typeof dashboard.uid, "string");
      assert.equal(dashboard.uid, file.replace(/\.json$/, ""));
      const exprs = expressions(dashboard);
      assert.ok(exprs.length >= 5, `${file} has only ${exprs.length} queries`);
      const series = await exportedSeries();
      const problems: string[] = [];
      for (const expr of exprs) {
        const found = selectors(expr);
        if (found.length === 0) problems.push(`no metric in: ${expr}`);
        for (const s of found) {
          const labels = series.get(s.metric);
          if (!labels) {
            problems.push(`${s.metric} is not exported by platform/metrics (in: ${expr})`);
            continue;
          }
          for (const l of s.labels) if (!labels.has(l) && !targetLabels.has(l)) problems.push(`${s.metric} has no label ${l}`);
        }
      }
      assert.deepEqual(problems, []);
    });
  }

  it("have unique panel ids within each dashboard", () => {
    for (const file of files) {
      const dashboard = JSON.parse(readFileSync(join(dashboardDir, file), "utf8"));
      const ids = (dashboard.panels as { id: number }[]).map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, file);
    }
  });
});
