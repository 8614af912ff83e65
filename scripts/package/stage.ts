/**
 * Stages what the packaged agent carries for one Linux target, shared by `deno task package` (the
 * self-extracting executable) and `deno task compile` (`deno compile`):
 *
 * ```
 * <out>/app/            deno.json, deno.lock and the local modules of the graph (main.ts, its
 *                       imports, the Worker modules they start), as in the project
 * <out>/app/node_modules/  the runtime npm packages for the target only (no playwright, esbuild,
 *                       uplot, musl or other platforms' bindings)
 * <out>/launch.json     the `eventops` task's environment and flags, the permission set as flags
 *                       with relative paths placed for an install (scripts/package/permissions.ts)
 * ```
 *
 * ```sh
 * deno run -A scripts/package/stage.ts --arch x86_64|aarch64 --out DIR
 * ```
 *
 * @module
 */
import {
  localModuleFiles,
  type ModuleGraph,
  type NpmTarget,
  type PackagePlatform,
  relativeModuleUrls,
  runtimePackages,
} from "./graph.ts";
import { parseAgentTask, type Part, permissionFlags, type PermissionSet } from "./permissions.ts";

/** The targets: the executable's architecture name and npm's. */
export const TARGETS = {
  x86_64: { cpu: "x64", libc: "glibc" },
  aarch64: { cpu: "arm64", libc: "glibc" },
} as const satisfies Record<string, NpmTarget>;

/** A target architecture name as in the artifact names (`uname -m`). */
export type Arch = keyof typeof TARGETS;

/** What the launcher (stub or `deno compile`) needs, written to launch.json. */
export interface Launch {
  version: string;
  denoVersion: string;
  arch: Arch;
  /** The `eventops` task's environment (MALLOC_ARENA_MAX). */
  env: Record<string, string>;
  /** The task's flags other than the permission set (--ignore-env, --v8-flags=...). */
  flags: string[];
  /** The permission set `agent` as flags (parts: literal text or the app directory). */
  permissions: Part[][];
  /** The entry module, relative to the app directory. */
  entry: string;
  /** Every file of the app, relative to the app directory (node_modules excluded). */
  files: string[];
  /** The runtime npm packages. */
  packages: string[];
}

const ROOT = new URL("../../", import.meta.url);

async function run(command: string, args: string[], cwd: string | URL = ROOT): Promise<string> {
  const output = await new Deno.Command(command, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(
      `${command} ${args.join(" ")} failed:\n${new TextDecoder().decode(output.stderr)}${text}`,
    );
  }
  return text;
}

async function graphOf(entry: string, cwd: string | URL, nodeModulesDir = "auto"): Promise<ModuleGraph> {
  return JSON.parse(
    await run(Deno.execPath(), ["info", "--json", `--node-modules-dir=${nodeModulesDir}`, entry], cwd),
  );
}

/** The local module files of the entry point and of every Worker module reachable from it. */
export async function appModuleFiles(entry: string): Promise<string[]> {
  const rootUrl = ROOT.href;
  const files = new Set<string>();
  const entries = [new URL(entry, ROOT).href];
  const seen = new Set<string>();
  while (entries.length > 0) {
    const next = entries.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    const graph = await graphOf(new URL(next).pathname, ROOT);
    for (const file of localModuleFiles(graph, rootUrl)) {
      if (files.has(file)) continue;
      files.add(file);
      const url = new URL(file, ROOT).href;
      entries.push(...relativeModuleUrls(await Deno.readTextFile(new URL(file, ROOT)), url));
    }
  }
  return [...files].sort();
}

async function platformOf(localPath: string | undefined): Promise<PackagePlatform | undefined> {
  if (!localPath) return undefined;
  try {
    const manifest = JSON.parse(await Deno.readTextFile(`${localPath}/package.json`));
    return { os: manifest.os, cpu: manifest.cpu, libc: manifest.libc };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined; // not installed for this target
    throw error;
  }
}

/** The `node_modules/.deno/<dir>` directory a package is installed in. */
function storeDir(localPath: string): string {
  const match = localPath.match(/node_modules\/\.deno\/([^/]+)\//);
  if (!match) throw new Error(`unexpected npm package path: ${localPath}`);
  return match[1];
}

async function removeDanglingLinks(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isSymlink) {
      try {
        await Deno.stat(path);
      } catch {
        await Deno.remove(path);
      }
    } else if (entry.isDirectory) {
      await removeDanglingLinks(path);
    }
  }
}

/** Installs the target's npm packages into `<app>/node_modules` and removes all but the runtime ones. */
async function installRuntimePackages(app: string, entry: string, target: NpmTarget): Promise<string[]> {
  await run(Deno.execPath(), ["install", "--frozen", "--quiet", "--os", "linux", "--arch", target.cpu], app);
  const graph = await graphOf(entry, app);
  const packages = graph.npmPackages ?? {};
  const platforms = new Map<string, PackagePlatform | undefined>();
  for (const [id, info] of Object.entries(packages)) platforms.set(id, await platformOf(info.localPath));
  const kept = runtimePackages(graph, (id) => platforms.get(id), target);
  const keptDirs = new Set(kept.map((id) => storeDir(packages[id].localPath!)));
  const store = `${app}/node_modules/.deno`;
  for await (const entry of Deno.readDir(store)) {
    if (entry.isDirectory && entry.name !== "node_modules" && !keptDirs.has(entry.name)) {
      await Deno.remove(`${store}/${entry.name}`, { recursive: true });
    }
  }
  await Deno.remove(`${app}/node_modules/.bin`, { recursive: true }).catch(() => {});
  await removeDanglingLinks(`${app}/node_modules`);
  return kept;
}

/** Whether the app ships anything at a relative path. */
function shippedIn(files: readonly string[]): (path: string) => boolean {
  return (path) =>
    path === "node_modules" || files.some((file) => file === path || file.startsWith(`${path}/`));
}

/** Stages the app for `arch` into `out` (emptied first) and returns its launch description. */
export async function stage(arch: Arch, out: string): Promise<Launch> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const task = parseAgentTask(config.tasks.eventops);
  const set: PermissionSet | undefined = config.permissions?.[task.permissionSet];
  if (!set) throw new Error(`deno.json has no permission set ${task.permissionSet}`);
  const modules = await appModuleFiles(task.entry);
  const files = ["deno.json", "deno.lock", ...modules];

  await Deno.remove(out, { recursive: true }).catch(() => {});
  const app = `${out}/app`;
  for (const file of files) {
    const target = `${app}/${file}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(new URL(file, ROOT), target);
  }
  const packages = await installRuntimePackages(app, task.entry, TARGETS[arch]);
  const launch: Launch = {
    version: config.version,
    denoVersion: Deno.version.deno,
    arch,
    env: task.env,
    flags: task.flags,
    permissions: permissionFlags(set, shippedIn(files)),
    entry: task.entry,
    files,
    packages,
  };
  await Deno.writeTextFile(`${out}/launch.json`, JSON.stringify(launch, null, 2) + "\n");
  return launch;
}

if (import.meta.main) {
  const args = Deno.args;
  const arch = args[args.indexOf("--arch") + 1] as Arch;
  const out = args[args.indexOf("--out") + 1];
  if (!(arch in TARGETS) || !out || args.indexOf("--out") < 0) {
    console.error("usage: stage.ts --arch x86_64|aarch64 --out DIR");
    Deno.exit(2);
  }
  const launch = await stage(arch, out);
  console.error(`stage: ${arch}: ${launch.files.length} app files, ${launch.packages.length} npm packages`);
}
