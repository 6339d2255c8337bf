// The Tiltfile names chart objects by `name:kind`; Tilt refuses to start when one does not
// exist. Without a Tilt binary here, this checks those names against what the chart renders
// with the values Tilt uses.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../platform/paths.js";
import { kubeName, render, type K8sObject } from "./helm.js";
import { workloads } from "./workloads.js";

const tiltfile = readFileSync(join(repoRoot(), "Tiltfile"), "utf8");

function has(objects: readonly K8sObject[], name: string, kind: string): boolean {
  return objects.some((o) => o.metadata.name === name && o.kind.toLowerCase() === kind);
}

describe("Tiltfile", () => {
  let objects: K8sObject[];
  before(async () => {
    objects = await render({ valuesFiles: ["charts/shop/values-dev.yaml"], set: ["mesh.enabled=true"] });
  });

  it("refers only to objects the chart renders with values-dev.yaml", () => {
    const fixed = [...tiltfile.matchAll(/'%s-([a-z0-9-]+):([a-z]+)' % release/g)].map((m) => [kubeName(m[1]!), m[2]!] as const);
    assert.ok(fixed.length >= 10, "the Tiltfile's object names were not found");
    const perWorkload = [...tiltfile.matchAll(/'%s(-migrate)?:([a-z]+)' % kube/g)].map((m) => [m[1] ?? "", m[2]!] as const);
    assert.ok(perWorkload.length >= 6);
    const missing: string[] = [];
    for (const [name, kind] of fixed) if (!has(objects, name, kind)) missing.push(`${name}:${kind}`);
    for (const w of workloads) {
      for (const [suffix, kind] of perWorkload) {
        if (suffix && !w.postgres) continue; // no PostgreSQL (the gateway, reviews): no migrations
        const name = kubeName(w.name) + suffix;
        if (!has(objects, name, kind)) missing.push(`${name}:${kind}`);
      }
      assert.ok(has(objects, kubeName(w.name), "deployment"));
    }
    assert.deepEqual(missing, []);
  });

  it("syncs compiled code into the image's working directory", () => {
    assert.match(tiltfile, /sync\('dist', '\/app\/dist'\)/);
    assert.match(readFileSync(join(repoRoot(), "Dockerfile"), "utf8"), /^WORKDIR \/app$/m);
  });
});
