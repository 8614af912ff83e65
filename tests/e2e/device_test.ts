/**
 * The device's own metrics (`collect.host`) through the real agent and broker: with it on, the
 * machine's CPU, memory and disk are queryable within an interval or two, under the configured tenant
 * and host, and a rule on them fires (off by default: tests/unit/sources/device_test.ts).
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";
import { parseDiskstats, parseNetDev } from "../../sources/device_files.ts";

type Point = { value: number; unit: string; tags: Record<string, string> };

const HOST = "device-e2e";

async function points(base: string, metric: string): Promise<Point[]> {
  return await eventually(
    async () => {
      const body = await (await fetch(`${base}/metrics/${metric}?tenant=local&host=${HOST}`)).json();
      return (body.points as Point[] | undefined)?.length ? body.points as Point[] : undefined;
    },
    30_000,
    `${metric} of ${HOST}`,
  );
}

Deno.test("collect.host: the machine's cpu, memory and disk are stored as events of its tenant and host, and a rule on them fires", async () => {
  const name = uniqueName("device");
  const dir = `data/test/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const rulesFile = `${dir}/rules.yaml`;
  // Any machine running this test uses some memory: the rule fires on the first sample.
  await Deno.writeTextFile(
    rulesFile,
    stringify({ rules: [{ name: "device_memory", metric: "mem_used", unit: "percent", warning: 0.001 }] }),
  );
  const { file, port, topics } = await writeTestConfig(name, {
    rules: rulesFile,
    collect: { host: { enabled: true, interval: "1s", host: HOST } },
  });
  const agent = await startAgent(file, port);
  try {
    const cpu = await points(agent.baseUrl, "cpu_load");
    assert.ok(cpu.every((p) => p.unit === "percent" && p.value >= 0 && p.value <= 100), JSON.stringify(cpu));
    assert.deepEqual(cpu[0].tags, { source: "device" });
    const memory = await points(agent.baseUrl, "mem_used");
    assert.ok(
      memory.every((p) => p.unit === "percent" && p.value > 0 && p.value < 100),
      JSON.stringify(memory),
    );
    const available = await points(agent.baseUrl, "mem_available");
    assert.ok(available[0].value > 1_000_000 && available[0].unit === "bytes");
    const disk = await points(agent.baseUrl, "disk_free");
    assert.ok(disk[0].value > 0 && disk[0].unit === "bytes");
    const rss = await points(agent.baseUrl, "agent_rss");
    assert.ok(rss[0].value > 10_000_000, `agent_rss ${rss[0].value}`);

    const alert = await eventually(
      async () => {
        const alerts = (await kcatConsumeAll(topics.alerts)).map((text) => JSON.parse(text));
        return alerts.find((a) => a.rule === "device_memory" && a.host === HOST && a.state === "firing");
      },
      30_000,
      "the device_memory alert",
    );
    assert.equal(alert.tenant, "local");
    assert.equal(alert.severity, "warning");
    const status = await (await fetch(`${agent.baseUrl}/prometheus`)).text();
    const produced = Number(
      /eventops_pipeline_events_total\{stage="device",kind="out"\} (\d+)/.exec(status)?.[1],
    );
    assert.ok(produced >= 5, `device events produced: ${produced}`);
    const dead = await kcatConsumeAll(topics.dlq);
    assert.deepEqual(dead, [], "no device event is dead-lettered");
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});

/**
 * What the systemd unit's `BindReadOnlyPaths=` does, done by `unshare` (a user and mount namespace,
 * no root needed): the real /proc/diskstats and /proc/net/dev bound into /run/eventops/host, and a
 * thermal zone (this VM has none: a directory of the kernel's layout). The agent runs in its narrow
 * permission set (`-P=agent`), which refuses /proc itself.
 */
const BIND_HOST_FILES = [
  "unshare",
  "--map-root-user",
  "--mount",
  "sh",
  "-c",
  [
    "set -e",
    "mount -t tmpfs eventops-host /run",
    "mkdir -p /run/eventops/host/thermal/thermal_zone0",
    "echo cpu-thermal > /run/eventops/host/thermal/thermal_zone0/type",
    "echo 48686 > /run/eventops/host/thermal/thermal_zone0/temp",
    "touch /run/eventops/host/diskstats /run/eventops/host/net_dev",
    "mount --bind -o ro /proc/diskstats /run/eventops/host/diskstats",
    "mount --bind -o ro /proc/net/dev /run/eventops/host/net_dev",
    'exec "$@"',
  ].join("\n"),
  "sh",
];

/** A kernel file's text, read by `cat` (this test's own permissions refuse /proc too). */
async function catKernelFile(path: string): Promise<string> {
  const output = await new Deno.Command("cat", { args: [path], stdout: "piped" }).output();
  assert.ok(output.success, `cat ${path}`);
  return new TextDecoder().decode(output.stdout);
}

Deno.test("collect.host: disk I/O, network and temperature from the kernel's files bound into collect.host.files", async () => {
  const name = uniqueName("device-files");
  const { file, port } = await writeTestConfig(name, {
    collect: { host: { enabled: true, interval: "1s", host: HOST } },
  });
  const expectedDisks = parseDiskstats(await catKernelFile("/proc/diskstats"));
  const expectedInterfaces = parseNetDev(await catKernelFile("/proc/net/dev"));
  const agent = await startAgent(file, port, [], {}, { wrapper: BIND_HOST_FILES });
  try {
    const temperature = await points(agent.baseUrl, "temperature");
    assert.deepEqual(
      [temperature[0].value, temperature[0].unit, temperature[0].tags],
      [48.686, "celsius", { source: "device", zone: "cpu-thermal" }],
    );
    const written = await points(agent.baseUrl, "disk_write");
    const devices = new Set(written.map((p) => p.tags.device));
    assert.ok(
      devices.size > 0 && [...devices].every((device) => expectedDisks.has(device)),
      [...devices].join(),
    );
    assert.ok(written.every((p) => p.unit === "bytes_per_second" && p.value >= 0), JSON.stringify(written));
    const busy = await points(agent.baseUrl, "disk_busy");
    assert.ok(
      busy.every((p) => p.unit === "percent" && p.value >= 0 && p.value <= 100),
      JSON.stringify(busy),
    );
    // The agent's own traffic with the broker runs over loopback, left out; any other interface counts.
    if (expectedInterfaces.size > 0) {
      const received = await points(agent.baseUrl, "net_rx");
      const names = new Set(received.map((p) => p.tags.interface));
      assert.ok([...names].every((name) => expectedInterfaces.has(name)), [...names].join());
    }
  } finally {
    assert.equal(await agent.stop(), 0);
  }
  const logs = agent.logs();
  assert.match(logs, /"msg":"device metrics".*"files":\["diskstats","net_dev","thermal"\]/);
});

Deno.test("collect.host: without the bound files the rest is collected and the start-up line says why", async () => {
  const name = uniqueName("device-nofiles");
  const { file, port } = await writeTestConfig(name, {
    collect: {
      host: { enabled: true, interval: "1s", host: `${HOST}-nofiles`, files: "/run/eventops/host" },
    },
  });
  const agent = await startAgent(file, port);
  try {
    const body = await eventually(
      async () => {
        const answer =
          await (await fetch(`${agent.baseUrl}/metrics/mem_used?tenant=local&host=${HOST}-nofiles`))
            .json();
        return answer.points?.length ? answer : undefined;
      },
      30_000,
      "mem_used without the bound files",
    );
    assert.ok(body.points.length > 0);
  } finally {
    assert.equal(await agent.stop(), 0);
  }
  assert.match(
    agent.logs(),
    /"msg":"device metrics".*"files":"none \(disk I\/O, network and temperature are left out\)/,
  );
});
