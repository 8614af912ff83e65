/**
 * What the packaged agent carries, derived from the module graph (`deno info --json`), never from a
 * list of folders: the local modules reachable from the entry point and from the Worker modules they
 * start, and the npm packages those modules import with everything they depend on, for one platform.
 *
 * @module
 */

/** The parts of `deno info --json` this module reads. */
export interface ModuleGraph {
  modules: { specifier: string; kind?: string; npmPackage?: string }[];
  npmPackages?: Record<
    string,
    { name: string; version: string; dependencies?: string[]; localPath?: string }
  >;
}

/** The `os`, `cpu` and `libc` fields of an npm package's package.json. */
export interface PackagePlatform {
  os?: string[];
  cpu?: string[];
  libc?: string[];
}

/** A Linux target: npm's names for its CPU and C library. */
export interface NpmTarget {
  cpu: "x64" | "arm64";
  libc: "glibc";
}

/** The files (paths relative to `rootUrl`, which ends with "/") of the local modules in a graph. */
export function localModuleFiles(graph: ModuleGraph, rootUrl: string): string[] {
  const files = new Set<string>();
  for (const module of graph.modules) {
    if (!module.specifier.startsWith("file://")) continue;
    if (!module.specifier.startsWith(rootUrl)) {
      throw new Error(`module outside the project: ${module.specifier}`);
    }
    files.add(decodeURIComponent(module.specifier.slice(rootUrl.length)));
  }
  return [...files].sort();
}

const WORKER_URL = /new\s+URL\(\s*["'](\.{1,2}\/[^"']+\.(?:ts|js|mjs))["']\s*,\s*import\.meta\.url\s*\)/g;

/**
 * Module URLs a source file builds relative to itself (`new URL("./worker.ts", import.meta.url)`):
 * the modules it hands to `new Worker`, which the static graph does not follow.
 */
export function relativeModuleUrls(source: string, moduleUrl: string): string[] {
  return [...source.matchAll(WORKER_URL)].map((match) => new URL(match[1], moduleUrl).href);
}

/** The npm packages the graph's modules import directly (package ids such as `zod@4.6.7`). */
export function importedNpmPackages(graph: ModuleGraph): string[] {
  const ids = new Set<string>();
  for (const module of graph.modules) {
    if (module.kind === "npm" && module.npmPackage) ids.add(module.npmPackage);
  }
  return [...ids].sort();
}

/** Whether an npm package may be installed on the target (npm's `os`/`cpu`/`libc` rules). */
export function runsOn(platform: PackagePlatform, target: NpmTarget): boolean {
  const allows = (list: string[] | undefined, value: string) => {
    if (!list || list.length === 0) return true;
    if (list.includes(`!${value}`)) return false;
    const positive = list.filter((entry) => !entry.startsWith("!"));
    return positive.length === 0 || positive.includes(value);
  };
  return allows(platform.os, "linux") && allows(platform.cpu, target.cpu) &&
    allows(platform.libc, target.libc);
}

/**
 * The npm packages the agent needs at run time on `target`: the imported ones and their
 * dependencies, without packages for other platforms (and what only they depend on).
 */
export function runtimePackages(
  graph: ModuleGraph,
  platformOf: (id: string) => PackagePlatform | undefined,
  target: NpmTarget,
): string[] {
  const packages = graph.npmPackages ?? {};
  const kept = new Set<string>();
  const pending = importedNpmPackages(graph);
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (kept.has(id)) continue;
    const entry = packages[id];
    if (!entry) throw new Error(`npm package ${id} is imported but not in the graph`);
    const platform = platformOf(id);
    if (platform === undefined || !runsOn(platform, target)) continue;
    kept.add(id);
    pending.push(...(entry.dependencies ?? []));
  }
  return [...kept].sort();
}
