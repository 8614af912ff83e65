/** scripts/package/permissions.ts: the packaged agent's flags from deno.json's task and permission set. */
import assert from "node:assert/strict";
import {
  parseAgentTask,
  permissionFlags,
  resolveWord,
  shellWord,
} from "../../../scripts/package/permissions.ts";

Deno.test("parseAgentTask: environment, flags, permission set and entry of the eventops task", () => {
  const task = parseAgentTask(
    "MALLOC_ARENA_MAX=2 deno run -P=agent --ignore-env --v8-flags=--max-old-space-size=256 main.ts",
  );
  assert.deepEqual(task, {
    env: { MALLOC_ARENA_MAX: "2" },
    flags: ["--ignore-env", "--v8-flags=--max-old-space-size=256"],
    permissionSet: "agent",
    entry: "main.ts",
  });
  assert.throws(() => parseAgentTask("deno run --allow-all main.ts"), /names no permission set/);
  assert.throws(() => parseAgentTask("node main.js"), /unexpected eventops task/);
});

Deno.test("permissionFlags: relative read/write paths in the working directory, plus the app where it ships them; FFI in the app only", () => {
  const shipped = (path: string) => ["node_modules", "pipeline", "config"].includes(path);
  const flags = permissionFlags({
    read: ["./data", "./config", "./pipeline", "/etc/eventops"],
    write: ["./data", "/var/lib/eventops"],
    net: ["127.0.0.1", "redpanda"],
    env: ["EVENTOPS_CONFIG"],
    ffi: ["./node_modules/.deno/"],
    sys: ["hostname"],
    run: false,
  }, shipped).map((parts) => resolveWord(parts, "/cache/app"));
  assert.deepEqual(flags, [
    "--allow-read=./data,./config,/cache/app/config,./pipeline,/cache/app/pipeline,/etc/eventops",
    "--allow-write=./data,/var/lib/eventops",
    "--allow-net=127.0.0.1,redpanda",
    "--allow-env=EVENTOPS_CONFIG",
    "--allow-ffi=/cache/app/node_modules/.deno/",
    "--allow-sys=hostname",
  ]);
  assert.deepEqual(
    permissionFlags({ read: true, write: [] }, shipped).map((parts) => resolveWord(parts, "/a")),
    [
      "--allow-read",
    ],
  );
  assert.throws(() => permissionFlags({ read: ["./a,b"] }, shipped), /comma/);
});

Deno.test('shellWord: one POSIX shell word, the app directory as "$app"', async () => {
  const word = shellWord([{ text: "--allow-read=./it's," }, { app: true }, { text: "/lib" }]);
  assert.equal(word, `'--allow-read=./it'\\''s,'"$app"'/lib'`);
  const echoed = await new Deno.Command("sh", { args: ["-c", `app='/x y'; printf '%s' ${word}`] }).output();
  assert.equal(new TextDecoder().decode(echoed.stdout), "--allow-read=./it's,/x y/lib");
});

Deno.test("the real deno.json: every path of permissions.agent is granted, none to the build machine", async () => {
  const config = JSON.parse(await Deno.readTextFile("deno.json"));
  const task = parseAgentTask(config.tasks.eventops);
  const set = config.permissions[task.permissionSet];
  const flags = permissionFlags(set, (path) => path !== "data").map((parts) => resolveWord(parts, "@APP"));
  const joined = flags.join(" ");
  assert.doesNotMatch(joined, new RegExp(Deno.cwd().replaceAll("/", "\\/")));
  for (const path of set.read) assert.ok(joined.includes(path), `read ${path}`);
  for (const path of set.write) {
    assert.ok(flags.some((flag) => flag.startsWith("--allow-write=") && flag.includes(path)));
  }
  const ffi = flags.find((flag) => flag.startsWith("--allow-ffi="))!;
  assert.ok(ffi.split("=")[1].split(",").every((path) => path.startsWith("@APP/")), ffi);
});
