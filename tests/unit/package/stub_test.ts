/**
 * scripts/package/stub.sh filled by scripts/package/build.ts, around a small payload whose "deno"
 * prints what it was started with: where it unpacks (never next to itself), reuse by checksum, a
 * damaged file refused, the flags and environment it passes.
 */
import assert from "node:assert/strict";
import { fillStub } from "../../../scripts/package/build.ts";
import type { Launch } from "../../../scripts/package/stage.ts";

const ARCH = Deno.build.arch as "x86_64" | "aarch64";

async function sh(args: string[], env: Record<string, string>, cwd: string) {
  const output = await new Deno.Command(args[0], { args: args.slice(1), env, clearEnv: true, cwd }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

async function makeExecutable(dir: string): Promise<string> {
  const stage = `${dir}/stage`;
  await Deno.mkdir(`${stage}/app`, { recursive: true });
  await Deno.writeTextFile(`${stage}/app/main.ts`, "// app\n");
  await Deno.writeTextFile(`${stage}/launch.json`, "{}\n");
  await Deno.writeTextFile(
    `${stage}/deno`,
    '#!/bin/sh\nprintf "%s\\n" "$@"\necho "DENO_DIR=$DENO_DIR"\necho "MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX"\n',
  );
  await Deno.chmod(`${stage}/deno`, 0o755);
  const payload = `${dir}/payload.tar.xz`;
  const packed = await new Deno.Command("sh", {
    args: ["-c", `tar -C "$1" -cf - deno app launch.json | xz -1 -c > "$2"`, "pack", stage, payload],
  }).output();
  assert.ok(packed.success);
  const bytes = await Deno.readFile(payload);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const sha256 = Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
  const launch: Launch = {
    version: "9.9.9",
    denoVersion: "2.9.6",
    arch: ARCH,
    env: { MALLOC_ARENA_MAX: "2" },
    flags: ["--ignore-env"],
    permissions: [[{ text: "--allow-read=./data," }, { app: true }, { text: "/lib" }]],
    entry: "main.ts",
    files: ["main.ts"],
    packages: [],
  };
  const stub = fillStub(await Deno.readTextFile("scripts/package/stub.sh"), launch, {
    sha256,
    bytes: bytes.length,
  });
  const file = `${dir}/bin/eventops`;
  await Deno.mkdir(`${dir}/bin`);
  await Deno.writeFile(file, new Uint8Array([...new TextEncoder().encode(stub), ...bytes]));
  await Deno.chmod(file, 0o755);
  return file;
}

Deno.test("the stub unpacks once into the cache directory, never next to itself, and passes the agent's flags", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "eventops-stub-" });
  try {
    const exe = await makeExecutable(dir);
    const env = { PATH: "/usr/bin:/bin", HOME: `${dir}/home` };
    const first = await sh([exe, "run", "--port", "1"], env, dir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /unpacking 9\.9\.9/);
    const unpacked = [...Deno.readDirSync(`${dir}/home/.cache/eventops`)].map((entry) => entry.name);
    assert.equal(unpacked.length, 1);
    assert.match(unpacked[0], new RegExp(`^9\\.9\\.9-${ARCH}-[0-9a-f]{16}$`));
    const app = `${dir}/home/.cache/eventops/${unpacked[0]}/app`;
    const args = first.stdout.split("\n");
    assert.deepEqual(args.slice(0, 12), [
      "run",
      "--config",
      `${app}/deno.json`,
      `--lock=${app}/deno.lock`,
      "--frozen",
      "--node-modules-dir=manual",
      "--no-remote",
      "--cached-only",
      "--no-prompt",
      `--allow-read=./data,${app}/lib`,
      "--ignore-env",
      `${app}/main.ts`,
    ]);
    assert.deepEqual(args.slice(12, 15), ["run", "--port", "1"]);
    assert.ok(first.stdout.includes(`DENO_DIR=${app.replace(/app$/, "deno-dir")}`));
    assert.ok(first.stdout.includes("MALLOC_ARENA_MAX=2"));
    assert.deepEqual([...Deno.readDirSync(`${dir}/bin`)].map((entry) => entry.name), ["eventops"]);
    // the app is read-only once unpacked
    assert.equal((await Deno.stat(`${app}/main.ts`)).mode! & 0o222, 0);

    const second = await sh([exe, "version"], { ...env, MALLOC_ARENA_MAX: "4" }, dir);
    assert.equal(second.code, 0);
    assert.doesNotMatch(second.stderr, /unpacking/);
    assert.ok(second.stdout.includes("MALLOC_ARENA_MAX=4"));

    // precedence: EVENTOPS_CACHE_DIR, then systemd's CACHE_DIRECTORY, then XDG_CACHE_HOME
    for (
      const [name, value, where] of [
        ["EVENTOPS_CACHE_DIR", `${dir}/explicit`, `${dir}/explicit`],
        ["CACHE_DIRECTORY", `${dir}/systemd:${dir}/other`, `${dir}/systemd`],
        ["XDG_CACHE_HOME", `${dir}/xdg`, `${dir}/xdg/eventops`],
      ]
    ) {
      const result = await sh([exe, "version"], { ...env, [name]: value }, dir);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(result.stderr.includes(`into ${where}/9.9.9-`), `${name}: ${result.stderr}`);
    }
    // no cache directory at all: a clear error
    const none = await sh([exe, "version"], { PATH: "/usr/bin:/bin" }, dir);
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /set EVENTOPS_CACHE_DIR/);
    // a stamp that does not hold this file's checksum is unpacked again
    const stamp = `${dir}/home/.cache/eventops/${unpacked[0]}/.unpacked`;
    await Deno.writeTextFile(stamp, "0000\n");
    const again = await sh([exe, "version"], env, dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /unpacking/);
    assert.notEqual(await Deno.readTextFile(stamp), "0000\n");
  } finally {
    await new Deno.Command("chmod", { args: ["-R", "u+w", dir] }).output();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the stub refuses a damaged file before unpacking anything", async () => {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "eventops-stub-" });
  try {
    const exe = await makeExecutable(dir);
    const bytes = await Deno.readFile(exe);
    bytes[bytes.length - 20] ^= 0xff;
    await Deno.writeFile(exe, bytes);
    const result = await sh(
      [exe, "version"],
      { PATH: "/usr/bin:/bin", EVENTOPS_CACHE_DIR: `${dir}/cache` },
      dir,
    );
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /damaged \(checksum mismatch\)/);
    assert.deepEqual([...Deno.readDirSync(`${dir}/cache`)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
