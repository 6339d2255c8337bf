/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   rendered manifests and dashboards are untyped JSON walked by path (as the repo's test rules already allow for member access); schemas.ts validates their shape. */
// The Helm chart, rendered with helm itself (no cluster): lint, schema of every object, and what
// every workload must have, in each configuration the shop is deployed in.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseDuration } from "../../platform/config.js";
import { repoRoot } from "../../platform/paths.js";
import { chartDir, find, findAll, helm, kubeName, mustFind, namespace, render, valueArgs, type K8sObject, type RenderOptions } from "./helm.js";
import { schemaError } from "./schemas.js";
import { defaultMetricsPort } from "../../platform/metrics/config.js";
import { chartValues, clientFacingMethods, grpcWorkloads, loadContract, podEnv, serviceFolders, workloads, type WorkloadEntry } from "./workloads.js";

const mesh = ["mesh.enabled=true"];
const chaosFiles = readdirSync(join(repoRoot(), "istio", "chaos")).filter((f) => f.endsWith(".yaml")).map((f) => `istio/chaos/${f}`);

const scenarios: Record<string, RenderOptions> = {
  "default values": {},
  "mesh on": { set: mesh },
  "dev values with mesh": { valuesFiles: ["charts/shop/values-dev.yaml"], set: mesh },
  "external databases with mesh": { valuesFiles: ["charts/shop/values-external.yaml"], set: mesh },
  "external databases without mesh": { valuesFiles: ["charts/shop/values-external.yaml"] },
  "canary example": { valuesFiles: ["istio/canary/catalog-v2.yaml"], set: mesh },
  ...Object.fromEntries(chaosFiles.map((f) => [`chaos drill ${f}`, { set: mesh, valuesFiles: [f] }])),
};

const istioGroups = ["security.istio.io", "networking.istio.io", "telemetry.istio.io"];
const isIstio = (o: K8sObject) => istioGroups.some((g) => o.apiVersion.startsWith(`${g}/`));

/** Rendered once per scenario and shared by the tests below. */
const rendered = new Map<string, Promise<K8sObject[]>>();
const objectsOf = (scenario: string): Promise<K8sObject[]> => {
  let p = rendered.get(scenario);
  if (!p) {
    p = render(scenarios[scenario]);
    rendered.set(scenario, p);
  }
  return p;
};

function podTemplate(o: K8sObject): any {
  return o.spec.template.spec;
}

function workloadDeployment(objects: readonly K8sObject[], w: WorkloadEntry): K8sObject {
  return mustFind(objects, "Deployment", kubeName(w.name));
}

describe("Helm chart charts/shop", () => {
  describe("lint and schema", () => {
    for (const [scenario, opts] of Object.entries(scenarios)) {
      it(`passes helm lint --strict with ${scenario}`, async () => {
        const res = await helm(["lint", "--strict", chartDir, "--namespace", namespace, ...valueArgs(opts)]);
        assert.equal(res.code, 0, res.stdout + res.stderr);
      });

      it(`renders only objects that validate against their schemas with ${scenario}`, async () => {
        const objects = await objectsOf(scenario);
        assert.ok(objects.length > 50, `only ${objects.length} objects rendered`);
        const errors = objects.map(schemaError).filter((e) => e !== undefined);
        assert.deepEqual(errors, []);
      });
    }

    it("renders no Istio object while the mesh is off, and every kind of them when it is on", async () => {
      assert.deepEqual((await objectsOf("default values")).filter(isIstio), []);
      const kinds = new Set((await objectsOf("mesh on")).filter(isIstio).map((o) => o.kind));
      for (const kind of ["PeerAuthentication", "AuthorizationPolicy", "RequestAuthentication", "DestinationRule", "VirtualService", "Gateway", "Telemetry"]) {
        assert.ok(kinds.has(kind), `no ${kind} rendered with mesh.enabled=true`);
      }
    });

    it("gives every service folder under services/ an entry in values.yaml", () => {
      const entries = new Set(workloads.map((w) => w.name));
      assert.deepEqual(serviceFolders().filter((s) => !entries.has(s)), []);
    });

    it("fails to render, naming the value, when an external database URL is missing", async () => {
      const res = await helm([
        "template", "shop", chartDir, ...valueArgs({ valuesFiles: ["charts/shop/values-external.yaml"], set: ["external.postgres.urls.cart=null"] }),
      ]);
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /external\.postgres\.urls\.cart is required/);
    });
  });

  for (const scenario of ["default values", "mesh on", "external databases with mesh"]) {
    describe(`every workload with ${scenario}`, () => {
      for (const w of workloads) {
        it(`${w.name}: Deployment with probes, resources, non-root read-only security context and its own ServiceAccount`, async () => {
          const objects = await objectsOf(scenario);
          const deployment = workloadDeployment(objects, w);
          const pod = podTemplate(deployment);
          const c = pod.containers[0];

          assert.equal(pod.serviceAccountName, kubeName(w.name));
          assert.ok(find(objects, "ServiceAccount", kubeName(w.name)), "ServiceAccount not rendered");
          assert.equal(c.command[0], "/usr/bin/tini", "PID 1 must forward SIGTERM to node");
          assert.equal(c.command.at(-1), w.protocol === "http" ? "dist/gateway/main.js" : `dist/services/${w.name}/main.js`);

          for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
            assert.ok(c[probe], `${probe} missing`);
            if (w.protocol === "grpc") assert.equal(c[probe].grpc?.port, w.port, `${probe} must be a gRPC probe on ${w.port}`);
            else assert.equal(c[probe].httpGet?.port, "http", `${probe} must probe the gateway's HTTP port`);
          }
          if (w.protocol === "grpc") assert.equal(c.readinessProbe.grpc.service, w.grpcService, "readiness must ask for the service's own health status");
          else assert.equal(c.readinessProbe.httpGet.path, "/readyz");

          assert.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory, "cpu and memory requests");
          assert.ok(c.resources?.limits?.memory, "memory limit");

          assert.equal(pod.securityContext.runAsNonRoot, true);
          assert.equal(c.securityContext.runAsNonRoot, true);
          assert.equal(c.securityContext.readOnlyRootFilesystem, true);
          assert.equal(c.securityContext.allowPrivilegeEscalation, false);
          assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
          assert.ok(pod.volumes.some((v: any) => v.name === "tmp" && v.emptyDir), "a writable /tmp (emptyDir)");
        });

        it(`${w.name}: serves /metrics on METRICS_PORT, named and announced for Prometheus`, async () => {
          const objects = await objectsOf(scenario);
          const template = workloadDeployment(objects, w).spec.template;
          const metricsPort = chartValues.metrics.port;
          assert.equal(metricsPort, defaultMetricsPort, "the chart's port is the code's default");
          assert.equal(podEnv(objects, template.spec).env["METRICS_PORT"], String(metricsPort));
          const ports = template.spec.containers[0].ports as { name: string; containerPort: number }[];
          assert.deepEqual(ports.find((p) => p.name === "http-metrics")?.containerPort, metricsPort);
          assert.notEqual(metricsPort, w.port, "never the public or gRPC port");
          const annotations = template.metadata.annotations as Record<string, string>;
          assert.deepEqual(
            [annotations["prometheus.io/scrape"], annotations["prometheus.io/port"], annotations["prometheus.io/path"]],
            ["true", String(metricsPort), "/metrics"],
          );
          assert.equal(annotations["prometheus.istio.io/merge-metrics"], undefined, "Istio's metrics merging is how Prometheus scrapes in the mesh");
        });

        it(`${w.name}: Service port named for Istio, autoscaler and disruption budget`, async () => {
          const objects = await objectsOf(scenario);
          const service = mustFind(objects, "Service", kubeName(w.name));
          const port = service.spec.ports.find((p: any) => p.port === w.port);
          assert.ok(port, `Service ${kubeName(w.name)} does not expose ${w.port}`);
          assert.equal(port.name, w.protocol);
          assert.equal(port.appProtocol, w.protocol);
          const selector = service.spec.selector as Record<string, string>;
          const podLabels = workloadDeployment(objects, w).spec.template.metadata.labels as Record<string, string>;
          for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v, `Service selector ${k} does not match the pods`);

          const hpa = mustFind(objects, "HorizontalPodAutoscaler", kubeName(w.name));
          assert.equal(hpa.spec.scaleTargetRef.name, kubeName(w.name));
          assert.ok(hpa.spec.minReplicas >= 2, "at least two replicas in production");
          assert.ok(find(objects, "PodDisruptionBudget", kubeName(w.name)), "PodDisruptionBudget not rendered");
        });
      }
    });
  }

  describe("development values", () => {
    it("relax only the read-only root filesystem (Tilt syncs files) and run node --watch", async () => {
      const objects = await objectsOf("dev values with mesh");
      for (const w of workloads) {
        const c = podTemplate(workloadDeployment(objects, w)).containers[0];
        assert.equal(c.securityContext.readOnlyRootFilesystem, false);
        assert.equal(c.securityContext.runAsNonRoot, true);
        assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
        assert.ok(c.command.includes("--watch"), `${w.name} does not restart on synced code`);
      }
      assert.deepEqual(findAll(objects, "HorizontalPodAutoscaler"), []);
    });
  });

  describe("migrations", () => {
    it("run as a Helm hook Job per service with a database, before the upgrade rolls the pods", async () => {
      for (const [scenario, install] of [["default values", "post-install"], ["external databases with mesh", "pre-install"]] as const) {
        const objects = await objectsOf(scenario);
        for (const w of grpcWorkloads) {
          if (!w.postgres) {
            assert.equal(find(objects, "Job", `${kubeName(w.name)}-migrate`), undefined, `${w.name} has no PostgreSQL, so nothing to migrate`);
            continue;
          }
          const job = mustFind(objects, "Job", `${kubeName(w.name)}-migrate`);
          const hooks = (job.metadata.annotations?.["helm.sh/hook"] ?? "").split(",");
          assert.ok(hooks.includes("pre-upgrade") && hooks.includes(install), `${scenario}: ${w.name} hooks ${hooks.join(",")}`);
          const pod = podTemplate(job);
          assert.deepEqual(pod.containers[0].command.slice(-2), [`dist/services/${w.name}/main.js`, "migrate"]);
          assert.equal(job.spec.template.metadata.labels["sidecar.istio.io/inject"], "false", "a sidecar would keep the Job running");
          const selector = mustFind(objects, "Service", kubeName(w.name)).spec.selector as Record<string, string>;
          const jobLabels = job.spec.template.metadata.labels as Record<string, string>;
          assert.ok(Object.entries(selector).some(([k, v]) => jobLabels[k] !== v), `${w.name}: the Service would send calls to the migration pod`);
          assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
          // Hooks run before the release's ordinary objects exist: the Job reads hook copies.
          for (const ref of pod.containers[0].envFrom) {
            const name = ref.configMapRef?.name ?? ref.secretRef?.name;
            const kind = ref.configMapRef ? "ConfigMap" : "Secret";
            const source = find(objects, kind, name);
            if (!source) continue; // an existingSecret, managed outside the chart
            assert.ok(source.metadata.annotations?.["helm.sh/hook"], `${kind} ${name} read by a hook Job is not a hook itself`);
          }
        }
        assert.equal(findAll(objects, "Job").length, grpcWorkloads.filter((w) => w.postgres).length);
      }
    });

    it("let services migrate at start-up only with the in-release dev PostgreSQL", async () => {
      const migrateAtStart = async (scenario: string) =>
        mustFind(await objectsOf(scenario), "ConfigMap", kubeName("cart")).data?.MIGRATE_ON_START;
      assert.equal(await migrateAtStart("default values"), "true");
      assert.equal(await migrateAtStart("external databases with mesh"), "false");
    });
  });

  describe("dependencies", () => {
    const devDeps = ["postgres", "rabbitmq", "mongodb", "jaeger", "prometheus", "grafana"];

    it("render dev PostgreSQL, RabbitMQ, MongoDB, Jaeger, Prometheus and Grafana by default, outside the mesh", async () => {
      const objects = await objectsOf("mesh on");
      for (const dep of devDeps) {
        const d = mustFind(objects, "Deployment", kubeName(dep));
        assert.equal(d.spec.template.metadata.labels["sidecar.istio.io/inject"], "false", dep);
        assert.equal(podTemplate(d).securityContext.runAsNonRoot, true, dep);
      }
      const init = mustFind(objects, "Secret", kubeName("postgres")).stringData?.["10-service-databases.sql"] ?? "";
      for (const w of grpcWorkloads) {
        if (w.postgres) assert.match(init, new RegExp(`CREATE DATABASE "${w.name}" OWNER "${w.name}"`));
        else assert.doesNotMatch(init, new RegExp(`CREATE DATABASE "${w.name}"`));
      }
    });

    it("switch off for managed ones, whose URLs reach the services' Secrets", async () => {
      const objects = await objectsOf("external databases with mesh");
      for (const dep of devDeps) assert.equal(find(objects, "Deployment", kubeName(dep)), undefined, `${dep} still rendered`);
      const secret = mustFind(objects, "Secret", kubeName("cart"));
      const url = Buffer.from(secret.data?.DATABASE_URL ?? "", "base64").toString();
      assert.match(url, /^postgres:\/\/cart:.*@db\.internal\.example:5432\/cart/);
      assert.equal(find(objects, "Secret", kubeName("payment")), undefined, "payment's Secret is managed outside the chart");
      const payment = podTemplate(mustFind(objects, "Deployment", kubeName("payment")));
      assert.ok(payment.containers[0].envFrom.some((r: any) => r.secretRef?.name === "shop-payment-credentials"));
    });

    it("provision every dashboard file through a ConfigMap the dev Grafana mounts", async () => {
      const objects = await objectsOf("default values");
      const cm = mustFind(objects, "ConfigMap", "shop-dashboards");
      const files = readdirSync(join(chartDir, "dashboards")).filter((f) => f.endsWith(".json")).sort();
      assert.deepEqual(Object.keys(cm.data ?? {}).sort(), files);
      const grafana = podTemplate(mustFind(objects, "Deployment", kubeName("grafana")));
      assert.ok(grafana.volumes.some((v: any) => v.configMap?.name === "shop-dashboards"));
    });
  });

  describe("mesh", () => {
    it("requires mTLS for the whole namespace", async () => {
      const objects = await objectsOf("mesh on");
      const namespaceWide = findAll(objects, "PeerAuthentication").filter((p) => !p.spec.selector);
      assert.equal(namespaceWide.length, 1);
      assert.equal(namespaceWide[0]!.spec.mtls.mode, "STRICT");
      for (const p of findAll(objects, "PeerAuthentication")) assert.equal(p.spec.mtls.mode, "STRICT");
    });

    it("opens nothing in the mesh to the metrics port: Prometheus scrapes the sidecar's merged endpoint instead", async () => {
      const objects = await objectsOf("mesh on");
      for (const policy of findAll(objects, "AuthorizationPolicy")) {
        for (const rule of policy.spec.rules ?? []) {
          for (const to of rule.to ?? []) {
            assert.ok(!(to.operation.paths ?? []).includes("/metrics"), `${policy.metadata.name} allows /metrics`);
            assert.ok(!(to.operation.ports ?? []).includes(String(defaultMetricsPort)), `${policy.metadata.name} opens the metrics port`);
          }
        }
      }
      // The dev Prometheus has no sidecar: it reaches the agent's port 15020, which Envoy does not intercept.
      const prometheus = findAll(objects, "Deployment").find((d) => d.metadata.name.endsWith("-prometheus"));
      assert.equal(prometheus?.spec.template.metadata.labels["sidecar.istio.io/inject"], "false");
    });

    it("injects sidecars into every workload", async () => {
      const objects = await objectsOf("mesh on");
      for (const w of workloads) {
        assert.equal(workloadDeployment(objects, w).spec.template.metadata.labels["sidecar.istio.io/inject"], "true", w.name);
      }
    });

    it("denies by default and gives every workload one ALLOW policy selecting its pods", async () => {
      const objects = await objectsOf("mesh on");
      const policies = findAll(objects, "AuthorizationPolicy");
      const allowNothing = policies.filter((p) => !p.spec.selector);
      assert.equal(allowNothing.length, 1);
      assert.deepEqual(allowNothing[0]!.spec, {}, "an ALLOW policy without rules matches nothing");
      for (const w of workloads) {
        const policy = mustFind(objects, "AuthorizationPolicy", kubeName(w.name));
        assert.equal(policy.spec.action, "ALLOW");
        const podLabels = workloadDeployment(objects, w).spec.template.metadata.labels as Record<string, string>;
        for (const [k, v] of Object.entries(policy.spec.selector.matchLabels as Record<string, string>)) assert.equal(podLabels[k], v);
        for (const rule of policy.spec.rules) {
          for (const from of rule.from ?? []) assert.ok(from.source.principals?.length > 0, `${w.name}: a rule without principals admits anyone`);
        }
      }
    });

    /** target -> caller -> method paths, as the policies allow them. */
    async function allowed(): Promise<Map<string, Map<string, Set<string>>>> {
      const objects = await objectsOf("mesh on");
      const out = new Map<string, Map<string, Set<string>>>();
      for (const w of grpcWorkloads) {
        const byCaller = new Map<string, Set<string>>();
        for (const rule of mustFind(objects, "AuthorizationPolicy", kubeName(w.name)).spec.rules) {
          assert.ok(rule.from, `${w.name}: every rule of a gRPC service names its callers`);
          const paths: string[] = rule.to.flatMap((t: any) => t.operation.paths);
          for (const from of rule.from) {
            for (const principal of from.source.principals as string[]) {
              const m = /^cluster\.local\/ns\/shop\/sa\/shop-(.+)$/.exec(principal);
              assert.ok(m, `${w.name}: unexpected principal ${principal}`);
              const set = byCaller.get(m[1]!) ?? new Set<string>();
              paths.forEach((p) => set.add(p));
              byCaller.set(m[1]!, set);
            }
          }
        }
        out.set(w.name, byCaller);
      }
      return out;
    }

    it("allows only methods that exist in each service's contract", async () => {
      const policy = await allowed();
      for (const w of grpcWorkloads) {
        const contract = await loadContract(w);
        const known = new Set(contract.methods.map((m) => `/${contract.typeName}/${m.name}`));
        for (const [caller, paths] of policy.get(w.name)!) {
          for (const p of paths) assert.ok(known.has(p) || p === "/grpc.health.v1.Health/Check", `${caller} -> ${w.name}: ${p} is not a method of ${contract.typeName}`);
        }
      }
    });

    it("lets the gateway call exactly the client-facing methods, and never an INTERNAL one", async () => {
      const policy = await allowed();
      for (const w of grpcWorkloads) {
        const contract = await loadContract(w);
        const expected = clientFacingMethods(contract).map((m) => `/${contract.typeName}/${m}`).sort();
        const got = [...(policy.get(w.name)!.get("gateway") ?? [])].filter((p) => !p.startsWith("/grpc.health.v1.")).sort();
        assert.deepEqual(got, expected, `gateway -> ${w.name}`);
        assert.ok(policy.get(w.name)!.get("gateway")!.has("/grpc.health.v1.Health/Check"), `the gateway's /readyz asks ${w.name}'s health`);
      }
    });

    it("lets services call each other exactly as their calls declare, and everyone read the JWKS", async () => {
      const policy = await allowed();
      const expect = (target: string, caller: string, methods: string[]) => {
        const contract = grpcWorkloads.find((w) => w.name === target)!.grpcService!;
        for (const m of methods) assert.ok(policy.get(target)!.get(caller)?.has(`/${contract}/${m}`), `${caller} may not call ${target}.${m}`);
      };
      expect("inventory", "order", ["ReserveStock", "CommitReservation", "ReleaseReservation", "RestockReservation"]);
      expect("payment", "order", ["AuthorizePayment", "CapturePayment", "VoidPayment", "RefundPayment"]);
      expect("promotion", "order", ["EvaluateCart", "RedeemPromotions", "ReleaseRedemptions"]);
      expect("shipping", "order", ["QuoteShipping"]);
      expect("cart", "order", ["GetCart"]);
      expect("catalog", "order", ["BatchGetSkus"]);
      expect("catalog", "cart", ["BatchGetSkus"]);
      expect("inventory", "cart", ["BatchGetStock"]);
      expect("catalog", "shipping", ["BatchGetSkus"]);
      assert.equal(policy.get("inventory")!.get("cart")!.has("/shop.inventory.v1.InventoryService/ReserveStock"), false, "cart must not reserve stock");
      assert.equal(policy.get("payment")!.get("cart"), undefined, "cart has no business with payment");
      assert.equal(policy.get("shipping")!.get("order")!.has("/shop.shipping.v1.ShippingService/CreateShipment"), false, "shipments come from OrderPlaced events");
      for (const w of workloads.filter((x) => x.name !== "users")) expect("users", w.name, ["GetJwks"]);
      // Nothing beyond what values.yaml declares (plus the JWKS and the gateway's health checks).
      for (const target of grpcWorkloads) {
        for (const [caller, paths] of policy.get(target.name)!) {
          const declared = new Set((workloads.find((w) => w.name === caller)!.calls[target.name] ?? []).map((m) => `/${target.grpcService}/${m}`));
          for (const p of paths) {
            const implicit = p === "/shop.users.v1.UsersService/GetJwks" || p === "/grpc.health.v1.Health/Check";
            assert.ok(declared.has(p) || implicit, `${caller} -> ${target.name}: ${p} is allowed but not declared`);
          }
        }
      }
    });

    it("admits clients to the gateway only through the ingress gateway's identity", async () => {
      const objects = await objectsOf("mesh on");
      const rules = mustFind(objects, "AuthorizationPolicy", kubeName("gateway")).spec.rules as any[];
      const withSource = rules.filter((r) => r.from);
      assert.deepEqual(withSource.flatMap((r) => r.from.flatMap((f: any) => f.source.principals)), ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]);
      for (const r of rules.filter((x) => !x.from)) {
        assert.deepEqual(r.to[0].operation.methods, ["GET"]);
        assert.deepEqual([...r.to[0].operation.paths].sort(), ["/.well-known/jwks.json", "/healthz", "/readyz", "/shop.users.v1.UsersService/GetJwks"]);
      }
    });

    it("verifies the users service's JWTs at the ingress and passes them on", async () => {
      const objects = await objectsOf("mesh on");
      const ra = findAll(objects, "RequestAuthentication");
      assert.equal(ra.length, 1);
      assert.equal(ra[0]!.metadata.namespace, "istio-system");
      assert.deepEqual(ra[0]!.spec.selector.matchLabels, { istio: "ingressgateway" });
      const rule = ra[0]!.spec.jwtRules[0];
      assert.equal(rule.issuer, "shop-users");
      assert.deepEqual(rule.audiences, ["shop"]);
      assert.equal(rule.jwksUri, "http://shop-gateway.shop.svc.cluster.local:8080/.well-known/jwks.json");
      assert.equal(rule.forwardOriginalToken, true, "services verify the token again");
      const gw = mustFind(objects, "Gateway", "shop-ingress");
      assert.deepEqual(gw.spec.selector, { istio: "ingressgateway" });
      const vs = mustFind(objects, "VirtualService", kubeName("gateway"));
      assert.deepEqual(vs.spec.gateways, ["shop-ingress"]);
    });

    it("gives every workload connection pools and outlier detection that can eject from two replicas", async () => {
      const objects = await objectsOf("mesh on");
      for (const w of workloads) {
        const dr = mustFind(objects, "DestinationRule", kubeName(w.name));
        assert.equal(dr.spec.host, `${kubeName(w.name)}.shop.svc.cluster.local`);
        assert.ok(dr.spec.trafficPolicy.connectionPool.tcp.maxConnections > 0);
        assert.ok(dr.spec.trafficPolicy.connectionPool.http.http2MaxRequests > 0);
        assert.equal(dr.spec.trafficPolicy.outlierDetection.maxEjectionPercent, 100);
      }
    });

    it("retries only requests that never reached a server, with timeouts above the application's deadlines", async () => {
      const objects = await objectsOf("mesh on");
      const safe = new Set(["connect-failure", "refused-stream", "reset-before-request"]);
      // The longest deadline the application gives one call: the gateway's BACKEND_TIMEOUT and
      // the platform client's default are both 5 s.
      const appDeadlineMs = 5000;
      for (const w of workloads) {
        const vs = mustFind(objects, "VirtualService", kubeName(w.name));
        for (const route of vs.spec.http) {
          const retryOn: string[] = route.retries.attempts > 0 ? route.retries.retryOn.split(",") : [];
          for (const r of retryOn) assert.ok(safe.has(r), `${w.name} route ${route.name}: retryOn ${r} would stack on the application's own retries`);
          assert.ok(route.retries.attempts <= 1, `${w.name}: more than one mesh retry`);
          const timeout = parseDuration(route.timeout);
          const streaming = route.match !== undefined;
          if (streaming) assert.equal(timeout, 0, `${w.name} route ${route.name}: a stream must not have a route timeout`);
          else assert.ok(timeout > appDeadlineMs, `${w.name}: mesh timeout ${route.timeout} would cut calls the application still waits for`);
        }
      }
      const notification = mustFind(objects, "VirtualService", kubeName("notification"));
      assert.equal(notification.spec.http[0].match[0].uri.exact, "/shop.notification.v1.NotificationService/WatchOrderUpdates");
    });

    it("sends the sidecars' spans to the configured tracing provider", async () => {
      const telemetry = findAll(await objectsOf("mesh on"), "Telemetry");
      assert.equal(telemetry.length, 1);
      assert.equal(telemetry[0]!.spec.tracing[0].providers[0].name, "shop-jaeger");
    });

    it("splits a canary by version subsets and weights", async () => {
      const objects = await objectsOf("canary example");
      const stable = mustFind(objects, "Deployment", kubeName("catalog"));
      const canary = mustFind(objects, "Deployment", `${kubeName("catalog")}-v2`);
      assert.equal(stable.spec.selector.matchLabels.version, "v1");
      assert.equal(canary.spec.selector.matchLabels.version, "v2");
      assert.match(podTemplate(canary).containers[0].image, /:0\.2\.0$/);
      const dr = mustFind(objects, "DestinationRule", kubeName("catalog"));
      assert.deepEqual(dr.spec.subsets.map((s: any) => [s.name, s.labels.version]), [["stable", "v1"], ["canary", "v2"]]);
      const route = mustFind(objects, "VirtualService", kubeName("catalog")).spec.http.at(-1).route;
      assert.deepEqual(route.map((r: any) => [r.destination.subset, r.weight]), [["stable", 90], ["canary", 10]]);
      // The Service (and so the mesh host) still covers both tracks.
      const selector = mustFind(objects, "Service", kubeName("catalog")).spec.selector;
      assert.equal(selector.version, undefined);
    });

    for (const file of chaosFiles) {
      it(`injects faults only through the separate drill ${file}`, async () => {
        const calm = await objectsOf("mesh on");
        assert.deepEqual(findAll(calm, "VirtualService").filter((vs) => vs.spec.http.some((r: any) => r.fault)), [], "faults in normal operation");
        const drill = await objectsOf(`chaos drill ${file}`);
        const faulty = findAll(drill, "VirtualService").filter((vs) => vs.spec.http.some((r: any) => r.fault));
        assert.equal(faulty.length, 1, `${file} should fault exactly one service`);
      });
    }
  });
});
