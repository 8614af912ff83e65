/**
 * The amd64 .deb on this machine: `dpkg -i`, the service user runs `eventops version` and `check`
 * against the installed config, the installed unit passes `systemd-analyze verify` and `security`,
 * the installed ExecStart runs as the unit would start it (service user, the unit's environment and
 * token file, its syscall filter) and accepts a write with the token made at install, and
 * `dpkg --purge` leaves nothing behind. Starting it through systemd is not possible here (systemd is
 * not PID 1 in this container): everything up to that is tested.
 */
import assert from "node:assert/strict";
import { BROKERS } from "../../testing/agent.ts";
import { allowedSyscalls, parseSyscallGroups } from "./evidence.ts";
import { debPath, eventually, freePort, ROOT, SECCOMP_EXEC, sh, VERSION } from "./helpers.ts";

const UNIT = "/lib/systemd/system/eventops.service";

/** Everything on this machine that carries the package's name, and its user and group. */
async function traces(): Promise<string[]> {
  const found = await sh("find", [
    "/",
    "-xdev",
    "(",
    "-path",
    "/proc",
    "-o",
    "-path",
    "/sys",
    "-o",
    "-path",
    "/work",
    "-o",
    "-path",
    "/tmp",
    "-o",
    "-path",
    ROOT.replace(/\/$/, ""),
    ")",
    "-prune",
    "-o",
    "-iname",
    "*eventops*",
    "-print",
  ]);
  const accounts = [
    (await sh("getent", ["passwd", "eventops"])).stdout.trim(),
    (await sh("getent", ["group", "eventops"])).stdout.trim(),
    (await sh("dpkg-query", ["-W", "-f=${Status}", "eventops"])).stdout.trim(),
  ];
  return [...found.stdout.split("\n"), ...accounts].filter(Boolean).sort();
}

async function asServiceUser(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return await sh("runuser", ["-u", "eventops", "--", ...args], { cwd: "/" });
}

Deno.test("the amd64 .deb installs with dpkg -i, runs as the service user, and purges without a trace", async (t) => {
  if ((await sh("dpkg-query", ["-W", "eventops"])).code === 0) await sh("dpkg", ["--purge", "eventops"]);
  const before = await traces();
  // A user who ran the packaged executable before has its runtime under their own cache
  // (~/.cache/eventops): that is not the package's. Nothing the package installs may be there yet.
  const home = Deno.env.get("HOME") ?? "/root";
  const packageOwned = before.filter((path) => !path.startsWith(`${home}/.cache/eventops`));
  assert.deepEqual(packageOwned, [], "the machine must not hold the eventops package before the test");

  const install = await sh("dpkg", ["-i", debPath("amd64")]);
  try {
    assert.equal(install.code, 0, `dpkg -i failed:\n${install.stdout}${install.stderr}`);

    await t.step("files, owners and modes as the unit expects", async () => {
      const stat = async (path: string) => (await sh("stat", ["-c", "%U:%G %a %F", path])).stdout.trim();
      assert.equal(await stat("/usr/bin/eventops"), "root:root 755 regular file");
      assert.equal(await stat(UNIT), "root:root 644 regular file");
      assert.equal(await stat("/etc/eventops/eventops.yaml"), "root:eventops 640 regular file");
      assert.equal(await stat("/etc/eventops/env"), "root:root 600 regular file");
      assert.equal(await stat("/var/lib/eventops"), "eventops:eventops 750 directory");
      assert.equal(await stat("/var/cache/eventops"), "eventops:eventops 750 directory");
      const env = await Deno.readTextFile("/etc/eventops/env");
      assert.match(env, /^EVENTOPS_HTTP_TOKEN=[0-9a-f]{64}\n$/);
      assert.match(
        await Deno.readTextFile("/etc/eventops/eventops.yaml"),
        /^data_dir: \/var\/lib\/eventops$/m,
      );
      const conffiles = (await sh("dpkg-query", ["-W", "-f=${Conffiles}", "eventops"])).stdout;
      assert.match(conffiles, /\/etc\/eventops\/eventops\.yaml [0-9a-f]{32}/);
      // postinst unpacked the runtime for the service: one directory for this version.
      const unpacked = [...Deno.readDirSync("/var/cache/eventops")].map((entry) => entry.name);
      assert.equal(unpacked.length, 1);
      assert.ok(unpacked[0].startsWith(`${VERSION}-x86_64-`));
      // enabled (a first install enables), not started: systemd is not running here
      assert.ok((await Deno.lstat("/etc/systemd/system/multi-user.target.wants/eventops.service")).isSymlink);
    });

    await t.step("eventops version and check work as the service user", async () => {
      const version = await asServiceUser(["eventops", "version"]);
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, new RegExp(`^eventops ${VERSION.replaceAll(".", "\\.")} `));
      const check = await asServiceUser(["eventops", "check", "--config", "/etc/eventops/eventops.yaml"]);
      assert.equal(check.code, 0, check.stdout + check.stderr);
      assert.match(check.stdout, /^ok {3}config \/etc\/eventops\/eventops\.yaml$/m);
      // the service user's commands found the runtime postinst unpacked (/var/cache/eventops is theirs)
      assert.equal([...Deno.readDirSync("/var/cache/eventops")].length, 1);
      // root's token file stays closed to the service user
      const token = await asServiceUser(["cat", "/etc/eventops/env"]);
      assert.notEqual(token.code, 0);
    });

    await t.step("systemd-analyze verify passes and security prints the exposure", async () => {
      const verify = await sh("systemd-analyze", ["verify", "eventops.service"]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      assert.equal(verify.stderr.trim(), "");
      const security = await sh("systemd-analyze", ["security", "--offline=yes", "--no-pager", UNIT]);
      const exposure = security.stdout.match(/Overall exposure level for eventops\.service: ([\d.]+) (\w+)/);
      assert.ok(exposure, security.stdout + security.stderr);
      console.log(`installed unit: exposure ${exposure[1]} ${exposure[2]}`);
      assert.ok(Number(exposure[1]) <= 2.0, `exposure ${exposure[1]}`);
    });

    await t.step(
      "ExecStart as the unit starts it: service user, its environment and token, its syscall filter",
      async () => {
        const unit = await Deno.readTextFile(UNIT);
        const groups = parseSyscallGroups((await sh("systemd-analyze", ["syscall-filter"])).stdout);
        const allow = await Deno.makeTempFile({ dir: "/tmp", prefix: "eventops-allow-" });
        await Deno.writeTextFile(allow, allowedSyscalls(unit, groups).join("\n"));
        await Deno.chmod(allow, 0o644);
        const environment = Object.fromEntries(
          [...unit.matchAll(/^Environment=([A-Z_]+)=(.*)$/gm)].map((match) => [match[1], match[2]]),
        );
        const token = (await Deno.readTextFile("/etc/eventops/env")).trim().split("=")[1];
        const port = freePort();
        const exec = unit.match(/^ExecStart=(.*)$/m)![1].split(" ");
        const agent = new Deno.Command("setpriv", {
          args: [
            "--reuid=eventops",
            "--regid=eventops",
            "--init-groups",
            "--inh-caps=-all",
            SECCOMP_EXEC,
            allow,
            ...exec,
          ],
          cwd: unit.match(/^WorkingDirectory=(.*)$/m)![1],
          clearEnv: true,
          env: {
            PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
            ...environment,
            EVENTOPS_HTTP_TOKEN: token,
            CACHE_DIRECTORY: "/var/cache/eventops",
            STATE_DIRECTORY: "/var/lib/eventops",
            // the test broker and a free port instead of the config's 127.0.0.1:9092 and 8088
            EVENTOPS_BROKERS: BROKERS,
            EVENTOPS_HTTP_PORT: String(port),
            EVENTOPS_HTTP_HOST: "127.0.0.1",
          },
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        let logs = "";
        const decoder = new TextDecoder();
        const drained = Promise.all([agent.stdout, agent.stderr].map(async (stream) => {
          for await (const chunk of stream) logs += decoder.decode(chunk, { stream: true });
        }));
        try {
          const base = `http://127.0.0.1:${port}`;
          await eventually(
            async () => {
              const response = await fetch(`${base}/readyz`);
              await response.body?.cancel();
              return response.status === 200 ? true : undefined;
            },
            60_000,
            `/readyz; logs:\n${logs}`,
          );
          const host = `deb-${Date.now().toString(36)}`;
          const event = {
            tenant_id: "acme",
            host,
            metric: "cpu_load",
            value: 42,
            ts_event: new Date().toISOString(),
          };
          const refused = await fetch(`${base}/ingest`, { method: "POST", body: JSON.stringify(event) });
          await refused.body?.cancel();
          assert.equal(refused.status, 401);
          const accepted = await fetch(`${base}/ingest`, {
            method: "POST",
            body: JSON.stringify(event),
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          });
          assert.equal(accepted.status, 202, await accepted.text());
          const points = await eventually(
            async () => {
              const response = await fetch(`${base}/metrics/cpu_load?tenant=acme&host=${host}`);
              const body = await response.json();
              return body.points?.length === 1 ? body.points : undefined;
            },
            30_000,
            "the ingested point",
          );
          assert.equal(points[0].value, 42);
          assert.ok((await Deno.stat("/var/lib/eventops/metrics.duckdb")).isFile);
        } finally {
          agent.kill("SIGTERM");
          const status = await agent.status;
          await drained;
          await Deno.remove(allow);
          assert.equal(status.code, 0, `exit after SIGTERM; logs:\n${logs}`);
        }
      },
    );
  } finally {
    const purge = await sh("dpkg", ["--purge", "eventops"]);
    assert.equal(purge.code, 0, purge.stdout + purge.stderr);
  }
  assert.deepEqual(await traces(), before, "dpkg --purge left these behind");
});
