// Locations inside the repository, valid both from source and from the compiled dist/ tree.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** The folder holding the repository's package.json (the image's /app in a container). */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the repository root (no package.json above platform/)");
    dir = parent;
  }
  cached = dir;
  return dir;
}

/** Source-tree folders that tsc does not copy to dist/ (SQL migrations, templates). */
export function sourcePath(...parts: string[]): string {
  return join(repoRoot(), ...parts);
}
