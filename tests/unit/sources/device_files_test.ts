/** The kernel's diskstats, net/dev and thermal texts, parsed, and the device events made from them. */
import assert from "node:assert/strict";
import {
  counterRates,
  parseDiskstats,
  parseNetDev,
  parseZoneTemperature,
} from "../../../sources/device_files.ts";
import { deviceEvents, type DeviceSample } from "../../../sources/device.ts";
import { ConfigSchema } from "../../../config/schema.ts";

/** A Raspberry Pi 4's /proc/diskstats (an SD card with two partitions, loop and RAM devices). */
const DISKSTATS_BEFORE = `
   1       0 ram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
   7       0 loop0 56 0 2134 12 0 0 0 0 0 40 12 0 0 0 0 0 0
 179       0 mmcblk0 9120 3520 601846 40188 5120 4810 280440 90120 0 61230 130308 0 0 0 0 312 0
 179       1 mmcblk0p1 214 1152 11418 456 2 0 2 0 0 396 456 0 0 0 0 0 0
 179       2 mmcblk0p2 8856 2368 589340 39708 5118 4810 280438 90120 0 60900 129828 0 0 0 0 0 0
 259       0 nvme0n1 100 0 800 10 0 0 0 0 0 20 10
 not a line
`;
/** Ten seconds later: 2,048 sectors read, 20,480 written, 2.5 s busy on the card. */
const DISKSTATS_AFTER = DISKSTATS_BEFORE
  .replace(
    "9120 3520 601846 40188 5120 4810 280440 90120 0 61230",
    "9200 3520 603894 40300 5300 4810 300920 92000 0 63730",
  );

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 9200340   12840    0    0    0     0          0         0  9200340   12840    0    0    0     0       0          0
  eth0: 104857600 90120    0    0    0     0          0       312 52428800  40310    0    0    0     0       0          0
 wlan0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
`;

Deno.test("diskstats: whole disks only, bytes from 512-byte sectors, busy milliseconds", () => {
  const disks = parseDiskstats(DISKSTATS_BEFORE);
  assert.deepEqual([...disks.keys()], ["mmcblk0", "nvme0n1"], "no partitions, loop or RAM devices");
  assert.deepEqual(disks.get("mmcblk0"), {
    readBytes: 601846 * 512,
    writtenBytes: 280440 * 512,
    busyMs: 61230,
  });
  assert.equal(parseDiskstats("").size, 0);
  assert.equal(parseDiskstats(" 8 0 sda 1 2 x 4 5 6 7 8 9 10 11").size, 0, "a field that is not a number");
});

Deno.test("net/dev: interfaces but loopback, received and sent bytes", () => {
  const interfaces = parseNetDev(NET_DEV);
  assert.deepEqual(Object.fromEntries(interfaces), {
    eth0: { receivedBytes: 104857600, sentBytes: 52428800 },
    wlan0: { receivedBytes: 0, sentBytes: 0 },
  });
  assert.equal(parseNetDev("eth0: 1 2 3").size, 0, "a line too short is left out");
});

Deno.test("thermal zone: millidegrees to °C; no reading is left out", () => {
  assert.equal(parseZoneTemperature("48686\n"), 48.686);
  assert.equal(parseZoneTemperature("-5000"), -5);
  assert.equal(parseZoneTemperature("-273150"), undefined, "the driver's 'no reading'");
  assert.equal(parseZoneTemperature(""), undefined);
  assert.equal(parseZoneTemperature("N/A"), undefined);
});

Deno.test("counter rates: per second between readings; a counter that went back (a reboot, a wrap) is left out", () => {
  const before = new Map([["a", { n: 100 }], ["b", { n: 500 }], ["gone", { n: 1 }]]);
  const after = new Map([["a", { n: 1100 }], ["b", { n: 10 }], ["new", { n: 7 }]]);
  assert.deepEqual(Object.fromEntries(counterRates(before, after, 2_000, ["n"])), { a: { n: 500 }, b: {} });
  assert.equal(counterRates(before, after, 0, ["n"]).size, 0, "no time elapsed: no rate");
});

Deno.test("device: disk I/O, network and temperature events with their device, interface and zone tags", () => {
  const base = { cpus: [], process: undefined } satisfies Partial<DeviceSample>;
  const before: DeviceSample = {
    ...base,
    timeMs: 1_764_800_000_000,
    disks: parseDiskstats(DISKSTATS_BEFORE),
    network: parseNetDev(NET_DEV),
  };
  const after: DeviceSample = {
    ...base,
    timeMs: before.timeMs + 10_000,
    disks: parseDiskstats(DISKSTATS_AFTER),
    network: parseNetDev(NET_DEV.replace("104857600", "115343360")),
    temperatures: [{ zone: "cpu-thermal", celsius: 48.686 }],
  };
  const events = deviceEvents(before, after, { tenant: "local", host: "pi-4" })
    .map((event) => [event.metric, event.value, event.unit, event.tags]);
  assert.deepEqual(events, [
    ["disk_read", 2048 * 512 / 10, "bytes_per_second", { source: "device", device: "mmcblk0" }],
    ["disk_write", 20480 * 512 / 10, "bytes_per_second", { source: "device", device: "mmcblk0" }],
    ["disk_busy", 25, "percent", { source: "device", device: "mmcblk0" }],
    ["disk_read", 0, "bytes_per_second", { source: "device", device: "nvme0n1" }],
    ["disk_write", 0, "bytes_per_second", { source: "device", device: "nvme0n1" }],
    ["disk_busy", 0, "percent", { source: "device", device: "nvme0n1" }],
    ["net_rx", 1_048_576, "bytes_per_second", { source: "device", interface: "eth0" }],
    ["net_tx", 0, "bytes_per_second", { source: "device", interface: "eth0" }],
    ["net_rx", 0, "bytes_per_second", { source: "device", interface: "wlan0" }],
    ["net_tx", 0, "bytes_per_second", { source: "device", interface: "wlan0" }],
    ["temperature", 48.686, "celsius", { source: "device", zone: "cpu-thermal" }],
  ]);
  const first = deviceEvents(undefined, after, { tenant: "local", host: "pi-4" }).map((event) =>
    event.metric
  );
  assert.deepEqual(first, ["temperature"], "rates need a previous sample; the temperature does not");
});

Deno.test("device files: the systemd unit binds them where the config looks and the agent's permission set reads", async () => {
  const unit = await Deno.readTextFile(new URL("../../../deploy/eventops.service", import.meta.url));
  const binds = [...unit.matchAll(/^BindReadOnlyPaths=(.*)$/gm)].flatMap((match) => match[1].split(/\s+/));
  const targets = Object.fromEntries(
    binds.map((bind) => bind.replace(/^-/, "").split(":")).map(([source, target]) => [source, target]),
  );
  const dir = ConfigSchema.parse({}).collect.host.files;
  assert.deepEqual(targets, {
    "/proc/diskstats": `${dir}/diskstats`,
    "/proc/net/dev": `${dir}/net_dev`,
    "/sys/devices/virtual/thermal": `${dir}/thermal`,
  });
  assert.ok(
    binds.every((bind) => bind.startsWith("-")),
    "a file the machine lacks must not stop the service",
  );
  const deno = JSON.parse(await Deno.readTextFile(new URL("../../../deno.json", import.meta.url)));
  assert.ok(deno.permissions.agent.read.includes(dir), `permissions.agent.read allows ${dir}`);
});
