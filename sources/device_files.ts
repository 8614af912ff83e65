/**
 * The kernel's text files behind the device's disk I/O, network and temperature figures, parsed.
 * Pure: `agent/device.ts` reads the files (bound into `collect.host.files`, see the README's "Device
 * metrics") and hands the texts here.
 *
 * | file | format |
 * | --- | --- |
 * | `diskstats` | `/proc/diskstats`: major minor name, then reads completed, merged, sectors read, ms reading, writes completed, merged, sectors written, ms writing, in flight, ms doing I/O, ... |
 * | `net_dev` | `/proc/net/dev`: two header lines, then `name: rx bytes packets errs drop fifo frame compressed multicast tx bytes ...` |
 * | `thermal/thermal_zone<N>/type`, `temp` | the zone's name and its temperature in millidegrees Celsius |
 *
 * @module
 */

/** Counters of one block device since boot. */
export interface DiskCounters {
  /** Bytes read and written (sectors of 512 bytes, whatever the device's own sector size). */
  readBytes: number;
  writtenBytes: number;
  /** Milliseconds the device had I/O in flight. */
  busyMs: number;
}

/** Counters of one network interface since boot. */
export interface NetworkCounters {
  receivedBytes: number;
  sentBytes: number;
}

/** The kernel's diskstats sector: 512 bytes, always (Documentation/block/stat.rst). */
const SECTOR_BYTES = 512;

/**
 * Whole disks only: not partitions (`sda1`, `mmcblk0p2`, `nvme0n1p1`), loop, RAM or zram devices,
 * which would count the same I/O twice or none that reaches a device.
 */
const NOT_A_DISK = /^(loop|ram|zram)\d+$|^(sd|vd|xvd|hd)[a-z]+\d+$|^(mmcblk\d+|nvme\d+n\d+)p\d+$/;

/** The whole disks of a `/proc/diskstats` text, by name; unreadable lines are left out. */
export function parseDiskstats(text: string): Map<string, DiskCounters> {
  const disks = new Map<string, DiskCounters>();
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13) continue;
    const name = fields[2];
    if (NOT_A_DISK.test(name)) continue;
    const sectorsRead = Number(fields[5]);
    const sectorsWritten = Number(fields[9]);
    const busyMs = Number(fields[12]);
    if (![sectorsRead, sectorsWritten, busyMs].every(Number.isFinite)) continue;
    disks.set(name, {
      readBytes: sectorsRead * SECTOR_BYTES,
      writtenBytes: sectorsWritten * SECTOR_BYTES,
      busyMs,
    });
  }
  return disks;
}

/** The interfaces of a `/proc/net/dev` text but loopback, by name; unreadable lines are left out. */
export function parseNetDev(text: string): Map<string, NetworkCounters> {
  const interfaces = new Map<string, NetworkCounters>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const fields = line.slice(colon + 1).trim().split(/\s+/);
    if (name === "" || name === "lo" || fields.length < 9) continue;
    const receivedBytes = Number(fields[0]);
    const sentBytes = Number(fields[8]);
    if (!Number.isFinite(receivedBytes) || !Number.isFinite(sentBytes)) continue;
    interfaces.set(name, { receivedBytes, sentBytes });
  }
  return interfaces;
}

/**
 * A thermal zone's temperature in °C from its `temp` text (millidegrees); undefined when it is not
 * a number or outside what a sensor reports (drivers give -273150 or huge values for "no reading").
 */
export function parseZoneTemperature(text: string): number | undefined {
  const milli = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(milli)) return undefined;
  const celsius = milli / 1000;
  return celsius > -100 && celsius < 250 ? celsius : undefined;
}

/** Per-second rates of counters between two readings `elapsedMs` apart; a counter that went back is left out. */
export function counterRates<T extends object>(
  before: ReadonlyMap<string, T>,
  after: ReadonlyMap<string, T>,
  elapsedMs: number,
  fields: readonly (keyof T & string)[],
): Map<string, Partial<Record<keyof T & string, number>>> {
  const rates = new Map<string, Partial<Record<keyof T & string, number>>>();
  if (elapsedMs <= 0) return rates;
  for (const [name, now] of after) {
    const then = before.get(name);
    if (!then) continue;
    const rate: Partial<Record<keyof T & string, number>> = {};
    for (const field of fields) {
      const delta = Number(now[field]) - Number(then[field]);
      if (delta >= 0) rate[field] = delta / elapsedMs * 1000;
    }
    rates.set(name, rate);
  }
  return rates;
}
