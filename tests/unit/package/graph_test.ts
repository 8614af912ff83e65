/** scripts/package/graph.ts: what the package carries, from a module graph. */
import assert from "node:assert/strict";
import {
  importedNpmPackages,
  localModuleFiles,
  type ModuleGraph,
  relativeModuleUrls,
  runsOn,
  runtimePackages,
} from "../../../scripts/package/graph.ts";

const ROOT = "file:///project/";

const graph: ModuleGraph = {
  modules: [
    { specifier: `${ROOT}main.ts` },
    { specifier: `${ROOT}pipeline/thread.ts` },
    { specifier: `${ROOT}odd%20name.ts` },
    { kind: "npm", specifier: "npm:/zod@4.6.7", npmPackage: "zod@4.6.7" },
    { kind: "npm", specifier: "npm:/@duckdb/node-api@1.5.6-r.1", npmPackage: "@duckdb/node-api@1.5.6-r.1" },
    { kind: "node", specifier: "node:module" },
  ],
  npmPackages: {
    "zod@4.6.7": { name: "zod", version: "4.6.7", dependencies: [] },
    "@duckdb/node-api@1.5.6-r.1": {
      name: "@duckdb/node-api",
      version: "1.5.6-r.1",
      dependencies: ["@duckdb/node-bindings@1.5.6-r.1"],
    },
    "@duckdb/node-bindings@1.5.6-r.1": {
      name: "@duckdb/node-bindings",
      version: "1.5.6-r.1",
      dependencies: [
        "bindings-linux-x64@1",
        "bindings-linux-x64-musl@1",
        "bindings-linux-arm64@1",
        "detect-libc@2",
      ],
    },
    "bindings-linux-x64@1": { name: "bindings-linux-x64", version: "1", dependencies: ["only-x64-dep@1"] },
    "bindings-linux-x64-musl@1": { name: "bindings-linux-x64-musl", version: "1" },
    "bindings-linux-arm64@1": { name: "bindings-linux-arm64", version: "1" },
    "only-x64-dep@1": { name: "only-x64-dep", version: "1" },
    "detect-libc@2": { name: "detect-libc", version: "2" },
    "playwright-core@1": { name: "playwright-core", version: "1" },
  },
};

const platforms: Record<string, { os?: string[]; cpu?: string[]; libc?: string[] }> = {
  "bindings-linux-x64@1": { os: ["linux"], cpu: ["x64"], libc: ["glibc"] },
  "bindings-linux-x64-musl@1": { os: ["linux"], cpu: ["x64"], libc: ["musl"] },
  "bindings-linux-arm64@1": { os: ["linux"], cpu: ["arm64"], libc: ["glibc"] },
};

Deno.test("localModuleFiles: the project's modules as relative paths; a module outside the project is an error", () => {
  assert.deepEqual(localModuleFiles(graph, ROOT), ["main.ts", "odd name.ts", "pipeline/thread.ts"]);
  assert.throws(
    () => localModuleFiles({ modules: [{ specifier: "file:///elsewhere/x.ts" }] }, ROOT),
    /outside the project/,
  );
});

Deno.test("relativeModuleUrls: Worker modules built from import.meta.url, and nothing else", () => {
  const source = `
    const WORKER = new URL("./stateless_worker.ts", import.meta.url);
    const other = new URL( '../lib/helper.js' , import.meta.url );
    const page = new URL("screenshots/", import.meta.url);
    const remote = new URL("https://example.com/x.ts");`;
  assert.deepEqual(relativeModuleUrls(source, `${ROOT}pipeline/thread.ts`), [
    `${ROOT}pipeline/stateless_worker.ts`,
    `${ROOT}lib/helper.js`,
  ]);
});

Deno.test("importedNpmPackages: only npm modules, each package once", () => {
  assert.deepEqual(importedNpmPackages(graph), ["@duckdb/node-api@1.5.6-r.1", "zod@4.6.7"]);
});

Deno.test("runsOn: npm's os/cpu/libc rules, with negations", () => {
  const x64 = { cpu: "x64", libc: "glibc" } as const;
  assert.equal(runsOn({}, x64), true);
  assert.equal(runsOn({ os: ["linux"], cpu: ["x64"] }, x64), true);
  assert.equal(runsOn({ os: ["darwin"] }, x64), false);
  assert.equal(runsOn({ cpu: ["arm64"] }, x64), false);
  assert.equal(runsOn({ libc: ["musl"] }, x64), false);
  assert.equal(runsOn({ cpu: ["!arm64"] }, x64), true);
  assert.equal(runsOn({ cpu: ["!x64"] }, x64), false);
});

Deno.test("runtimePackages: the imported packages and their dependencies for the target only", () => {
  const platformOf = (id: string) => platforms[id] ?? {};
  assert.deepEqual(runtimePackages(graph, platformOf, { cpu: "x64", libc: "glibc" }), [
    "@duckdb/node-api@1.5.6-r.1",
    "@duckdb/node-bindings@1.5.6-r.1",
    "bindings-linux-x64@1",
    "detect-libc@2",
    "only-x64-dep@1",
    "zod@4.6.7",
  ]);
  assert.deepEqual(runtimePackages(graph, platformOf, { cpu: "arm64", libc: "glibc" }), [
    "@duckdb/node-api@1.5.6-r.1",
    "@duckdb/node-bindings@1.5.6-r.1",
    "bindings-linux-arm64@1",
    "detect-libc@2",
    "zod@4.6.7",
  ]);
  // a package not installed for the target (no package.json) is left out with what only it needs
  const notInstalled = (id: string) => id === "bindings-linux-x64@1" ? undefined : platformOf(id);
  assert.ok(!runtimePackages(graph, notInstalled, { cpu: "x64", libc: "glibc" }).includes("only-x64-dep@1"));
});
