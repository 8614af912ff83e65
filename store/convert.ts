/**
 * DuckDB values to JSON-safe JS values (for `eventops query` and anything printed as JSON):
 * 64/128-bit integers become numbers when exact, else decimal strings; timestamps become ISO 8601
 * (UTC, microseconds kept when present); dates `YYYY-MM-DD`; decimals numbers; NaN/Infinity strings.
 *
 * @module
 */
import {
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  type DuckDBValueConverter,
  type Json,
  JsonDuckDBValueConverter,
} from "@duckdb/node-api";

/** Epoch microseconds as ISO 8601 UTC, e.g. `2025-10-21T10:00:00.123456Z`. */
export function isoFromMicros(micros: bigint): string {
  let ms = micros / 1000n;
  let rest = micros % 1000n;
  if (rest < 0n) {
    rest += 1000n;
    ms -= 1n;
  }
  const date = new Date(Number(ms));
  if (Number.isNaN(date.getTime())) return `${micros}us`;
  const iso = date.toISOString();
  return rest === 0n ? iso : `${iso.slice(0, -1)}${String(rest).padStart(3, "0")}Z`;
}

function bigintJson(value: bigint): Json {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

function finite(value: DuckDBValue): boolean {
  return typeof value === "object" && value !== null && "isFinite" in value ? value.isFinite !== false : true;
}

/** The converter: JSON-safe, bigints as numbers when exact, timestamps as ISO. */
export const JsonSafeConverter: DuckDBValueConverter<Json> = (
  value: DuckDBValue,
  type: DuckDBType,
  converter: DuckDBValueConverter<Json>,
): Json | null => {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return typeof value === "bigint" ? bigintJson(value) : String(value);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      if (!finite(value)) return String(value);
      return typeof value === "object" && "micros" in value && typeof value.micros === "bigint"
        ? isoFromMicros(value.micros)
        : String(value);
    case DuckDBTypeId.TIMESTAMP_S:
      if (!finite(value)) return String(value);
      return typeof value === "object" && "seconds" in value && typeof value.seconds === "bigint"
        ? isoFromMicros(value.seconds * 1_000_000n)
        : String(value);
    case DuckDBTypeId.TIMESTAMP_MS:
      if (!finite(value)) return String(value);
      return typeof value === "object" && "millis" in value && typeof value.millis === "bigint"
        ? isoFromMicros(value.millis * 1000n)
        : String(value);
    case DuckDBTypeId.TIMESTAMP_NS:
      if (!finite(value)) return String(value);
      return typeof value === "object" && "nanos" in value && typeof value.nanos === "bigint"
        ? isoFromMicros(value.nanos / 1000n)
        : String(value);
    case DuckDBTypeId.DECIMAL: {
      const n = Number(String(value));
      return Number.isFinite(n) ? n : String(value);
    }
    default:
      return JsonDuckDBValueConverter(value, type, converter);
  }
};
