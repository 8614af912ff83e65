/**
 * The self-extracting executables `deno task package` built (dist/eventops-<version>-linux-<arch>),
 * run as a user would, each serving the seed events: offline in a network namespace with only
 * loopback (no network call beyond loopback, asserted from strace), as an unprivileged user in a
 * read-only root with only its state directory writable (bubblewrap), under the systemd unit's
 * SystemCallFilter= (libseccomp), and the aarch64 build under qemu-aarch64-static.
 */
import assert from "node:assert/strict";
import { BROKERS } from "../../testing/agent.ts";
import { allowedSyscalls, isLocal, networkCalls, parseSyscallGroups } from "./evidence.ts";
import {
  assertServed,
  executablePath,
  freePort,
  ROOT,
  SECCOMP_EXEC,
  serveSeedEvents,
  sh,
  VERSION,
  writeScenarioConfig,
} from "./helpers.ts";

const X86 = executablePath("x86_64");
const ARM = executablePath("aarch64");
const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"];
const BASE_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" };

/** A fresh directory under .tmp/package/ (world-writable when `forNobody`, for the user nobody). */
async function workDir(name: string, forNobody = false): Promise<string> {
  const dir = `${ROOT}.tmp/package/${name}-${Date.now().toString(36)}`;
  await Deno.mkdir(dir, { recursive: true });
  if (forNobody) await sh("chown", ["65534:65534", dir]);
  return dir;
}

async function unitAllowList(unitText: string, dir: string, without: string[] = []): Promise<string> {
  const groups = parseSyscallGroups((await sh("systemd-analyze", ["syscall-filter"])).stdout);
  const drop = new Set(without.flatMap((name) => groups.get(name) ?? [name]));
  const file = `${dir}/allow.txt`;
  await Deno.writeTextFile(
    file,
    allowedSyscalls(unitText, groups).filter((name) => !drop.has(name)).join("\n"),
  );
  return file;
}

Deno.test("each executable is one file of at most 60 MB", async () => {
  for (const file of [X86, ARM]) {
    const { size, mode } = await Deno.stat(file);
    console.log(`${file.slice(ROOT.length)}: ${(size / 1e6).toFixed(1)} MB`);
    assert.ok(size <= 60_000_000, `${file}: ${size} bytes`);
    assert.ok(size > 20_000_000, `${file}: ${size} bytes is too small to hold Deno`);
    assert.equal(mode! & 0o111, 0o111);
  }
});

Deno.test("x86_64, alone in an empty directory, in a network namespace with only loopback: version, run, seed, HTTP, query; no network call beyond loopback", async () => {
  const work = await workDir("offline");
  // --pid --fork: the namespace's processes (the broker too) die with the scenario, whatever happens
  const output = await sh("unshare", [
    "--net",
    "--pid",
    "--fork",
    "--mount-proc",
    "--",
    "sh",
    "-c",
    // sh stays the namespace's init: it reaps what the broker leaves (exec'ing Deno would not)
    'ip link set lo up && "$0" run -A "$@"',
    Deno.execPath(),
    `${ROOT}tests/package/offline_scenario.ts`,
    X86,
    work,
  ], { cwd: ROOT });
  assert.equal(output.code, 0, `offline scenario failed:\n${output.stderr}\n${output.stdout}`);
  const { listing, result } = JSON.parse(output.stdout.trim().split("\n").at(-1)!);
  assert.deepEqual(listing, ["eventops"]);
  assertServed(result);
  console.log(
    `offline (under strace): run ready ${result.readyMs} ms after start (version unpacked before it)`,
  );
  const traces = [...Deno.readDirSync(`${work}/trace`)].map((entry) =>
    Deno.readTextFileSync(`${work}/trace/${entry.name}`)
  );
  const calls = traces.flatMap(networkCalls);
  assert.ok(
    calls.some((call) => call.call === "connect" && call.address === "127.0.0.1"),
    "strace saw no broker connection",
  );
  assert.deepEqual(calls.filter((call) => !isLocal(call)).map((call) => call.line), []);
  assert.ok(
    !Deno.readDirSync(`${work}/empty`).some((entry) => entry.name.startsWith(".")),
    "unpacked next to itself",
  );
  await Deno.remove(work, { recursive: true });
});

Deno.test("x86_64 as the user nobody in bubblewrap: read-only root, only its state directory writable; EVENTOPS_MEMORY_BUDGET limits the V8 heap", async () => {
  const work = await workDir("bwrap", true);
  const state = `${work}/state`;
  await Deno.mkdir(state);
  await sh("chown", ["65534:65534", state]);
  const port = freePort();
  await writeScenarioConfig(state, `bwrap-${Date.now().toString(36)}`, BROKERS, port);
  const result = await serveSeedEvents({
    executable: X86,
    cwd: state,
    wrapper: [
      ...NOBODY,
      "bwrap",
      "--ro-bind",
      "/",
      "/",
      "--dev",
      "/dev",
      "--proc",
      "/proc",
      "--bind",
      state,
      state,
      "--chdir",
      state,
      "--die-with-parent",
    ],
    // The stub derives the V8 heap from the budget (config/memory.ts: 40% of 256 MB is 97 MiB).
    env: {
      ...BASE_ENV,
      HOME: "/nonexistent",
      EVENTOPS_CACHE_DIR: `${state}/cache`,
      EVENTOPS_MEMORY_BUDGET: "256MB",
    },
    port,
  });
  assertServed(result);
  const memory =
    result.logs.split("\n").filter((line) => line.includes('"msg":"memory"')).map((line) =>
      JSON.parse(line)
    )[0];
  assert.ok(memory, `no memory line in the logs:\n${result.logs}`);
  assert.equal(memory.budget_bytes, 256e6);
  assert.equal(memory.store_memory_limit, "32MB");
  assert.equal(memory.v8_old_space_derived_mib, 97);
  assert.ok(memory.v8_heap_limit_mib <= 97 + 48, `V8 heap limit ${memory.v8_heap_limit_mib} MiB`);
  assert.doesNotMatch(result.logs, /V8 heap not limited/);
  const unpacked = [...Deno.readDirSync(`${state}/cache`)].map((entry) => entry.name);
  assert.equal(unpacked.length, 1);
  assert.match(unpacked[0], new RegExp(`^${VERSION.replaceAll(".", "\\.")}-x86_64-[0-9a-f]{16}$`));
  assert.ok((await Deno.stat(`${state}/data/metrics.duckdb`)).isFile);
  await Deno.remove(work, { recursive: true });
});

Deno.test("x86_64 under the unit's SystemCallFilter= (libseccomp) as the user nobody; without @pkey Deno dies with SIGSYS", async () => {
  const unit = await Deno.readTextFile(`${ROOT}deploy/eventops.service`);
  const work = await workDir("seccomp", true);
  const env = { ...BASE_ENV, HOME: "/nonexistent", EVENTOPS_CACHE_DIR: `${work}/cache` };

  const withoutPkey = await unitAllowList(unit, work, ["@pkey"]);
  const [drop, ...dropArgs] = NOBODY;
  const killed = await sh(drop, [...dropArgs, SECCOMP_EXEC, withoutPkey, X86, "version"], {
    cwd: work,
    env,
    clearEnv: true,
  });
  assert.equal(killed.code, 128 + 31, `expected SIGSYS without @pkey: ${killed.stderr}`);

  const allow = await unitAllowList(unit, work);
  const port = freePort();
  await writeScenarioConfig(work, `seccomp-${Date.now().toString(36)}`, BROKERS, port);
  const result = await serveSeedEvents({
    executable: X86,
    cwd: work,
    wrapper: [...NOBODY, SECCOMP_EXEC, allow],
    env,
    port,
  });
  assertServed(result);
  await Deno.remove(work, { recursive: true });
});

Deno.test("the aarch64 executable refuses to start on x86_64 without an emulator, saying which file to use", async () => {
  const work = await workDir("refuse");
  const wrongArch = await sh(ARM, ["version"], {
    cwd: work,
    env: { ...BASE_ENV, EVENTOPS_CACHE_DIR: `${work}/cache` },
    clearEnv: true,
  });
  assert.notEqual(wrongArch.code, 0);
  assert.match(wrongArch.stderr, /this is the aarch64 build and this machine is x86_64/);

  await Deno.remove(work, { recursive: true });
});

Deno.test("aarch64 under qemu-aarch64-static against the test broker: run serves the seed events", async () => {
  const work = await workDir("aarch64");
  const port = freePort();
  await writeScenarioConfig(work, `aarch64-${Date.now().toString(36)}`, BROKERS, port);
  const started = Date.now();
  const env = { ...BASE_ENV, HOME: "/nonexistent", EVENTOPS_CACHE_DIR: `${work}/cache` };
  // One emulated process (`run`, minutes to start); `seed` from the x86_64 build of the same version.
  const steps = { version: false, query: false, seeder: { executable: X86, cwd: work, env, port } };
  const result = await serveSeedEvents({
    executable: ARM,
    cwd: work,
    env: { ...env, EVENTOPS_EMULATOR: "qemu-aarch64-static -L /usr/aarch64-linux-gnu" },
    readyTimeoutMs: 300_000,
    port,
  }, steps);
  assertServed(result, steps);
  assert.match(result.logs, /unpacking .* \(aarch64\)/);
  console.log(
    `aarch64 under qemu: ready ${(result.readyMs / 1000).toFixed(1)} s after start (unpacking included), ` +
      `whole scenario ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  await Deno.remove(work, { recursive: true });
});
