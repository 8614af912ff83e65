/**
 * Canonical units and conversions used by the normalize stage.
 *
 * A value in unit `u` becomes `value * factor + offset` in the canonical unit. Lookups are
 * case-insensitive, ignore surrounding blanks and blanks around `/`, and accept `per` for `/`
 * (`MB per s`). Canonical units and what maps to them:
 *
 * | canonical | accepted (case-insensitive) |
 * | --- | --- |
 * | `percent` | `%`, `pct`, `percent`, `percentage`; `ratio`, `fraction` (0..1, x100) |
 * | `bytes` | `b`, `byte(s)`, `octet(s)`; decimal `kb mb gb tb pb` (1000^n); binary `kib mib gib tib pib` (1024^n); bits: `bit(s)`, `kbit mbit gbit tbit`, `kibit mibit gibit` (/8) |
 * | `bytes_per_second` | any byte or bit unit above followed by `/s` or `/sec` (`B/s`, `MiB/s`, `Mbit/s`), and `bps kbps mbps gbps tbps` (bits per second, /8) |
 * | `seconds` | `ns`, `us`, `µs`, `μs`, `ms`, `s`, `sec(s)`, `second(s)`, `min(s)`, `minute(s)`, `h`, `hr(s)`, `hour(s)`, `d`, `day(s)` (and long names like `milliseconds`) |
 * | `celsius` | `°C`, `℃`, `C`, `degC`, `celsius`; `°F`, `℉`, `F`, `degF`, `fahrenheit`; `kelvin` (not a bare `K`, which reads as kilo) |
 *
 * Because lookups are case-insensitive, `Mb` and `MB` are both megabytes: write bits as `Mbit`
 * (or the `Mbps` rate). Unknown units pass through trimmed and lower-cased; no unit gives `""`.
 *
 * @module
 */

/** How to convert a value to its canonical unit: `canonical = value * factor + offset`. */
export interface CanonicalUnit {
  /** The canonical unit name (`percent`, `bytes`, ...) or the unknown unit, lower-cased. */
  readonly unit: string;
  readonly factor: number;
  readonly offset: number;
}

/** The canonical unit names this module converts to. */
export const CANONICAL_UNITS: readonly string[] = [
  "percent",
  "bytes",
  "bytes_per_second",
  "seconds",
  "celsius",
];

const TABLE = new Map<string, CanonicalUnit>();

function define(unit: string, factor: number, offset: number, names: readonly string[]): void {
  const entry: CanonicalUnit = Object.freeze({ unit, factor, offset });
  for (const name of names) TABLE.set(name, entry);
}

define("percent", 1, 0, ["%", "pct", "percent", "percents", "percentage"]);
define("percent", 100, 0, ["ratio", "fraction"]);

const BYTE_UNITS: readonly (readonly [readonly string[], number])[] = [
  [["b", "byte", "bytes", "octet", "octets"], 1],
  [["kb", "kilobyte", "kilobytes"], 1e3],
  [["mb", "megabyte", "megabytes"], 1e6],
  [["gb", "gigabyte", "gigabytes"], 1e9],
  [["tb", "terabyte", "terabytes"], 1e12],
  [["pb", "petabyte", "petabytes"], 1e15],
  [["kib", "kibibyte", "kibibytes"], 1024],
  [["mib", "mebibyte", "mebibytes"], 1024 ** 2],
  [["gib", "gibibyte", "gibibytes"], 1024 ** 3],
  [["tib", "tebibyte", "tebibytes"], 1024 ** 4],
  [["pib", "pebibyte", "pebibytes"], 1024 ** 5],
  [["bit", "bits"], 1 / 8],
  [["kbit", "kbits", "kilobit", "kilobits"], 1e3 / 8],
  [["mbit", "mbits", "megabit", "megabits"], 1e6 / 8],
  [["gbit", "gbits", "gigabit", "gigabits"], 1e9 / 8],
  [["tbit", "tbits", "terabit", "terabits"], 1e12 / 8],
  [["kibit", "kibits"], 1024 / 8],
  [["mibit", "mibits"], 1024 ** 2 / 8],
  [["gibit", "gibits"], 1024 ** 3 / 8],
];
for (const [names, factor] of BYTE_UNITS) {
  define("bytes", factor, 0, names);
  define(
    "bytes_per_second",
    factor,
    0,
    names.flatMap((name) => [`${name}/s`, `${name}/sec`, `${name}/second`]),
  );
}
define("bytes", 1, 0, ["bytes"]);
define("bytes_per_second", 1, 0, ["bytes_per_second", "bytes_per_sec"]);
define("bytes_per_second", 1 / 8, 0, ["bps", "bits_per_second"]);
define("bytes_per_second", 1e3 / 8, 0, ["kbps"]);
define("bytes_per_second", 1e6 / 8, 0, ["mbps"]);
define("bytes_per_second", 1e9 / 8, 0, ["gbps"]);
define("bytes_per_second", 1e12 / 8, 0, ["tbps"]);

define("seconds", 1e-9, 0, ["ns", "nsec", "nanosecond", "nanoseconds"]);
define("seconds", 1e-6, 0, ["us", "µs", "μs", "usec", "microsecond", "microseconds"]);
define("seconds", 1e-3, 0, ["ms", "msec", "millisecond", "milliseconds"]);
define("seconds", 1, 0, ["s", "sec", "secs", "second", "seconds"]);
define("seconds", 60, 0, ["min", "mins", "minute", "minutes"]);
define("seconds", 3600, 0, ["h", "hr", "hrs", "hour", "hours"]);
define("seconds", 86_400, 0, ["d", "day", "days"]);

define("celsius", 1, 0, ["°c", "℃", "c", "degc", "deg_c", "celsius", "degrees_celsius"]);
define("celsius", 5 / 9, -160 / 9, ["°f", "℉", "f", "degf", "deg_f", "fahrenheit", "degrees_fahrenheit"]);
define("celsius", 1, -273.15, ["kelvin"]);

const NONE: CanonicalUnit = Object.freeze({ unit: "", factor: 1, offset: 0 });
const CACHE = new Map<string, CanonicalUnit>();
const CACHE_MAX = 4_096;
const SLASH = /\s*(?:\/|\bper\b)\s*/g;
const BLANKS = /\s+/g;

/**
 * The canonical unit of `unit` and how to convert to it. `undefined`/blank give `""`; unknown
 * units come back trimmed and lower-cased with factor 1. Results are cached (bounded).
 */
export function canonicalUnit(unit: string | undefined): CanonicalUnit {
  if (unit === undefined) return NONE;
  const cached = CACHE.get(unit);
  if (cached !== undefined) return cached;
  const key = unit.trim().toLowerCase().replace(SLASH, "/").replace(BLANKS, "_");
  const found = key === "" ? NONE : TABLE.get(key) ?? Object.freeze({ unit: key, factor: 1, offset: 0 });
  if (CACHE.size >= CACHE_MAX) CACHE.clear();
  CACHE.set(unit, found);
  return found;
}

const POW10 = Array.from({ length: 64 }, (_, i) => 10 ** (i - 24));

/** Rounds to 15 significant digits (like `Number(x.toPrecision(15))`, without the string). */
function round15(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const digits = 14 - Math.floor(Math.log10(Math.abs(x)));
  if (digits < -24 || digits > 39) return x;
  const scale = POW10[digits + 24];
  return Math.round(x * scale) / scale;
}

/**
 * Converts `value` with a canonical unit from {@link canonicalUnit}; converted values are rounded
 * to 15 significant digits so that `0.07 ratio` gives `7`, not `7.000000000000001`.
 */
export function convertValue(value: number, conversion: CanonicalUnit): number {
  if (conversion.factor === 1 && conversion.offset === 0) return value;
  return round15(value * conversion.factor + conversion.offset);
}
