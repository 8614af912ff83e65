/**
 * The device source (`collect.host`): every `interval`, a sample of the machine and this process
 * (`sources/device.ts` says what and why from which API) becomes one raw message of events,
 * produced to the raw topic through the ingestor like `POST /ingest`, so normalize, the DLQ, the
 * store and exactly-once are the same as for anything sent. A sample the broker does not take is
 * logged and counted (`eventops_pipeline_events_total{stage="device"}`), not retried: the next one
 * follows an interval later.
 *
 * @module
 */
import os from "node:os";
import process from "node:process";
import { statfsSync } from "node:fs";
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import { join } from "node:path";
import { parseDiskstats, parseNetDev, parseZoneTemperature } from "../sources/device_files.ts";
import {
  deviceEvents,
  type DeviceIdentity,
  type DeviceSample,
  pressureSomeAvg10,
} from "../sources/device.ts";
import type { Ingestor } from "../api/deps.ts";
import type { PipelineCounters } from "../telemetry/counters.ts";

const PRESSURE = ["cpu", "io", "memory"] as const;

/**
 * Reads what the runtime can read of the machine and this process now, and the kernel's files bound
 * into `filesDir` (`collect.host.files`); unreadable parts are left out.
 */
export function takeDeviceSample(dataDir: string, filesDir?: string): DeviceSample {
  const sample: DeviceSample = {
    timeMs: Date.now(),
    cpus: os.cpus().map((cpu) => ({ ...cpu.times })),
  };
  const attempt = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch {
      return undefined;
    }
  };
  const load = attempt(() => Deno.loadavg());
  if (load) sample.loadavg = [load[0], load[1], load[2]];
  const memory = attempt(() => Deno.systemMemoryInfo());
  if (memory) {
    sample.memory = {
      total: memory.total,
      available: memory.available,
      swapTotal: memory.swapTotal,
      swapFree: memory.swapFree,
    };
  }
  const disk = attempt(() => statfsSync(dataDir));
  if (disk) sample.disk = { frsize: disk.bsize, blocks: disk.blocks, bfree: disk.bfree, bavail: disk.bavail };
  const pressure: NonNullable<DeviceSample["pressure"]> = {};
  for (const resource of PRESSURE) {
    const text = attempt(() => Deno.readTextFileSync(`/proc/pressure/${resource}`));
    const percent = text === undefined ? undefined : pressureSomeAvg10(text);
    if (percent !== undefined) pressure[resource] = percent;
  }
  if (Object.keys(pressure).length > 0) sample.pressure = pressure;
  const cpu = process.cpuUsage();
  sample.process = { rss: Deno.memoryUsage().rss, cpuMicros: cpu.user + cpu.system };
  if (filesDir !== undefined) {
    const read = (name: string) => attempt(() => Deno.readTextFileSync(join(filesDir, name)));
    const diskstats = read("diskstats");
    if (diskstats !== undefined) sample.disks = parseDiskstats(diskstats);
    const netDev = read("net_dev");
    if (netDev !== undefined) sample.network = parseNetDev(netDev);
    const temperatures = attempt(() => thermalZones(join(filesDir, "thermal")));
    if (temperatures && temperatures.length > 0) sample.temperatures = temperatures;
  }
  return sample;
}

/**
 * The temperatures of the `thermal_zone<N>` directories in `dir`, each named by its `type` (with its
 * zone number when two zones share a type); zones without a reading are left out.
 */
function thermalZones(dir: string): { zone: string; celsius: number }[] {
  const zones: { zone: string; type: string; celsius: number }[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (!/^thermal_zone\d+$/.test(entry.name)) continue;
    try {
      const celsius = parseZoneTemperature(Deno.readTextFileSync(join(dir, entry.name, "temp")));
      if (celsius === undefined) continue;
      const type = Deno.readTextFileSync(join(dir, entry.name, "type")).trim() || entry.name;
      zones.push({ zone: entry.name, type, celsius });
    } catch {
      // a zone that cannot be read now (a sensor asleep returns an error): left out of this sample
    }
  }
  zones.sort((a, b) => a.zone.localeCompare(b.zone, "en", { numeric: true }));
  const types = new Map<string, number>();
  for (const { type } of zones) types.set(type, (types.get(type) ?? 0) + 1);
  return zones.map(({ zone, type, celsius }) => ({
    zone: (types.get(type) ?? 0) > 1 ? `${type}:${zone}` : type,
    celsius,
  }));
}

/** Who the device's events belong to: `collect.host.tenant`, and its host or the machine's name. */
export function deviceIdentity(config: Config): DeviceIdentity {
  const { tenant, host } = config.collect.host;
  return { tenant, host: host !== "" ? host : Deno.hostname() };
}

/** Which of the kernel's files `dir` has (`collect.host.files`), or why none can be read. */
function filesFound(dir: string): string[] | string {
  try {
    return [...Deno.readDirSync(dir)].map((entry) => entry.name).sort();
  } catch (error) {
    return `none (disk I/O, network and temperature are left out): ${
      error instanceof Error ? error.message : String(error)
    }`;
  }
}

/** Starts sampling when `collect.host.enabled`; the returned stop ends it. */
export function startDeviceSource(
  config: Config,
  log: Logger,
  ingestor: Pick<Ingestor, "produce">,
  counters: PipelineCounters,
): { stop(): void } {
  const settings = config.collect.host;
  if (!settings.enabled) return { stop() {} };
  const identity = deviceIdentity(config);
  let previous = takeDeviceSample(config.data_dir, settings.files);
  let warned = false;
  let running = false;
  const tick = async () => {
    if (running) return; // a produce still waiting: skip this sample rather than pile them up
    running = true;
    try {
      const current = takeDeviceSample(config.data_dir, settings.files);
      const events = deviceEvents(previous, current, identity);
      previous = current;
      const [outcome] = await ingestor.produce([new TextEncoder().encode(JSON.stringify(events))]);
      if (outcome && "error" in outcome) throw new Error(outcome.error);
      counters.add("device", "out", events.length);
      warned = false;
    } catch (error) {
      counters.add("device", "failed", 1);
      if (!warned) log.warn("device metrics: a sample was not produced (next one in an interval)", { error });
      warned = true;
    } finally {
      running = false;
    }
  };
  log.info("device metrics", {
    ...identity,
    interval_ms: settings.interval,
    files: filesFound(settings.files),
  });
  const timer = setInterval(tick, settings.interval);
  return { stop: () => clearInterval(timer) };
}
