/**
 * Fast filling of DuckDB data chunks from Deno.
 *
 * Every string handed to DuckDB through `@duckdb/node-api` costs one native call (~0.4-0.5 µs under
 * Deno), and a metrics row has nine strings. Most of them repeat (tenant, host, metric, unit, topic,
 * tags, ctx), so the column writers here go one level down, to the C-API functions of
 * `@duckdb/node-bindings` (the package `@duckdb/node-api` itself runs on):
 *
 * - a string of at most 12 UTF-8 bytes is written inline into the `duckdb_string_t` slot in JS
 *   (documented layout: `uint32 length; char inlined[12]`), no native call;
 * - a longer string is assigned natively once per chunk; later rows with the same string get a copy
 *   of that row's 16-byte `duckdb_string_t` (pointing into the same vector's string heap);
 * - numbers (DOUBLE, INTEGER, BIGINT, TIMESTAMPTZ micros) go into typed arrays; int64 values are
 *   written as two 32-bit halves, so no BigInt is allocated per row;
 * - each column is copied into the vector with one `copy_data_to_vector` call.
 *
 * The raw path is verified once per process against a round trip through DuckDB
 * ({@link rawChunksVerified}); when the bindings cannot be reached or the check fails, the writer
 * uses the plain `@duckdb/node-api` vectors instead (same result, slower).
 *
 * @module
 */
import {
  BIGINT,
  DOUBLE,
  type DuckDBConnection,
  DuckDBDataChunk,
  DuckDBTimestampTZValue,
  type DuckDBType,
  type DuckDBVector,
  INTEGER,
  TIMESTAMPTZ,
  VARCHAR,
} from "@duckdb/node-api";
import { nodeBindings, type RawChunk, type RawVector } from "./bindings.ts";

/** Copies `byteCount` bytes of `source` into a vector's data (or its validity mask). */
type CopyToVector = (
  vector: RawVector,
  targetByteOffset: number,
  source: ArrayBuffer,
  sourceByteOffset: number,
  byteCount: number,
) => void;

/** The few C-API functions of `@duckdb/node-bindings` used here. */
interface RawBindings {
  data_chunk_get_vector(chunk: RawChunk, columnIndex: number): RawVector;
  data_chunk_reset(chunk: RawChunk): void;
  vector_assign_string_element(vector: RawVector, index: number, value: string): void;
  vector_get_data(vector: RawVector, byteCount: number): Uint8Array;
  vector_ensure_validity_writable(vector: RawVector): void;
  copy_data_to_vector: CopyToVector;
  copy_data_to_vector_validity: CopyToVector;
}

const encoder = new TextEncoder();
const STRING_T_BYTES = 16;
const INLINE_BYTES = 12;
const TWO_32 = 4294967296;

let rawBindings: RawBindings | null | undefined;

/** The node-api's own copy of the bindings (same native instance), or null when unreachable. */
function loadRawBindings(): RawBindings | null {
  rawBindings ??= nodeBindings([
    "data_chunk_get_vector",
    "data_chunk_reset",
    "vector_assign_string_element",
    "vector_get_data",
    "copy_data_to_vector",
    "vector_ensure_validity_writable",
    "copy_data_to_vector_validity",
  ]) as RawBindings | null;
  return rawBindings;
}

/** Column kinds a {@link ChunkFiller} can write. */
export type ColumnKind = "varchar" | "double" | "integer" | "bigint" | "timestamptz";

/** Writes one VARCHAR column of a chunk (non-null values only). */
export interface StringColumn {
  set(row: number, value: string): void;
}

/** Writes one numeric column of a chunk. `bigint` and `timestamptz` take safe integers (micros). */
export interface NumberColumn {
  set(row: number, value: number): void;
}

/** Writes one numeric column of a chunk that may hold NULLs. */
export interface NullableNumberColumn {
  set(row: number, value: number | null): void;
}

abstract class RawColumn {
  abstract finish(bindings: RawBindings, vector: RawVector): void;
}

class RawStringColumn extends RawColumn implements StringColumn {
  readonly #rows: number;
  readonly #bytes: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  readonly #dedupe: boolean;
  readonly #first = new Map<string, number>();
  readonly #assigned: number[] = [];
  readonly #copies: number[] = [];
  #bindings: RawBindings;
  #vector: RawVector;

  constructor(rows: number, dedupe: boolean, bindings: RawBindings, vector: RawVector) {
    super();
    this.#rows = rows;
    this.#bytes = new Uint8Array(rows * STRING_T_BYTES);
    this.#view = new DataView(this.#bytes.buffer);
    this.#dedupe = dedupe;
    this.#bindings = bindings;
    this.#vector = vector;
  }

  set(row: number, value: string): void {
    if (this.#dedupe) {
      const first = this.#first.get(value);
      if (first !== undefined) {
        this.#copies.push(row, first);
        return;
      }
      this.#first.set(value, row);
    }
    const offset = row * STRING_T_BYTES;
    if (value.length <= INLINE_BYTES) {
      const result = encoder.encodeInto(value, this.#bytes.subarray(offset + 4, offset + STRING_T_BYTES));
      if (result.read === value.length) {
        this.#view.setUint32(offset, result.written, true);
        return;
      }
      this.#bytes.fill(0, offset + 4, offset + STRING_T_BYTES);
    }
    this.#bindings.vector_assign_string_element(this.#vector, row, value);
    this.#assigned.push(row);
  }

  finish(bindings: RawBindings, vector: RawVector): void {
    const bytes = this.#bytes;
    if (this.#assigned.length > 0) {
      const native = bindings.vector_get_data(vector, this.#rows * STRING_T_BYTES);
      for (const row of this.#assigned) {
        const offset = row * STRING_T_BYTES;
        bytes.set(native.subarray(offset, offset + STRING_T_BYTES), offset);
      }
    }
    const copies = this.#copies;
    for (let i = 0; i < copies.length; i += 2) {
      const from = copies[i + 1] * STRING_T_BYTES;
      bytes.copyWithin(copies[i] * STRING_T_BYTES, from, from + STRING_T_BYTES);
    }
    bindings.copy_data_to_vector(vector, 0, bytes.buffer, 0, bytes.byteLength);
  }
}

class RawNumberColumn extends RawColumn implements NumberColumn {
  readonly #kind: ColumnKind;
  readonly #f64: Float64Array<ArrayBuffer> | undefined;
  readonly #i32: Int32Array<ArrayBuffer> | undefined;
  readonly #u32: Uint32Array<ArrayBuffer> | undefined;

  constructor(kind: ColumnKind, rows: number) {
    super();
    this.#kind = kind;
    if (kind === "double") this.#f64 = new Float64Array(rows);
    else if (kind === "integer") this.#i32 = new Int32Array(rows);
    else {
      this.#u32 = new Uint32Array(rows * 2);
      this.#i32 = new Int32Array(this.#u32.buffer);
    }
  }

  set(row: number, value: number): void {
    if (this.#f64 !== undefined) this.#f64[row] = value;
    else if (this.#u32 === undefined) this.#i32![row] = value;
    else {
      if (!Number.isSafeInteger(value)) {
        throw new RangeError(`${this.#kind} value ${value} is not a safe integer`);
      }
      this.#u32[row * 2] = value >>> 0; // ToUint32 is exact modulo 2^32 for safe integers
      this.#i32![row * 2 + 1] = Math.floor(value / TWO_32);
    }
  }

  finish(bindings: RawBindings, vector: RawVector): void {
    const array = this.#f64 ?? this.#u32 ?? this.#i32!;
    bindings.copy_data_to_vector(vector, 0, array.buffer, 0, array.byteLength);
  }
}

/**
 * A numeric column with NULLs: the values as {@link RawNumberColumn}, plus a validity bitmap (bit
 * set: valid) written whole at finish, so nothing depends on what a reset left in the vector.
 */
class RawNullableNumberColumn extends RawColumn implements NullableNumberColumn {
  readonly #values: RawNumberColumn;
  readonly #validity: Uint8Array<ArrayBuffer>;

  constructor(kind: ColumnKind, rows: number) {
    super();
    this.#values = new RawNumberColumn(kind, rows);
    // DuckDB's validity is uint64 words, bit i of the little-endian word = row i.
    this.#validity = new Uint8Array(Math.ceil(rows / 64) * 8).fill(0xff);
  }

  set(row: number, value: number | null): void {
    if (value === null) this.#validity[row >> 3] &= ~(1 << (row & 7));
    else this.#values.set(row, value);
  }

  finish(bindings: RawBindings, vector: RawVector): void {
    this.#values.finish(bindings, vector);
    bindings.vector_ensure_validity_writable(vector);
    const validity = this.#validity;
    bindings.copy_data_to_vector_validity(vector, 0, validity.buffer, 0, validity.byteLength);
  }
}

/** Fallback columns on top of the `@duckdb/node-api` vectors. */
class ApiStringColumn implements StringColumn {
  constructor(readonly vector: DuckDBVector) {}
  set(row: number, value: string): void {
    this.vector.setItem(row, value);
  }
}

class ApiNumberColumn implements NullableNumberColumn {
  constructor(readonly vector: DuckDBVector, readonly kind: ColumnKind) {}
  set(row: number, value: number | null): void {
    if (value === null) this.vector.setItem(row, null);
    else if (this.kind === "double" || this.kind === "integer") this.vector.setItem(row, value);
    else if (this.kind === "bigint") this.vector.setItem(row, BigInt(value));
    else this.vector.setItem(row, new DuckDBTimestampTZValue(BigInt(value)));
  }
}

/**
 * One data chunk of fixed column types, created once and refilled for every append (the appender
 * copies a chunk's rows, so the chunk is free again as soon as it is appended).
 *
 * Why: every native handle `@duckdb/node-bindings` returns (a chunk, each column's logical type,
 * each vector) is a Node-API external, and Deno 2.9's `napi_create_external` never frees its
 * 16-byte wrapper: 32 bytes of malloc per handle, forever. A fresh chunk per append made ~18
 * handles per append (~1 MB an hour per append a second); a reused chunk makes none.
 */
export class ReusableChunk {
  /** The chunk, at full capacity (2048 rows). */
  readonly chunk: DuckDBDataChunk;
  /** The columns' vector handles, fetched on first use (they stay valid across resets). */
  readonly vectors: RawVector[] = [];

  /** A chunk with the given column types. */
  constructor(types: readonly DuckDBType[]) {
    this.chunk = DuckDBDataChunk.create(types);
  }
}

/** Fills the columns of one data chunk; call {@link finish} before appending it. */
export class ChunkFiller {
  /** The chunk being filled. */
  readonly chunk: DuckDBDataChunk;
  readonly #bindings: RawBindings | null;
  readonly #reused: ReusableChunk | undefined;
  readonly #raw: [RawColumn, RawVector][] = [];
  readonly #api: DuckDBVector[] = [];

  /**
   * A chunk of `rows` rows (at most 2048) with the given column types: `reuse` when given (its
   * types must be `types`) and the raw path is on, else a new one.
   */
  constructor(types: readonly DuckDBType[], rows: number, raw: boolean, reuse?: ReusableChunk) {
    this.#bindings = raw ? loadRawBindings() : null;
    if (this.#bindings !== null && reuse !== undefined) {
      this.#bindings.data_chunk_reset(reuse.chunk.chunk);
      reuse.chunk.rowCount = rows;
      this.#reused = reuse;
      this.chunk = reuse.chunk;
    } else {
      this.chunk = DuckDBDataChunk.create(types, rows);
    }
  }

  /** Writer for a VARCHAR column; `dedupe` shares repeated strings within the chunk. */
  strings(column: number, dedupe = true): StringColumn {
    const bindings = this.#bindings;
    if (bindings === null) return this.#apiColumn(column, (v) => new ApiStringColumn(v));
    const vector = this.#vector(bindings, column);
    const writer = new RawStringColumn(this.chunk.rowCount, dedupe, bindings, vector);
    this.#raw.push([writer, vector]);
    return writer;
  }

  /** Writer for a numeric column. */
  numbers(column: number, kind: Exclude<ColumnKind, "varchar">): NumberColumn {
    return this.#numberColumn(column, kind, RawNumberColumn);
  }

  /** Writer for a numeric column that may hold NULLs. */
  nullableNumbers(column: number, kind: Exclude<ColumnKind, "varchar">): NullableNumberColumn {
    return this.#numberColumn(column, kind, RawNullableNumberColumn);
  }

  #numberColumn<T extends RawColumn>(
    column: number,
    kind: Exclude<ColumnKind, "varchar">,
    Raw: new (kind: ColumnKind, rows: number) => T,
  ): T | ApiNumberColumn {
    const bindings = this.#bindings;
    if (bindings === null) return this.#apiColumn(column, (v) => new ApiNumberColumn(v, kind));
    const writer = new Raw(kind, this.chunk.rowCount);
    this.#raw.push([writer, this.#vector(bindings, column)]);
    return writer;
  }

  #vector(bindings: RawBindings, column: number): RawVector {
    const reused = this.#reused;
    if (reused === undefined) return bindings.data_chunk_get_vector(this.chunk.chunk, column);
    return reused.vectors[column] ??= bindings.data_chunk_get_vector(reused.chunk.chunk, column);
  }

  /** A nullable column through the node-api vector (for rarely used columns). */
  vector(column: number): DuckDBVector {
    const vector = this.chunk.getColumnVector(column);
    this.#api.push(vector);
    return vector;
  }

  /** Copies every column into the chunk. */
  finish(): DuckDBDataChunk {
    const bindings = this.#bindings;
    if (bindings !== null) { for (const [column, vector] of this.#raw) column.finish(bindings, vector); }
    for (const vector of this.#api) vector.flush();
    return this.chunk;
  }

  #apiColumn<T>(column: number, make: (vector: DuckDBVector) => T): T {
    return make(this.vector(column));
  }
}

let verified: Promise<boolean> | undefined;

/**
 * Whether the raw chunk path is available and writes exactly what the node-api path writes, checked
 * once per process by a round trip through a temporary table on `conn`.
 */
export function rawChunksVerified(conn: DuckDBConnection): Promise<boolean> {
  verified ??= verifyRaw(conn).catch(() => false);
  return verified;
}

async function verifyRaw(conn: DuckDBConnection): Promise<boolean> {
  if (loadRawBindings() === null) return false;
  const samples = [
    "",
    "a",
    "host-a",
    "exactly12byt",
    "thirteen-byte",
    "é-unicode-ü",
    "日本語テキスト",
    '{"env":"prod","dc":"dc1"}',
    "thirteen-byte",
    "a",
    "ingest.raw.agent:0:12345:0",
    "é-unicode-ü",
    "😀😀😀",
  ];
  const numbers = [
    0,
    1,
    -1,
    2 ** 40 + 7,
    -(2 ** 40) - 7,
    1761040800000000,
    Number.MAX_SAFE_INTEGER,
    -123456789,
  ];
  const rows = Math.max(samples.length, numbers.length);
  const table = `eventops_chunk_check_${crypto.randomUUID().replaceAll("-", "")}`;
  await conn.run(
    `CREATE TEMP TABLE ${table} (a VARCHAR, b VARCHAR, c BIGINT, d TIMESTAMPTZ, e DOUBLE, f INTEGER, g TIMESTAMPTZ)`,
  );
  try {
    const types = [VARCHAR, VARCHAR, BIGINT, TIMESTAMPTZ, DOUBLE, INTEGER, TIMESTAMPTZ];
    const raw = new ChunkFiller(types, rows, true);
    const a = raw.strings(0, true);
    const b = raw.strings(1, false);
    const c = raw.numbers(2, "bigint");
    const d = raw.numbers(3, "timestamptz");
    const e = raw.numbers(4, "double");
    const f = raw.numbers(5, "integer");
    const g = raw.nullableNumbers(6, "timestamptz");
    const nullAt = (r: number) => r % 3 === 1;
    for (let r = 0; r < rows; r++) {
      const s = samples[r % samples.length];
      const n = numbers[r % numbers.length];
      a.set(r, s);
      b.set(r, s);
      c.set(r, n);
      d.set(r, n);
      e.set(r, n / 3);
      f.set(r, r * -7);
      g.set(r, nullAt(r) ? null : n);
    }
    const appender = await conn.createAppender(table, "main", "temp");
    try {
      appender.appendDataChunk(raw.finish());
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
    const reader = await conn.runAndReadAll(
      `SELECT a, b, c::VARCHAR, epoch_us(d)::VARCHAR, e, f, epoch_us(g)::VARCHAR FROM temp.${table} ORDER BY rowid`,
    );
    const got = reader.getRows();
    if (got.length !== rows) return false;
    for (let r = 0; r < rows; r++) {
      const s = samples[r % samples.length];
      const n = numbers[r % numbers.length];
      const [ga, gb, gc, gd, ge, gf, gg] = got[r];
      if (ga !== s || gb !== s || gc !== String(n) || gd !== String(n) || ge !== n / 3 || gf !== r * -7) {
        return false;
      }
      if (gg !== (nullAt(r) ? null : String(n))) return false;
    }
    return true;
  } finally {
    await conn.run(`DROP TABLE IF EXISTS temp.${table}`);
  }
}
