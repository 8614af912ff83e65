/**
 * The device's own metrics (`collect.host`): a sample of what the runtime can read about the machine
 * and this process, turned into raw events of the configured tenant and host, the same shape as
 * `POST /ingest` takes. Pure: `agent/device.ts` takes the samples and produces the events.
 *
 * Deno refuses reads of `/proc` and `/sys` without `--allow-all` (only `/proc/pressure/*` is
 * readable with `--allow-read`), so most figures come from its system APIs: CPU times (`os.cpus`),
 * load (`Deno.loadavg`), memory (`Deno.systemMemoryInfo`), the data directory's filesystem
 * (`statfs`), pressure stall information, and the process's own memory and CPU time. Disk I/O,
 * network and temperature come from `/proc/diskstats`, `/proc/net/dev` and the thermal zones bound
 * read-only into `collect.host.files` (the systemd unit's `BindReadOnlyPaths=`; Deno checks the
 * path it opens, and a bind mount's path is not under `/proc`): without them they are left out.
 *
 * | metric | unit | what |
 * | --- | --- | --- |
 * | `cpu_load` | percent | share of all CPUs' time not idle since the previous sample |
 * | `load1`, `load5`, `load15` | | load averages |
 * | `mem_used` | percent | `(total - available) / total` |
 * | `mem_available` | bytes | memory available to new processes |
 * | `swap_used` | percent | when the machine has swap |
 * | `disk_used` | percent | of the data directory's filesystem (as `df`: of what users may use) |
 * | `disk_free` | bytes | available to unprivileged users there |
 * | `pressure_cpu`, `pressure_io`, `pressure_memory` | percent | PSI "some" avg10, where the kernel has it |
 * | `agent_rss` | bytes | this process's resident memory |
 * | `agent_cpu` | percent | this process's CPU time since the previous sample (100 = one core) |
 * | `disk_read`, `disk_write` | bytes_per_second | per whole disk (tag `device`) since the previous sample |
 * | `disk_busy` | percent | of the time the disk had I/O in flight (tag `device`) |
 * | `net_rx`, `net_tx` | bytes_per_second | per interface but loopback (tag `interface`) |
 * | `temperature` | celsius | per thermal zone (tag `zone`: its type, e.g. `cpu-thermal`) |
 *
 * Every event carries the tag `source=device`.
 *
 * @module
 */
import type { RawEvent } from "../model/raw.ts";
import { counterRates, type DiskCounters, type NetworkCounters } from "./device_files.ts";

/** CPU time counters of one CPU, in milliseconds (as `os.cpus()` gives them). */
export interface CpuTimes {
  user: number;
  nice: number;
  sys: number;
  idle: number;
  irq: number;
}

/** One reading of the machine and this process. Absent parts were not readable. */
export interface DeviceSample {
  /** When it was taken, epoch ms. */
  timeMs: number;
  cpus: CpuTimes[];
  loadavg?: readonly [number, number, number];
  memory?: { total: number; available: number; swapTotal: number; swapFree: number };
  /** `statfs` of the data directory: block size, blocks, free and available-to-users blocks. */
  disk?: { frsize: number; blocks: number; bfree: number; bavail: number };
  /** PSI "some avg10" percentages by resource. */
  pressure?: Partial<Record<"cpu" | "io" | "memory", number>>;
  process?: { rss: number; cpuMicros: number };
  /** Whole disks' counters by name (`collect.host.files`/diskstats). */
  disks?: ReadonlyMap<string, DiskCounters>;
  /** Network interfaces' counters by name (`collect.host.files`/net_dev). */
  network?: ReadonlyMap<string, NetworkCounters>;
  /** Thermal zones' temperatures (`collect.host.files`/thermal), each zone's name unique. */
  temperatures?: readonly { zone: string; celsius: number }[];
}

/** Whose metrics they are. */
export interface DeviceIdentity {
  tenant: string;
  host: string;
}

/**
 * The events of `current` (rates such as `cpu_load` need `previous`: without it, or when the
 * counters went backwards, they are left out).
 */
export function deviceEvents(
  previous: DeviceSample | undefined,
  current: DeviceSample,
  identity: DeviceIdentity,
): RawEvent[] {
  const events: RawEvent[] = [];
  const elapsedMs = previous ? current.timeMs - previous.timeMs : 0;
  const add = (metric: string, value: number, unit?: string, tags?: Record<string, string>) => {
    if (!Number.isFinite(value)) return;
    const event: RawEvent = {
      tenant_id: identity.tenant,
      host: identity.host,
      metric,
      value: round(value),
      ts_event: current.timeMs,
      tags: tags ? { source: "device", ...tags } : { source: "device" },
    };
    if (unit !== undefined) event.unit = unit;
    events.push(event);
  };
  if (previous) {
    const busy = busyShare(previous.cpus, current.cpus);
    if (busy !== undefined) add("cpu_load", busy * 100, "percent");
  }
  if (current.loadavg) {
    add("load1", current.loadavg[0]);
    add("load5", current.loadavg[1]);
    add("load15", current.loadavg[2]);
  }
  const memory = current.memory;
  if (memory && memory.total > 0) {
    add("mem_used", (memory.total - memory.available) / memory.total * 100, "percent");
    add("mem_available", memory.available, "bytes");
    if (memory.swapTotal > 0) {
      add("swap_used", (memory.swapTotal - memory.swapFree) / memory.swapTotal * 100, "percent");
    }
  }
  const disk = current.disk;
  if (disk && disk.blocks > 0) {
    // As df: used over what users can have (used + available), not over the whole filesystem.
    const used = disk.blocks - disk.bfree;
    const usable = used + disk.bavail;
    if (usable > 0) add("disk_used", used / usable * 100, "percent");
    add("disk_free", disk.bavail * disk.frsize, "bytes");
  }
  for (const [resource, percent] of Object.entries(current.pressure ?? {})) {
    add(`pressure_${resource}`, percent, "percent");
  }
  if (current.process) {
    add("agent_rss", current.process.rss, "bytes");
    if (previous?.process && elapsedMs > 0) {
      const cpuMs = (current.process.cpuMicros - previous.process.cpuMicros) / 1000;
      if (cpuMs >= 0) add("agent_cpu", cpuMs / elapsedMs * 100, "percent");
    }
  }
  if (previous?.disks && current.disks) {
    const fields = ["readBytes", "writtenBytes", "busyMs"] as const;
    for (const [device, rate] of counterRates(previous.disks, current.disks, elapsedMs, fields)) {
      if (rate.readBytes !== undefined) add("disk_read", rate.readBytes, "bytes_per_second", { device });
      if (rate.writtenBytes !== undefined) {
        add("disk_write", rate.writtenBytes, "bytes_per_second", { device });
      }
      // busy ms per second / 1000 ms = the share of the time; at most 100% (the kernel's rounding).
      if (rate.busyMs !== undefined) add("disk_busy", Math.min(100, rate.busyMs / 10), "percent", { device });
    }
  }
  if (previous?.network && current.network) {
    const fields = ["receivedBytes", "sentBytes"] as const;
    for (const [name, rate] of counterRates(previous.network, current.network, elapsedMs, fields)) {
      const tags = { interface: name };
      if (rate.receivedBytes !== undefined) add("net_rx", rate.receivedBytes, "bytes_per_second", tags);
      if (rate.sentBytes !== undefined) add("net_tx", rate.sentBytes, "bytes_per_second", tags);
    }
  }
  for (const { zone, celsius } of current.temperatures ?? []) {
    add("temperature", celsius, "celsius", { zone });
  }
  return events;
}

/** The share of CPU time not idle between two readings of every CPU; undefined if not comparable. */
export function busyShare(before: readonly CpuTimes[], after: readonly CpuTimes[]): number | undefined {
  if (before.length === 0 || before.length !== after.length) return undefined;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < after.length; i++) {
    const a = before[i];
    const b = after[i];
    const spent = (b.user - a.user) + (b.nice - a.nice) + (b.sys - a.sys) + (b.irq - a.irq);
    const rested = b.idle - a.idle;
    if (spent < 0 || rested < 0) return undefined;
    total += spent + rested;
    idle += rested;
  }
  return total > 0 ? (total - idle) / total : undefined;
}

/** The "some avg10" percentage of a `/proc/pressure/<resource>` text; undefined when absent. */
export function pressureSomeAvg10(text: string): number | undefined {
  const match = /^some\s+avg10=(\d+(?:\.\d+)?)/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Four significant decimals are plenty for a gauge, and keep the messages short. */
function round(value: number): number {
  return Math.abs(value) >= 1e6 ? Math.round(value) : Math.round(value * 1e4) / 1e4;
}
