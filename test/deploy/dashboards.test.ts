/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument --
   rendered manifests and dashboards are untyped JSON walked by path (as the repo's test rules already allow for member access); schemas.ts validates their shape. */
// The Grafana dashboards are JSON that parses, and every series they query is one the code
// exports (platform/metrics' registry), with labels those metrics have, and label values the code
// can produce (a checkout step, an event outcome, a gRPC code, a workload, a method of that
// workload's contract); the labels Prometheus adds must be ones the chart's scrape config really
// adds. A renamed metric, label or value breaks this test instead of silently emptying a panel.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Metric } from "prom-client";
import { parse } from "yaml";
import { Code } from "../../platform/errors.js";
import { checkoutStepNames, consumeOutcomes } from "../../platform/metrics/index.js";
import { registry } from "../../platform/metrics/registry.js";
import { chartDir, findAll, render } from "./helm.js";
import { loadContract, workloads } from "./workloads.js";

const dashboardDir = join(chartDir, "dashboards");
const files = readdirSync(dashboardDir).filter((f) => f.endsWith(".json")).sort();

/** Labels Prometheus adds itself to every scraped series. */
const builtinTargetLabels = ["job", "instance"];

/** Labels the dev Prometheus's relabelling adds (charts/shop/templates/dev/prometheus.yaml), read from the rendered chart. */
let targetLabelsRead: Promise<Set<string>> | undefined;
const scrapeTargetLabels = (): Promise<Set<string>> => (targetLabelsRead ??= readTargetLabels());

async function readTargetLabels(): Promise<Set<string>> {
  const config = findAll(await render(), "ConfigMap").find((c) => typeof c.data?.["prometheus.yml"] === "string");
  if (!config) throw new Error("the chart renders no Prometheus configuration");
  const prometheus = parse(config.data!["prometheus.yml"]!) as { scrape_configs: { relabel_configs?: { target_label?: string }[] }[] };
  const relabelled = prometheus.scrape_configs.flatMap((c) => c.relabel_configs ?? []).map((r) => r.target_label ?? "");
  return new Set([...builtinTargetLabels, ...relabelled.filter((l) => l !== "" && !l.startsWith("__"))]);
}

/** Label values the code can produce, where it declares them; other labels' values are not checked. */
const codeNames = new Set(Object.keys(Code).filter((k) => Number.isNaN(Number(k))));
const workloadNames = new Set(workloads.map((w) => w.name));
const knownValues: Record<string, Record<string, ReadonlySet<string>>> = {
  shop_checkout_steps_total: { step: new Set(checkoutStepNames), outcome: new Set(["ok", "failed"]) },
  shop_events_consumed_total: { outcome: new Set(consumeOutcomes) },
};
const knownByLabel: Record<string, ReadonlySet<string>> = { code: codeNames, service: workloadNames, peer: workloadNames };

/** The base metric of a histogram's series. */
const baseName = (series: string) => series.replace(/_(bucket|sum|count)$/, "");

const functions = new Set([
  "rate", "irate", "increase", "sum", "max", "min", "avg", "count", "histogram_quantile", "topk", "bottomk",
  "label_values", "clamp_min", "clamp_max", "abs", "delta", "deriv", "max_over_time", "min_over_time", "avg_over_time", "time",
]);
const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset"]);

interface Matcher {
  readonly label: string;
  readonly op: "=" | "!=" | "=~" | "!~";
  readonly value: string;
}

interface Selector {
  readonly metric: string;
  readonly labels: readonly string[];
  readonly matchers: readonly Matcher[];
}

/** The metric selectors of a PromQL expression (Grafana's $variables and ranges allowed). */
export function selectors(expr: string): Selector[] {
  const values: string[] = [];
  const src = expr
    .replace(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)/g, '$1{$2=""}') // Grafana's variable query
    .replace(/"((?:[^"\\]|\\.)*)"/g, (_, v: string) => `"${values.push(v) - 1}"`) // label values, which may hold anything
    .replace(/\[[^\]]*\]/g, "") // range and subquery durations
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " "); // label lists
  const out: Selector[] = [];
  for (const m of src.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g)) {
    const [, name, braces, call] = m;
    if ((call !== undefined && !braces) || keywords.has(name!) || functions.has(name!)) continue;
    const matchers = braces
      ? [...braces.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(\d+)"/g)].map((l) => ({ label: l[1]!, op: l[2] as Matcher["op"], value: values[Number(l[3])]! }))
      : [];
    out.push({ metric: name!, labels: matchers.map((l) => l.label), matchers });
  }
  return out;
}

/**
 * The values a positive matcher asks for, when they can be listed: `x` or `a|b|c`. Variables
 * (`$service`), empty values and real regular expressions (`5..`) are not listed.
 */
function askedValues(m: Matcher): string[] {
  if (m.value === "" || m.value.includes("$") || m.op === "!=" || m.op === "!~") return [];
  if (m.op === "=") return [m.value];
  return /^[\w-]+(\|[\w-]+)*$/.test(m.value) ? m.value.split("|") : [];
}

/** Problems with the label values of one selector. */
async function valueProblems(s: Selector): Promise<string[]> {
  const problems: string[] = [];
  const metric = baseName(s.metric);
  for (const m of s.matchers) {
    const known = knownValues[metric]?.[m.label] ?? knownByLabel[m.label];
    for (const v of askedValues(m)) if (known && !known.has(v)) problems.push(`${s.metric}: the code never sets ${m.label}="${v}"`);
  }
  // service="cart",method="AddItem": the method must be in the contract of the service called.
  const only = (label: string) => s.matchers.find((m) => m.label === label && m.op === "=" && !m.value.includes("$"))?.value;
  const method = only("method");
  const callee = only("peer") ?? only("service");
  const w = workloads.find((x) => x.name === callee);
  if (method && w?.grpcService) {
    const contract = await loadContract(w);
    if (!contract.methods.some((x) => x.name === method)) problems.push(`${s.metric}: ${w.grpcService} has no method ${method}`);
  }
  return problems;
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
      [
        {
          metric: "shop_rpc_server_duration_seconds_bucket",
          labels: ["service", "code"],
          matchers: [
            { label: "service", op: "=~", value: "$service" },
            { label: "code", op: "!=", value: "OK" },
          ],
        },
      ],
    );
    assert.deepEqual(selectors("sum(a_total) / sum(b_total) * 60"), [{ metric: "a_total", labels: [], matchers: [] }, { metric: "b_total", labels: [], matchers: [] }]);
    assert.deepEqual(selectors("label_values(shop_outbox_backlog, service)"), [{ metric: "shop_outbox_backlog", labels: ["service"], matchers: [{ label: "service", op: "=", value: "" }] }]);
  });

  it("refuses label values the code never produces, and methods a contract does not have", async () => {
    const problemsOf = async (expr: string) => (await Promise.all(selectors(expr).map(valueProblems))).flat();
    assert.deepEqual(await problemsOf('sum(shop_checkout_steps_total{step="confirmed",outcome="ok"})'), []);
    assert.deepEqual(await problemsOf('sum(shop_checkout_steps_total{step="paid"})'), ['shop_checkout_steps_total: the code never sets step="paid"']);
    assert.deepEqual(await problemsOf('rate(shop_events_consumed_total{outcome=~"failed|poisoned"}[5m])'), ['shop_events_consumed_total: the code never sets outcome="poisoned"']);
    assert.deepEqual(await problemsOf('shop_rpc_server_requests_total{code="NOTFOUND"}'), ['shop_rpc_server_requests_total: the code never sets code="NOTFOUND"']);
    assert.deepEqual(await problemsOf('shop_rpc_server_requests_total{service="cart",method="AddItem",code=~"UNAVAILABLE|INTERNAL"}'), []);
    assert.deepEqual(await problemsOf('shop_rpc_server_requests_total{service="cart",method="AddToCart"}'), ["shop_rpc_server_requests_total: shop.cart.v1.CartService has no method AddToCart"]);
    assert.deepEqual(await problemsOf('shop_rpc_client_requests_total{service="order",peer="inventory",method="ReserveStock"}'), []);
    assert.deepEqual(await problemsOf('shop_outbox_backlog{service="warehouse"}'), ['shop_outbox_backlog: the code never sets service="warehouse"']);
  });

  it("rely only on target labels the chart's Prometheus adds", async () => {
    assert.deepEqual([...(await scrapeTargetLabels())].sort(), ["instance", "job", "pod", "version", "workload"]);
  });

  for (const file of files) {
    it(`${file}: parses, has a unique uid, and queries only exported metrics and their labels`, async () => {
      const dashboard = JSON.parse(readFileSync(join(dashboardDir, file), "utf8"));
      assert.equal(typeof dashboard.uid, "string");
      assert.equal(dashboard.uid, file.replace(/\.json$/, ""));
      const exprs = expressions(dashboard);
      assert.ok(exprs.length >= 5, `${file} has only ${exprs.length} queries`);
      const series = await exportedSeries();
      const targetLabels = await scrapeTargetLabels();
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
          problems.push(...(await valueProblems(s)));
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
