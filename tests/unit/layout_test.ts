/**
 * The tree's rules, checked on Deno's own module graph (`deno info --json`):
 *
 * - the stateless worker's runtime modules are all readable under `permissions.agent` (Deno checks
 *   a Worker's modules against read permissions; a module outside the list makes the worker fail to
 *   start, and the agent silently runs the group in-process instead);
 * - the agent's graph (main.ts, mod.ts, the worker) holds no test, bench, dev-support or script code;
 * - no module outside tests/ imports tests/, none outside bench/ and tests/ imports bench/;
 * - the layers: each folder imports only the folders below it (`MAY_IMPORT`, as
 *   docs/architecture.md lists them): the pipeline never imports the HTTP API or the composition
 *   root, the API never imports the pipeline or the store.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const WORKER = "pipeline/stateless/worker.ts";

/** One module of `deno info --json`, with the dependencies the layout cares about. */
interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
}

/** A module graph: each local module (path relative to the root) -> its local dependencies. */
interface Graph {
  /** Dependencies loaded at run time (`import`, `export ... from`). */
  code: Map<string, string[]>;
  /** Every dependency, type-only imports included. */
  all: Map<string, string[]>;
}

/** A root-relative path for a local file specifier, undefined for npm and other modules. */
function localPath(specifier: string | undefined): string | undefined {
  if (specifier === undefined || !specifier.startsWith(`file://${ROOT}`)) return undefined;
  const path = decodeURIComponent(specifier.slice(`file://${ROOT}`.length));
  return path.startsWith("node_modules/") ? undefined : path;
}

/** The local module graph reachable from `entry` (root-relative). */
async function moduleGraph(entry: string): Promise<Graph> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const modules = (JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: GraphModule[] }).modules;
  const graph: Graph = { code: new Map(), all: new Map() };
  for (const module of modules) {
    const path = localPath(module.specifier);
    if (path === undefined) continue;
    const code = new Set<string>();
    const all = new Set<string>();
    for (const dependency of module.dependencies ?? []) {
      const runtime = localPath(dependency.code?.specifier);
      const typeOnly = localPath(dependency.type?.specifier);
      if (runtime !== undefined) {
        code.add(runtime);
        all.add(runtime);
      }
      if (typeOnly !== undefined) all.add(typeOnly);
    }
    graph.code.set(path, [...code]);
    graph.all.set(path, [...all]);
  }
  return graph;
}

/** The modules reachable from `entry` through `edges`. */
function reachable(edges: Map<string, string[]>, entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    for (const next of edges.get(queue.pop()!) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

/** The modules of `paths` that no entry of a Deno `--allow-read` list covers (entries relative to the root). */
export function unreadableModules(paths: Iterable<string>, readList: readonly string[]): string[] {
  const allowed = readList.filter((entry) => entry.startsWith("./")).map((entry) =>
    entry.slice(2).replace(/\/$/, "")
  );
  return [...paths].filter((path) => !allowed.some((entry) => path === entry || path.startsWith(`${entry}/`)))
    .sort();
}

/** Pairs `module -> dependency` of `graph` where a module matching `from` depends on one matching `to`. */
function importsBetween(
  graph: Map<string, string[]>,
  from: (path: string) => boolean,
  to: (path: string) => boolean,
): string[] {
  const found: string[] = [];
  for (const [module, dependencies] of graph) {
    if (!from(module)) continue;
    for (const dependency of dependencies) if (to(dependency)) found.push(`${module} -> ${dependency}`);
  }
  return found.sort();
}

const under = (...folders: string[]) => (path: string) => folders.some((folder) => path.startsWith(folder));

/** Every tracked TypeScript module but the browser sources (bundled by esbuild, not run by Deno). */
async function allModules(): Promise<string[]> {
  const output = await new Deno.Command("git", { args: ["ls-files", "*.ts"], cwd: ROOT }).output();
  assert.equal(output.code, 0);
  return new TextDecoder().decode(output.stdout).split("\n").filter((path) =>
    path !== "" && !path.startsWith("ui/src/")
  );
}

/** The graph of every module: one generated module imports them all. */
async function wholeTreeGraph(): Promise<Graph> {
  await Deno.mkdir(`${ROOT}.tmp`, { recursive: true });
  const root = `.tmp/layout_all_${crypto.randomUUID()}.ts`;
  const modules = await allModules();
  await Deno.writeTextFile(`${ROOT}${root}`, modules.map((path) => `import "../${path}";\n`).join(""));
  try {
    const graph = await moduleGraph(root);
    graph.code.delete(root);
    graph.all.delete(root);
    return graph;
  } finally {
    await Deno.remove(`${ROOT}${root}`);
  }
}

Deno.test("layout: unreadableModules names the modules outside a read list", () => {
  const list = ["./pipeline", "./lib/", "/etc/eventops", "./eventops.yaml"];
  assert.deepEqual(
    unreadableModules(
      ["pipeline/stateless/worker.ts", "lib/log.ts", "enriched/mod.ts", "pipelines/x.ts"],
      list,
    ),
    ["enriched/mod.ts", "pipelines/x.ts"],
  );
});

Deno.test("layout: the stateless worker's runtime modules are readable under permissions.agent (else it falls back to in-process)", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const readList: string[] = denoJson.permissions.agent.read;
  const graph = await moduleGraph(WORKER);
  const runtime = reachable(graph.code, WORKER);
  assert.ok(runtime.size > 20 && runtime.has("pipeline/stateless/group.ts"), `worker graph: ${[...runtime]}`);
  assert.deepEqual(
    unreadableModules(runtime, readList),
    [],
    "add their folders to permissions.agent.read in deno.json",
  );
});

Deno.test("layout: the agent's module graph holds no test, bench, dev-support or script code", async () => {
  for (const entry of ["main.ts", "mod.ts", WORKER]) {
    const graph = await moduleGraph(entry);
    const modules = reachable(graph.all, entry);
    assert.deepEqual(
      [...modules].filter(under("tests/", "bench/", "testing/", "scripts/")),
      [],
      `${entry} reaches them`,
    );
  }
});

Deno.test("layout: only tests import tests/; only tests and the bench import bench/", async () => {
  const graph = (await wholeTreeGraph()).all;
  assert.ok(graph.size > 150, `${graph.size} modules in the graph`);
  const isTest = under("tests/");
  assert.deepEqual(importsBetween(graph, (path) => !isTest(path), isTest), []);
  assert.deepEqual(importsBetween(graph, (path) => !under("tests/", "bench/")(path), under("bench/")), []);
});

/**
 * Which folders each folder's modules may import (its own always), as docs/architecture.md lists
 * them: each layer only imports the layers below it.
 */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  "agent/": [
    "api/",
    "sources/",
    "pipeline/",
    "stages/",
    "notify/",
    "enriched/",
    "kafka/",
    "registry/",
    "store/",
    "telemetry/",
    "model/",
    "config/",
    "lib/",
    "version.ts",
  ],
  "cli/": [
    "agent/",
    "stages/",
    "notify/",
    "kafka/",
    "registry/",
    "store/",
    "model/",
    "config/",
    "lib/",
    "version.ts",
  ],
  "api/": ["sources/", "telemetry/", "model/", "config/", "lib/", "ui/", "version.ts"],
  "pipeline/": [
    "stages/",
    "sources/",
    "enriched/",
    "kafka/",
    "registry/",
    "telemetry/",
    "model/",
    "config/",
    "lib/",
  ],
  "stages/": ["model/", "config/", "lib/"],
  "notify/": ["model/", "config/", "lib/"],
  "sources/": ["model/", "lib/"],
  "enriched/": ["kafka/", "model/", "lib/"],
  "kafka/": ["model/", "config/", "lib/"],
  "registry/": ["model/", "config/", "lib/"],
  "store/": ["model/", "lib/"],
  "telemetry/": ["lib/"],
  "model/": ["lib/"],
  "config/": ["lib/"],
  "lib/": [],
};

Deno.test("layout: each layer imports only the layers below it (docs/architecture.md, Where code lives)", async () => {
  const graph = (await wholeTreeGraph()).all;
  const folderOf = (path: string) => path.includes("/") ? `${path.slice(0, path.indexOf("/"))}/` : path;
  const wrong: string[] = [];
  for (const [module, dependencies] of graph) {
    const allowed = MAY_IMPORT[folderOf(module)];
    if (allowed === undefined) continue;
    for (const dependency of dependencies) {
      const folder = folderOf(dependency);
      if (folder !== folderOf(module) && !allowed.includes(folder)) wrong.push(`${module} -> ${dependency}`);
    }
  }
  assert.deepEqual(wrong, []);
});
