/**
 * Bytes of each row of a result chunk, read from DuckDB's vectors without converting a value: a
 * string's length is the first 4 bytes of its 16-byte `duckdb_string_t`, a list's elements are a
 * range of its child vector. So a query's result budget is checked *before* a huge value becomes a
 * JS string (a 100 MB string and its JSON are enough to exhaust the agent's V8 heap).
 *
 * The sizes approximate the values' JSON text: strings their UTF-8 bytes plus quotes (blobs 4 per
 * byte, as escapes), numbers and times a fixed width, nested values the sum of their parts.
 *
 * @module
 */
import {
  type DuckDBArrayType,
  type DuckDBDataChunk,
  type DuckDBListType,
  type DuckDBMapType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBUnionType,
} from "@duckdb/node-api";
import { nodeBindings, type RawChunk, type RawVector } from "./bindings.ts";

interface SizeBindings {
  data_chunk_get_vector(chunk: RawChunk, columnIndex: number): RawVector;
  vector_get_data(vector: RawVector, byteCount: number): Uint8Array;
  vector_get_validity(vector: RawVector, byteCount: number): Uint8Array | null;
  list_vector_get_child(vector: RawVector): RawVector;
  list_vector_get_size(vector: RawVector): number;
  struct_vector_get_child(vector: RawVector, index: number): RawVector;
  array_vector_get_child(vector: RawVector): RawVector;
}

const NULL_BYTES = 4;
const STRING_T_BYTES = 16;
const LIST_ENTRY_BYTES = 16;

/** JSON width of fixed-size values. */
const FIXED_BYTES: Partial<Record<DuckDBTypeId, number>> = {
  [DuckDBTypeId.BOOLEAN]: 5,
  [DuckDBTypeId.TINYINT]: 4,
  [DuckDBTypeId.UTINYINT]: 3,
  [DuckDBTypeId.SMALLINT]: 6,
  [DuckDBTypeId.USMALLINT]: 5,
  [DuckDBTypeId.INTEGER]: 11,
  [DuckDBTypeId.UINTEGER]: 10,
  [DuckDBTypeId.BIGINT]: 22,
  [DuckDBTypeId.UBIGINT]: 22,
  [DuckDBTypeId.HUGEINT]: 42,
  [DuckDBTypeId.UHUGEINT]: 42,
  [DuckDBTypeId.FLOAT]: 16,
  [DuckDBTypeId.DOUBLE]: 24,
  [DuckDBTypeId.DECIMAL]: 42,
  [DuckDBTypeId.DATE]: 14,
  [DuckDBTypeId.TIME]: 18,
  [DuckDBTypeId.TIME_NS]: 21,
  [DuckDBTypeId.TIME_TZ]: 26,
  [DuckDBTypeId.TIMESTAMP]: 30,
  [DuckDBTypeId.TIMESTAMP_S]: 30,
  [DuckDBTypeId.TIMESTAMP_MS]: 30,
  [DuckDBTypeId.TIMESTAMP_NS]: 33,
  [DuckDBTypeId.TIMESTAMP_TZ]: 30,
  [DuckDBTypeId.INTERVAL]: 48,
  [DuckDBTypeId.UUID]: 38,
  [DuckDBTypeId.ENUM]: 258,
  [DuckDBTypeId.SQLNULL]: NULL_BYTES,
};

/** JSON bytes per stored byte of string-like values. */
const STRING_FACTOR: Partial<Record<DuckDBTypeId, number>> = {
  [DuckDBTypeId.VARCHAR]: 1,
  [DuckDBTypeId.BLOB]: 4,
  [DuckDBTypeId.GEOMETRY]: 4,
  [DuckDBTypeId.BIT]: 8,
  [DuckDBTypeId.BIGNUM]: 3,
};

function validityOf(bindings: SizeBindings, vector: RawVector, count: number): Uint8Array | null {
  const bytes = bindings.vector_get_validity(vector, Math.ceil(count / 64) * 8);
  return bytes && bytes.length > 0 ? bytes : null;
}

function isValid(validity: Uint8Array | null, row: number): boolean {
  return validity === null || (validity[row >> 3] & (1 << (row & 7))) !== 0;
}

/**
 * Adds the size of rows `0..count` of `vector` (of `type`) to `out[0..count]`; returns false when
 * the type has no known layout (the caller then measures that column another way).
 */
function addSizes(
  bindings: SizeBindings,
  vector: RawVector,
  type: DuckDBType,
  count: number,
  out: Float64Array,
): boolean {
  if (count === 0) return true;
  const validity = validityOf(bindings, vector, count);
  const id = type.typeId;
  const fixed = FIXED_BYTES[id];
  if (fixed !== undefined) {
    for (let row = 0; row < count; row++) out[row] += isValid(validity, row) ? fixed : NULL_BYTES;
    return true;
  }
  const factor = STRING_FACTOR[id];
  if (factor !== undefined) {
    const data = bindings.vector_get_data(vector, count * STRING_T_BYTES);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (let row = 0; row < count; row++) {
      out[row] += isValid(validity, row)
        ? view.getUint32(row * STRING_T_BYTES, true) * factor + 2
        : NULL_BYTES;
    }
    return true;
  }
  switch (id) {
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.MAP: {
      const child = bindings.list_vector_get_child(vector);
      const childCount = bindings.list_vector_get_size(vector);
      const childType = id === DuckDBTypeId.LIST ? (type as DuckDBListType).valueType : undefined;
      const childSizes = new Float64Array(childCount);
      if (childType !== undefined) {
        if (!addSizes(bindings, child, childType, childCount, childSizes)) return false;
      } else {
        const map = type as DuckDBMapType;
        for (const [index, part] of [map.keyType, map.valueType].entries()) {
          const entries = bindings.struct_vector_get_child(child, index);
          if (!addSizes(bindings, entries, part, childCount, childSizes)) return false;
        }
      }
      const prefix = new Float64Array(childCount + 1);
      for (let i = 0; i < childCount; i++) prefix[i + 1] = prefix[i] + childSizes[i] + 1;
      const data = bindings.vector_get_data(vector, count * LIST_ENTRY_BYTES);
      const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
      for (let row = 0; row < count; row++) {
        if (!isValid(validity, row)) {
          out[row] += NULL_BYTES;
          continue;
        }
        const at = row * LIST_ENTRY_BYTES;
        const offset = view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
        const length = view.getUint32(at + 8, true) + view.getUint32(at + 12, true) * 2 ** 32;
        const end = Math.min(childCount, offset + length);
        out[row] += 2 + (end > offset ? prefix[end] - prefix[offset] : 0);
      }
      return true;
    }
    case DuckDBTypeId.STRUCT:
    case DuckDBTypeId.UNION: {
      const struct = id === DuckDBTypeId.STRUCT ? type as DuckDBStructType : undefined;
      const union = id === DuckDBTypeId.UNION ? type as DuckDBUnionType : undefined;
      const types = struct?.entryTypes ?? union?.memberTypes ?? [];
      const names = struct?.entryNames ?? union?.memberTags ?? [];
      // A union's first child is its tag.
      const first = union === undefined ? 0 : 1;
      for (let i = 0; i < types.length; i++) {
        const child = bindings.struct_vector_get_child(vector, i + first);
        if (!addSizes(bindings, child, types[i], count, out)) return false;
      }
      const keys = names.reduce((sum, name) => sum + name.length + 4, 2);
      for (let row = 0; row < count; row++) out[row] += keys;
      return true;
    }
    case DuckDBTypeId.ARRAY: {
      const array = type as DuckDBArrayType;
      const child = bindings.array_vector_get_child(vector);
      const childCount = count * array.length;
      const childSizes = new Float64Array(childCount);
      if (!addSizes(bindings, child, array.valueType, childCount, childSizes)) return false;
      for (let row = 0; row < count; row++) {
        let sum = 2;
        for (let i = row * array.length; i < (row + 1) * array.length; i++) sum += childSizes[i] + 1;
        out[row] += isValid(validity, row) ? sum : NULL_BYTES;
      }
      return true;
    }
    default:
      return false;
  }
}

const SIZE_FUNCTIONS = [
  "data_chunk_get_vector",
  "vector_get_data",
  "vector_get_validity",
  "list_vector_get_child",
  "list_vector_get_size",
  "struct_vector_get_child",
  "array_vector_get_child",
] as const;

/**
 * Approximate JSON bytes of every row of `chunk` (its columns of `types`), or undefined for the
 * columns whose layout is unknown (their `measure(column)` adds them instead, e.g. by converting).
 */
export function rowSizes(
  chunk: DuckDBDataChunk,
  types: readonly DuckDBType[],
  measure: (column: number, out: Float64Array) => void,
): Float64Array {
  const count = chunk.rowCount;
  const out = new Float64Array(count);
  const bindings = nodeBindings(SIZE_FUNCTIONS) as SizeBindings | null;
  for (let column = 0; column < types.length; column++) {
    if (bindings !== null) {
      const columnSizes = new Float64Array(count);
      const vector = bindings.data_chunk_get_vector(chunk.chunk, column);
      if (addSizes(bindings, vector, types[column], count, columnSizes)) {
        for (let row = 0; row < count; row++) out[row] += columnSizes[row] + 1;
        continue;
      }
    }
    measure(column, out);
  }
  return out;
}
