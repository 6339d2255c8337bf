/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument --
   rendered manifests and dashboards are untyped JSON walked by path (as the repo's test rules already allow for member access); schemas.ts validates their shape. */
// What the tests know about the shop's workloads: the entries of the chart's values.yaml, the
// configuration specs the code declares, and the contracts' methods with their access levels.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { parse } from "yaml";
import { accessOf, isClientFacing } from "../../platform/grpc/access.js";
import type { Setting } from "../../platform/config.js";
import { repoRoot } from "../../platform/paths.js";
import { configSpec, type ServiceModule } from "../../platform/service.js";
import { chartDir, findAll, type K8sObject } from "./helm.js";

export type Spec = Record<string, Setting<unknown>>;

export interface WorkloadEntry {
  readonly name: string;
  readonly protocol: "grpc" | "http";
  readonly port: number;
  readonly grpcService?: string;
  readonly calls: Readonly<Record<string, readonly string[]>>;
  /** Has a PostgreSQL database (DATABASE_URL, a migration Job). */
  readonly postgres: boolean;
  /** Has a MongoDB database (MONGODB_URL). */
  readonly mongodb: boolean;
}

interface RawValues {
  metrics: { enabled: boolean; port: number };
  defaults: { protocol: "grpc" | "http"; calls: Record<string, string[]>; postgres: boolean; mongodb: boolean };
  services: Record<string, { protocol?: "grpc" | "http"; port: number; grpcService?: string; calls?: Record<string, string[]>; postgres?: boolean; mongodb?: boolean }>;
}

export const chartValues = parse(readFileSync(join(chartDir, "values.yaml"), "utf8")) as RawValues;

export const workloads: readonly WorkloadEntry[] = Object.entries(chartValues.services).map(([name, e]) => ({
  name,
  protocol: e.protocol ?? chartValues.defaults.protocol,
  port: e.port,
  ...(e.grpcService ? { grpcService: e.grpcService } : {}),
  calls: e.calls ?? {},
  postgres: e.postgres ?? chartValues.defaults.postgres,
  mongodb: e.mongodb ?? chartValues.defaults.mongodb,
}));

export const grpcWorkloads = workloads.filter((w) => w.protocol === "grpc");

/** Folders under services/ that hold a service (a module.ts), i.e. code that must be deployable. */
export function serviceFolders(): string[] {
  const dir = join(repoRoot(), "services");
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "module.ts")))
    .map((d) => d.name)
    .sort();
}

function isModule(v: unknown, name: string): v is ServiceModule {
  const m = v as Partial<ServiceModule> | null;
  return !!m && typeof m === "object" && m.name === name && typeof m.setup === "function" && typeof m.defaultPort === "number";
}

/** The service's module as the platform runs it, or undefined while its code has not landed. */
export async function loadModule(name: string): Promise<ServiceModule | undefined> {
  const file = join(repoRoot(), "dist", "services", name, "module.js");
  if (!existsSync(file)) return undefined;
  const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const mod = Object.values(exports).find((v) => isModule(v, name));
  if (!mod) throw new Error(`services/${name}/module.ts exports no ServiceModule named ${name}`);
  return mod;
}

/**
 * Every setting the workload's process reads: the platform's base settings and the service's own,
 * or the gateway's (METRICS_PORT among them in both).
 */
export async function loadSpec(w: WorkloadEntry): Promise<Spec | undefined> {
  if (w.protocol === "http") {
    const file = join(repoRoot(), "dist", "gateway", "config.js");
    if (!existsSync(file)) return undefined;
    const { gatewayConfig } = (await import(pathToFileURL(file).href)) as { gatewayConfig: Spec };
    return gatewayConfig;
  }
  const mod = await loadModule(w.name);
  return mod ? configSpec(mod) : undefined;
}

export const isRequired = (s: Setting<unknown>) => s.fallback === undefined;

/** The contract of a gRPC workload, from the generated code. */
export async function loadContract(w: WorkloadEntry): Promise<DescService> {
  const [pkg, , svcName] = (w.grpcService ?? "").split(".").slice(1);
  const file = join(repoRoot(), "dist", "gen", "shop", pkg ?? "", "v1", `${pkg}_pb.js`);
  const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const svc = exports[svcName ?? ""] as DescService | undefined;
  if (!svc || svc.typeName !== w.grpcService) throw new Error(`${w.grpcService} not found in ${file}`);
  return svc;
}

export function clientFacingMethods(svc: DescService): string[] {
  return svc.methods.filter((m) => isClientFacing(accessOf(m))).map((m) => m.name);
}

/** The environment a pod template gets: its env, plus every ConfigMap and Secret it reads whole. */
export function podEnv(objects: readonly K8sObject[], podSpec: any): { env: Record<string, string>; opaqueSecrets: string[] } {
  const env: Record<string, string> = {};
  const opaqueSecrets: string[] = [];
  const container = podSpec.containers[0];
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = findAll(objects, "ConfigMap").find((o) => o.metadata.name === from.configMapRef.name);
      if (!cm) throw new Error(`ConfigMap ${from.configMapRef.name} is referenced but not rendered`);
      Object.assign(env, cm.data ?? {});
    }
    if (from.secretRef) {
      const secret = findAll(objects, "Secret").find((o) => o.metadata.name === from.secretRef.name);
      if (!secret) {
        opaqueSecrets.push(from.secretRef.name); // managed outside the chart (existingSecret)
        continue;
      }
      for (const [k, v] of Object.entries(secret.data ?? {})) env[k] = Buffer.from(v, "base64").toString("utf8");
      Object.assign(env, secret.stringData ?? {});
    }
  }
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = String(e.value);
  return { env, opaqueSecrets };
}
