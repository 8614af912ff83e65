import assert from "node:assert/strict";
import { busyShare, deviceEvents, type DeviceSample, pressureSomeAvg10 } from "../../../sources/device.ts";
import { normalizeMessage } from "../../../stages/normalize/mod.ts";
import { ConfigSchema } from "../../../config/schema.ts";

const PI = { tenant: "local", host: "pi-4" };

/** A Raspberry Pi 4 (4 cores, 4 GiB, a 32 GB card, no swap) at two moments 10 s apart. */
const BEFORE: DeviceSample = {
  timeMs: 1_764_800_000_000,
  cpus: Array.from({ length: 4 }, () => ({ user: 1_000, nice: 0, sys: 500, idle: 8_500, irq: 0 })),
  loadavg: [0.5, 0.4, 0.3],
  memory: { total: 4_000_000_000, available: 3_000_000_000, swapTotal: 0, swapFree: 0 },
  disk: { frsize: 4096, blocks: 7_600_000, bfree: 5_000_000, bavail: 4_600_000 },
  process: { rss: 90_000_000, cpuMicros: 2_000_000 },
};
// Each core: 2,500 ms busy and 7,500 ms idle in 10 s (25 %); the agent used 1.5 s of CPU (15 %).
const AFTER: DeviceSample = {
  ...BEFORE,
  timeMs: BEFORE.timeMs + 10_000,
  cpus: BEFORE.cpus.map((cpu) => ({
    ...cpu,
    user: cpu.user + 2_000,
    sys: cpu.sys + 500,
    idle: cpu.idle + 7_500,
  })),
  pressure: { cpu: 12.5, io: 0.3 },
  process: { rss: 95_000_000, cpuMicros: 3_500_000 },
};

function byMetric(sample: DeviceSample, previous?: DeviceSample) {
  return Object.fromEntries(
    deviceEvents(previous, sample, PI).map((event) => [event.metric, [event.value, event.unit ?? ""]]),
  );
}

Deno.test("device: a Pi's sample becomes cpu, load, memory, disk, pressure and agent events", () => {
  assert.deepEqual(byMetric(AFTER, BEFORE), {
    cpu_load: [25, "percent"],
    load1: [0.5, ""],
    load5: [0.4, ""],
    load15: [0.3, ""],
    mem_used: [25, "percent"],
    mem_available: [3_000_000_000, "bytes"],
    // df: used 2,600,000 of used + available 7,200,000 blocks
    disk_used: [36.1111, "percent"],
    disk_free: [4_600_000 * 4096, "bytes"],
    pressure_cpu: [12.5, "percent"],
    pressure_io: [0.3, "percent"],
    agent_rss: [95_000_000, "bytes"],
    agent_cpu: [15, "percent"],
  });
  for (const event of deviceEvents(BEFORE, AFTER, PI)) {
    assert.equal(event.tenant_id, "local");
    assert.equal(event.host, "pi-4");
    assert.equal(event.ts_event, AFTER.timeMs);
    assert.deepEqual(event.tags, { source: "device" });
  }
});

Deno.test("device: the first sample has no rates; swap only where there is swap; a counter reset gives no cpu", () => {
  const first = byMetric(BEFORE);
  assert.equal(first.cpu_load, undefined);
  assert.equal(first.agent_cpu, undefined);
  assert.equal(first.swap_used, undefined);
  const swapping = byMetric({ ...BEFORE, memory: { ...BEFORE.memory!, swapTotal: 1_000, swapFree: 250 } });
  assert.deepEqual(swapping.swap_used, [75, "percent"]);
  const reset = { ...AFTER, cpus: AFTER.cpus.map((cpu) => ({ ...cpu, idle: 0 })) };
  assert.equal(byMetric(reset, BEFORE).cpu_load, undefined);
  assert.equal(busyShare(BEFORE.cpus, AFTER.cpus.slice(1)), undefined, "a CPU went offline: not comparable");
  const bare = deviceEvents(undefined, { timeMs: 1, cpus: [] }, PI);
  assert.deepEqual(bare, [], "nothing readable: no events");
});

Deno.test("device: PSI text gives the 'some avg10' percentage", () => {
  assert.equal(
    pressureSomeAvg10(
      "some avg10=65.66 avg60=55.01 avg300=50.83 total=7859312143\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
    ),
    65.66,
  );
  assert.equal(pressureSomeAvg10("full avg10=1.00 avg60=0.00 avg300=0.00 total=0\n"), undefined);
  assert.equal(pressureSomeAvg10(""), undefined);
});

Deno.test("device: every event passes the normalize stage as is (units known, names valid)", () => {
  const config = ConfigSchema.parse({});
  const message = new TextEncoder().encode(JSON.stringify(deviceEvents(BEFORE, AFTER, PI)));
  const { events, rejects } = normalizeMessage(
    message,
    { topic: "raw", partition: 0, offset: "0" },
    config.normalize,
    AFTER.timeMs,
  );
  assert.deepEqual(rejects, []);
  assert.deepEqual(
    events.map((event) => event.metric),
    deviceEvents(BEFORE, AFTER, PI).map((event) => event.metric),
    "no name changed by normalize's aliases",
  );
  const units = Object.fromEntries(events.map((event) => [event.metric, event.unit]));
  assert.equal(units.cpu_load, "percent");
  assert.equal(units.disk_free, "bytes");
});

Deno.test("collect.host config: off by default; interval at least 1s; bad values name the path", () => {
  assert.deepEqual(ConfigSchema.parse({}).collect.host, {
    enabled: false,
    interval: 10_000,
    tenant: "local",
    host: "",
    files: "/run/eventops/host",
  });
  const set = ConfigSchema.parse({ collect: { host: { enabled: true, interval: "2s", host: "gw-1" } } });
  assert.deepEqual(set.collect.host, {
    enabled: true,
    interval: 2_000,
    tenant: "local",
    host: "gw-1",
    files: "/run/eventops/host",
  });
  const bad = ConfigSchema.safeParse({ collect: { host: { interval: "100ms", tenant: "" } } });
  assert.ok(!bad.success);
  const paths = bad.error.issues.map((issue) => issue.path.join("."));
  assert.deepEqual(paths.sort(), ["collect.host.interval", "collect.host.tenant"]);
});
