// Every environment variable a workload's code requires is set by the chart, parses with the
// code's own parser, and points peers at the right Services; nothing the chart sets is unknown
// to the code. The specs come from the code itself (platform/service.ts's configSpec with each
// service's module, gateway/config.ts), so a new required setting fails here until the chart
// sets it. Services whose code has not landed yet are reported as pending.
import assert from "node:assert/strict";
import { kubeName, mustFind, render, type K8sObject, type RenderOptions } from "./helm.js";
import { isRequired, loadModule, loadSpec, podEnv, workloads, type Spec, type WorkloadEntry } from "./workloads.js";

const scenarios: Record<string, RenderOptions> = {
  "dev dependencies (default values)": {},
  "managed dependencies (values-external.yaml)": { valuesFiles: ["charts/shop/values-external.yaml"], set: ["services.payment.existingSecret="] },
};

/** `CATALOG_ADDR` -> `catalog` when it names a workload of the chart. */
function peerOf(variable: string): string | undefined {
  const m = /^([A-Z]+)_ADDR$/.exec(variable);
  const name = m?.[1]?.toLowerCase();
  return workloads.some((w) => w.name === name) ? name : undefined;
}

function checkEnv(w: WorkloadEntry, spec: Spec, env: Record<string, string>, where: string): void {
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(spec)) {
    const raw = env[name];
    // Addresses default to 127.0.0.1, right for one machine and wrong in a cluster.
    const mustSet = isRequired(setting) || peerOf(name) !== undefined;
    if (raw === undefined || raw === "") {
      if (mustSet) problems.push(`${name} is not set (${setting.doc})`);
      continue;
    }
    try {
      setting.parse(raw);
    } catch (err) {
      problems.push(`${name} does not parse: ${(err as Error).message}`);
    }
    const peer = peerOf(name);
    if (peer) {
      const target = workloads.find((x) => x.name === peer)!;
      if (raw !== `${kubeName(peer)}:${target.port}`) problems.push(`${name}=${raw} is not the ${peer} Service`);
    }
  }
  for (const name of Object.keys(env)) {
    // The gateway learns a backend's address only once the backend is listed in its code; an
    // address set early for a service the chart knows is harmless.
    if (!(name in spec) && peerOf(name) === undefined) problems.push(`${name} is set but ${w.name} reads no such variable`);
  }
  assert.deepEqual(problems, [], `${w.name} (${where})`);
}

describe("chart settings against the code's configuration specs", () => {
  for (const [scenario, opts] of Object.entries(scenarios)) {
    describe(scenario, () => {
      let objects: K8sObject[];
      before(async () => {
        objects = await render(opts);
      });

      for (const w of workloads) {
        it(`${w.name}: its Deployment sets every variable the code requires, with values the code accepts`, async function () {
          const spec = await loadSpec(w);
          if (!spec) this.skip(); // the service's code has not landed yet
          const pod = mustFind(objects, "Deployment", kubeName(w.name)).spec.template.spec;
          const { env, opaqueSecrets } = podEnv(objects, pod);
          assert.deepEqual(opaqueSecrets, []);
          checkEnv(w, spec, env, "Deployment");
          const portVar = w.protocol === "http" ? "GATEWAY_PORT" : "GRPC_PORT";
          assert.equal(env[portVar], String(w.port));
          if (w.protocol === "grpc") {
            assert.ok(env.AMQP_URL, "a deployed service must use RabbitMQ, not the in-process bus");
            if (w.postgres) assert.ok(env.DATABASE_URL?.startsWith("postgres://"), "DATABASE_URL");
            else assert.equal(env.DATABASE_URL, undefined, "a service without PostgreSQL gets no DATABASE_URL");
            if (w.mongodb) assert.match(env.MONGODB_URL ?? "", /^mongodb(\+srv)?:\/\//, "MONGODB_URL");
          }
        });

        if (w.protocol === "grpc") {
          it(`${w.name}: its migration Job gets the same settings (migrate loads the whole spec), if it has a PostgreSQL`, async function () {
            const spec = await loadSpec(w);
            if (!spec) this.skip();
            if (!w.postgres) {
              assert.equal(objects.find((o) => o.kind === "Job" && o.metadata.name === `${kubeName(w.name)}-migrate`), undefined);
              return;
            }
            const job = mustFind(objects, "Job", `${kubeName(w.name)}-migrate`);
            const { env } = podEnv(objects, job.spec.template.spec);
            checkEnv(w, spec, env, "migration Job");
          });

          it(`${w.name}: values.yaml's port and storage are the module's`, async function () {
            const mod = await loadModule(w.name);
            if (!mod) this.skip();
            assert.equal(w.port, mod.defaultPort);
            assert.equal(w.postgres, (mod.storage ?? "postgres") === "postgres", "values.yaml's postgres flag is whether the module keeps its data in PostgreSQL");
          });
        }
      }
    });
  }
});
