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
import {
  deviceEvents,
  type DeviceIdentity,
  type DeviceSample,
  pressureSomeAvg10,
} from "../sources/device.ts";
import type { Ingestor } from "../api/deps.ts";
import type { PipelineCounters } from "../telemetry/counters.ts";

const PRESSURE = ["cpu", "io", "memory"] as const;

/** Reads what the runtime can read of the machine and this process now; unreadable parts are left out. */
export function takeDeviceSample(dataDir: string): DeviceSample {
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
  return sample;
}

/** Who the device's events belong to: `collect.host.tenant`, and its host or the machine's name. */
export function deviceIdentity(config: Config): DeviceIdentity {
  const { tenant, host } = config.collect.host;
  return { tenant, host: host !== "" ? host : Deno.hostname() };
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
  let previous = takeDeviceSample(config.data_dir);
  let warned = false;
  let running = false;
  const tick = async () => {
    if (running) return; // a produce still waiting: skip this sample rather than pile them up
    running = true;
    try {
      const current = takeDeviceSample(config.data_dir);
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
  log.info("device metrics", { ...identity, interval_ms: settings.interval });
  const timer = setInterval(tick, settings.interval);
  return { stop: () => clearInterval(timer) };
}
