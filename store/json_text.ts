/**
 * JSON text DuckDB can read back. `JSON.stringify` writes a lone UTF-16 surrogate (a string that is
 * not valid Unicode) as an escape such as `\udfff`; DuckDB's JSON reader refuses that text, so one
 * such value stored in a JSON column made every later read of its rows fail. The store writes
 * U+FFFD in its place (a well-formed pair is never escaped by `JSON.stringify`, so every surrogate
 * escape it writes is a lone one).
 *
 * @module
 */

/** A surrogate escape preceded by an even number of backslashes (an odd one would escape the `\`). */
const LONE_SURROGATE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u[dD][89a-fA-F][0-9a-fA-F]{2}/g;

/** `text` (JSON from `JSON.stringify`) with lone surrogate escapes replaced by `\ufffd`. */
export function readableJsonText(text: string): string {
  return text.includes("\\u") ? text.replace(LONE_SURROGATE_ESCAPE, "$1\\ufffd") : text;
}

/** `JSON.stringify(value)` as JSON text DuckDB can read back (see {@link readableJsonText}). */
export function stringifyReadable(value: unknown): string {
  return readableJsonText(JSON.stringify(value));
}

/**
 * SQL reading a JSON column as JSON that DuckDB can read back: a text an older agent stored with a
 * lone surrogate escape (see above) would fail the whole read (and a Parquet export of it every read
 * of the file); its surrogate escapes become U+FFFD. Only a text with a `\u` escape is checked, so
 * the common case costs one scan for a backslash; anything still unreadable reads as NULL.
 */
export function readableJson(column: string): string {
  return `CASE WHEN NOT contains(${column}::VARCHAR, '\\u') OR json_valid(${column}) THEN ${column}::JSON ELSE
    TRY_CAST(regexp_replace(${column}::VARCHAR, '\\\\u[dD][89a-fA-F][0-9a-fA-F]{2}', '\\\\ufffd', 'g') AS JSON) END`;
}
