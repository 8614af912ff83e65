/**
 * compose.yaml and deploy/Dockerfile against the package (there is no Docker engine here: the files
 * are checked, and the image's layout is run in bubblewrap): versions, the executable the image
 * copies, the token required, the port binding chosen by the user, every environment variable one
 * the agent's sandbox lets through, and the image's runtime (unpacked at build time, read-only root).
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { executablePath, ROOT, sh, VERSION } from "./helpers.ts";

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  ports?: string[];
  read_only?: boolean;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
}

const compose: { services: Record<string, ComposeService> } = parse(
  await Deno.readTextFile(`${ROOT}compose.yaml`),
);
const dockerfile = await Deno.readTextFile(`${ROOT}deploy/Dockerfile`);
const denoJson = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
const agentPermissions = denoJson.permissions.agent;

/** The value of a Dockerfile instruction's lines (`ENV A=1 B=2` -> { A: "1", B: "2" }). */
function dockerfileEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n").filter((line) => line.startsWith("ENV "))) {
    for (const pair of line.slice(4).trim().split(/\s+/)) {
      const [name, ...value] = pair.split("=");
      env[name] = value.join("=");
    }
  }
  return env;
}

Deno.test("compose.yaml: Redpanda pinned, the agent built from the packaged executable of this version", () => {
  const { redpanda, eventops } = compose.services;
  assert.match(redpanda.image!, /^docker\.redpanda\.com\/redpandadata\/redpanda:v\d+\.\d+\.\d+$/);
  assert.equal(eventops.build?.dockerfile, "deploy/Dockerfile");
  assert.equal(eventops.build?.context, ".");
  assert.equal(eventops.build?.args?.EVENTOPS_VERSION, VERSION);
  assert.equal(eventops.image, `eventops:${VERSION}`);
  assert.deepEqual(eventops.depends_on, { redpanda: { condition: "service_healthy" } });
  assert.equal(eventops.read_only, true);
  assert.ok(eventops.volumes?.some((volume) => volume.endsWith(":/var/lib/eventops")));
});

Deno.test("compose.yaml: the token is required (no default), the port binding is the user's (loopback unless chosen)", () => {
  const text = Deno.readTextFileSync(`${ROOT}compose.yaml`);
  const { eventops } = compose.services;
  assert.match(eventops.environment!.EVENTOPS_HTTP_TOKEN, /^\$\{EVENTOPS_HTTP_TOKEN:\?[^}]+\}$/);
  assert.doesNotMatch(text, /change-me|EVENTOPS_HTTP_TOKEN:-/);
  assert.deepEqual(eventops.ports, ["${EVENTOPS_PUBLISH:-127.0.0.1:8088}:8088"]);
  assert.doesNotMatch(text, /latest/);
});

Deno.test("compose.yaml and the Dockerfile set only variables the agent's sandbox lets through, to hosts it may reach", () => {
  const allowedEnv = new Set<string>(agentPermissions.env);
  const env = { ...compose.services.eventops.environment, ...dockerfileEnv(dockerfile) };
  for (
    const name of Object.keys(env).filter((name) =>
      name.startsWith("EVENTOPS_") && name !== "EVENTOPS_CACHE_DIR"
    )
  ) {
    assert.ok(allowedEnv.has(name), `${name} is not in permissions.agent.env: --ignore-env would hide it`);
  }
  const brokerHost = compose.services.eventops.environment!.EVENTOPS_BROKERS.split(":")[0];
  assert.ok(agentPermissions.net.includes(brokerHost), `${brokerHost} is not in permissions.agent.net`);
  assert.ok(brokerHost in compose.services, `${brokerHost} is not a compose service`);
  assert.ok(
    agentPermissions.write.includes(env.EVENTOPS_DATA_DIR),
    "the data dir is not writable by the agent",
  );
});

Deno.test("deploy/Dockerfile: pinned base, this version's executables by architecture, non-root, unpacked at build", async () => {
  assert.match(dockerfile, /^FROM debian:bookworm-slim$/m);
  assert.match(dockerfile, new RegExp(`^ARG EVENTOPS_VERSION=${VERSION.replaceAll(".", "\\.")}$`, "m"));
  const source = dockerfile.match(/"\/dist\/(eventops-\$\{EVENTOPS_VERSION\}-linux-\$\(uname -m\))"/);
  assert.ok(source, "the Dockerfile copies dist/eventops-${EVENTOPS_VERSION}-linux-$(uname -m)");
  for (const arch of ["x86_64", "aarch64"] as const) {
    // `uname -m` in an amd64 / arm64 image is x86_64 / aarch64: the names deno task package writes
    assert.equal(
      `${ROOT}dist/${source[1].replace("${EVENTOPS_VERSION}", VERSION).replace("$(uname -m)", arch)}`,
      executablePath(arch),
    );
    await Deno.stat(executablePath(arch));
  }
  assert.match(dockerfile, /apt-get install -y --no-install-recommends xz-utils/);
  assert.match(dockerfile, /^USER eventops$/m);
  assert.match(dockerfile, /^RUN eventops version$/m);
  assert.match(dockerfile, /^ENTRYPOINT \["\/usr\/bin\/eventops"\]$/m);
  const ignore = await Deno.readTextFile(`${ROOT}.dockerignore`);
  assert.match(ignore, /^\*$/m);
  assert.match(ignore, /^!dist\/eventops-\*-linux-x86_64$/m);
});

Deno.test("the image's layout runs: unpacked as the image user at build, then a read-only root with only the data volume writable", async () => {
  const env = dockerfileEnv(dockerfile);
  const work = `${ROOT}.tmp/package/image-${Date.now().toString(36)}`;
  const cache = `${work}${env.EVENTOPS_CACHE_DIR}`;
  const data = `${work}${env.EVENTOPS_DATA_DIR}`;
  await Deno.mkdir(cache, { recursive: true });
  await Deno.mkdir(data, { recursive: true });
  await sh("chown", ["-R", "65534:65534", work]);
  const asUser = ["--reuid=65534", "--regid=65534", "--clear-groups"];
  // RUN eventops version (USER eventops, ENV EVENTOPS_CACHE_DIR)
  const build = await sh("setpriv", [...asUser, executablePath("x86_64"), "version"], {
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", EVENTOPS_CACHE_DIR: cache },
  });
  assert.equal(build.code, 0, build.stderr);
  // the container: read_only: true, the volume on the data dir, the compose environment
  const run = await sh("setpriv", [
    ...asUser,
    "bwrap",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--bind",
    data,
    data,
    "--chdir",
    data,
    executablePath("x86_64"),
    "check",
  ], {
    clearEnv: true,
    env: {
      PATH: "/usr/bin:/bin",
      EVENTOPS_CACHE_DIR: cache,
      EVENTOPS_DATA_DIR: data,
      EVENTOPS_BROKERS: compose.services.eventops.environment!.EVENTOPS_BROKERS,
      EVENTOPS_HTTP_TOKEN: "image-test",
    },
  });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.doesNotMatch(run.stderr, /unpacking/);
  assert.match(run.stdout, /^ok {3}config/m);
  await Deno.remove(work, { recursive: true });
});
