/**
 * Refuses read-only SQL that would build huge values before DuckDB runs it (pure: works on DuckDB's
 * own parse tree, `json_serialize_sql`).
 *
 * Why: DuckDB's `memory_limit` bounds the buffer-managed memory (sorts, joins, aggregates), not
 * every allocation. Measured on DuckDB 1.5.6 with `memory_limit = 128MB`: `SELECT
 * repeat('x', 1000000000)` takes 4 GB while it is *prepared* (the optimizer folds the constant; no
 * interrupt reaches it); `length(range(300000000))` 19 GB; `lpad`/`rpad`, `printf`/`format` widths,
 * `list_resize`, a growing `replace`/`regexp_replace` and a `list_transform` lambda build their
 * values outside the limit too; and a value projected over rows is copied into every row of a
 * 2,048-row chunk (`SELECT repeat('x', 1000000) FROM range(3000)`: 2 GB). `string_agg`, `list`
 * and `concat` stay within the limit.
 *
 * So every call of those generating functions gets a size estimate, bottom-up: a literal is its
 * length; a column holds at most {@link STORED_VALUE_BYTES} (the largest value the normalize limits
 * let into the store: 32 tags of 256 characters as JSON; less for tenant, host, …), or what a CTE
 * or subquery computes for it (estimated to a fixpoint); a collecting aggregate (`string_agg`,
 * `list`, …) or a value read from a file is unbounded. Sizes, counts and widths must be number
 * literals (or arithmetic on them). A generated value may take `maxValueBytes` in a SELECT without
 * FROM (one row); over rows, each generated value and the values a select list generates per row
 * together may take 1/{@link PER_ROW_SHARE} of it, so a chunk of rows stays within
 * {@link CHUNK_ROWS} / {@link PER_ROW_SHARE} (64) times `maxValueBytes`. Stored values do not count
 * toward that: their size is the data's.
 *
 * This bounds the shapes measured, not every conceivable one: the runtime budgets (timeout, memory
 * growth, result bytes; see `store/user_query.ts`) are the second line.
 *
 * Over 500 lines on purpose: the estimate is one recursive walk whose rules (literals, columns,
 * each generating function, lambdas, the per-row share) call one another; split, each file would
 * only make sense with the others open.
 *
 * @module
 */
import { formatBytes } from "../lib/size.ts";

/** Over rows, a row's generated values may take this share of the value budget. */
export const PER_ROW_SHARE = 32;
/** Rows of one DuckDB chunk (`STANDARD_VECTOR_SIZE`). */
export const CHUNK_ROWS = 2048;
/** The most bytes one stored value (a column of a row) can hold: tags, 32 of 256 characters, as JSON. */
export const STORED_VALUE_BYTES = 16 * 1024;
/**
 * Smaller bounds of the store's own columns, by name (normalize limits tenant and host to 256
 * characters, metric names to 128); a CTE or subquery column of the same name is covered by the
 * fixpoint over what they compute.
 */
const STORED_COLUMN_BYTES: Readonly<Record<string, number>> = {
  tenant: 1024,
  host: 1024,
  metric: 512,
  id: 1024,
  src_topic: 1024,
  value: 32,
  ts: 32,
  ts_ingest: 32,
  date: 16,
  tier: 8,
  src_partition: 16,
  src_offset: 32,
  src_index: 16,
  seq: 32,
  severity: 16,
  state: 16,
};
/** Bytes one list element or number is counted as. */
const ELEMENT_BYTES = 16;
/** UTF-8 bytes one character can take (lpad/rpad count characters). */
const CHAR_BYTES = 4;
/** Rounds of the column-size fixpoint (each CTE or subquery level can feed the next). */
const ROUNDS = 8;

/** Limits the guard applies. */
export interface GuardLimits {
  /** Largest value built from literals (a per-row value: 1/{@link PER_ROW_SHARE} of it). */
  maxValueBytes: number;
  /** Characters before the parsed text in the SQL as sent (added to reported positions). */
  positionOffset?: number;
}

/** Why a statement is refused. */
export interface GuardRefusal {
  /** The function whose value would be too large. */
  function: string;
  /** 1-based character position of the call in the SQL, when DuckDB knows it. */
  position?: number;
  /** The estimated size (bytes; Infinity when unbounded). */
  bytes: number;
  /** What to change, user-facing. */
  message: string;
}

type Node = { readonly [key: string]: unknown };

interface Estimate {
  /** Most bytes of the value. */
  bytes: number;
  /** Of them, bytes the statement itself generates (literals, generating functions), not stored data. */
  generated: number;
  /** Of them, bytes taken from a column of another query (a join or unnest copies them into many rows). */
  copied: number;
}

const NOTHING: Estimate = { bytes: 0, generated: 0, copied: 0 };
/** A number, a boolean, a time: a value of fixed size. */
const SCALAR: Estimate = { bytes: 16, generated: 0, copied: 0 };
/** OPERATOR types whose value is a boolean. */
const BOOLEAN_OPERATORS = new Set([
  "OPERATOR_NOT",
  "OPERATOR_IS_NULL",
  "OPERATOR_IS_NOT_NULL",
  "COMPARE_IN",
  "COMPARE_NOT_IN",
]);
/** Functions whose value is a number or a time, whatever their arguments. */
const NUMERIC = new Set([
  "count",
  "count_star",
  "sum",
  "avg",
  "mean",
  "median",
  "stddev",
  "stddev_samp",
  "stddev_pop",
  "variance",
  "var_samp",
  "var_pop",
  "quantile_cont",
  "approx_count_distinct",
  "row_number",
  "rank",
  "dense_rank",
  "percent_rank",
  "cume_dist",
  "ntile",
  "length",
  "strlen",
  "octet_length",
  "array_length",
  "len",
  "hash",
  "epoch",
  "epoch_ms",
  "epoch_us",
  "abs",
  "round",
  "floor",
  "ceil",
  "date_part",
  "extract",
  "date_diff",
  "datediff",
  "date_trunc",
  "time_bucket",
  "to_timestamp",
  "make_timestamptz",
  "now",
  "current_timestamp",
]);
const UNKNOWN_POSITION = 2 ** 53;

/** Aggregates whose value grows with the rows (bounded by DuckDB's memory_limit, not by a size). */
const COLLECTING = new Set([
  "string_agg",
  "group_concat",
  "listagg",
  "list",
  "array_agg",
  "histogram",
  "histogram_exact",
  "json_group_array",
  "json_group_object",
  "json_group_structure",
  "map_agg",
]);
/** Table functions whose values come from files of any size. */
const FILE_READERS = new Set([
  "read_text",
  "read_blob",
  "read_csv",
  "read_csv_auto",
  "sniff_csv",
  "read_json",
  "read_json_auto",
  "read_json_objects",
  "read_json_objects_auto",
  "read_ndjson",
  "read_ndjson_auto",
  "read_ndjson_objects",
]);
const LIST_LAMBDAS = new Set(["list_transform", "array_transform", "apply", "list_apply", "array_apply"]);
const LIST_REDUCERS = new Set(["list_reduce", "array_reduce", "reduce"]);
const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  "+": (a, b) => a + b,
  "-": (a, b) => a - b,
  "*": (a, b) => a * b,
  "/": (a, b) => a / b,
  "//": (a, b) => Math.floor(a / b),
  "%": (a, b) => a % b,
  "**": (a, b) => a ** b,
  "^": (a, b) => a ** b,
  "<<": (a, b) => a * 2 ** b,
};

const encoder = new TextEncoder();

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function children(node: Node): Node[] {
  return Array.isArray(node.children) ? node.children.filter(isNode) : [];
}

function nameOf(node: Node): string {
  return typeof node.function_name === "string" ? node.function_name.toLowerCase() : "";
}

function positionOf(node: Node): number | undefined {
  const at = node.query_location;
  return typeof at === "number" && at < UNKNOWN_POSITION ? at + 1 : undefined;
}

/** The constant of a CONSTANT node (undefined otherwise, and for NULL). */
function constantOf(node: Node): { value: unknown; type: Node } | undefined {
  if (node.class !== "CONSTANT" || !isNode(node.value)) return undefined;
  const { value, type, is_null } = node.value;
  if (is_null === true) return undefined;
  return { value, type: isNode(type) ? type : {} };
}

/** The number a literal expression stands for (arithmetic and casts of literals included). */
export function literalNumber(node: Node): number | undefined {
  const constant = constantOf(node);
  if (constant !== undefined) {
    const { value, type } = constant;
    if (typeof value === "number") {
      const scale = isNode(type.type_info) ? Number(type.type_info.scale ?? 0) : 0;
      return type.id === "DECIMAL" && scale > 0 ? value / 10 ** scale : value;
    }
    if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) {
      return Number(value);
    }
    if (isNode(value) && typeof value.upper === "number") return value.upper * 2 ** 64; // HUGEINT
    return undefined;
  }
  if (node.class === "CAST" && isNode(node.child)) return literalNumber(node.child);
  if (node.class === "FUNCTION") {
    const args = children(node);
    const op = ARITHMETIC[nameOf(node)];
    if (nameOf(node) === "-" && args.length === 1) {
      const value = literalNumber(args[0]);
      return value === undefined ? undefined : -value;
    }
    if (op !== undefined && args.length === 2) {
      const a = literalNumber(args[0]);
      const b = literalNumber(args[1]);
      return a === undefined || b === undefined ? undefined : op(a, b);
    }
  }
  return undefined;
}

/** The text of a string literal (through casts), or undefined. */
function literalString(node: Node): string | undefined {
  const constant = constantOf(node);
  if (constant !== undefined) return typeof constant.value === "string" ? constant.value : undefined;
  if (node.class === "CAST" && isNode(node.child)) return literalString(node.child);
  return undefined;
}

function utf8Bytes(text: string): number {
  return text.length < 1024 ? encoder.encode(text).length : text.length * 3;
}

class Refused extends Error {
  constructor(readonly refusal: GuardRefusal) {
    super(refusal.message);
  }
}

/** What the collector found in a statement. */
interface Collected {
  /** Every expression node, with the rows per chunk of the SELECT it is in (1 without FROM). */
  expressions: Map<Node, number>;
  /**
   * Select lists with the rows per chunk of their SELECT, and whether it copies a value into many
   * rows (a join, or unnest in the select list).
   */
  selectLists: { items: Node[]; rows: number; replicates: boolean }[];
  /** Select-list items of CTEs and subqueries: what columns can hold. */
  feeders: Node[];
  /** Whether a table function reads files (their values are unbounded). */
  readsFiles: boolean;
  /** Deepest nesting of queries (CTEs, subqueries): the rounds the column fixpoint needs. */
  depth: number;
}

/** One round of estimates, with what CTEs and subqueries were estimated to put into columns. */
class Estimator {
  readonly #memo = new Map<Node, Estimate>();

  /**
   * @param fed what CTEs and subqueries can put into a column (this round's estimate)
   * @param storedBytes the most bytes of a stored value
   * @param scope lambda parameters in scope (their bytes are counted where the lambda is)
   */
  constructor(
    readonly limits: GuardLimits,
    readonly found: Collected,
    readonly fed: Estimate,
    readonly storedBytes: number,
    readonly scope: ReadonlySet<string> = new Set(),
  ) {}

  expr(node: Node): Estimate {
    const known = this.#memo.get(node);
    if (known !== undefined) return known;
    const estimate = this.#compute(node);
    this.#memo.set(node, estimate);
    return estimate;
  }

  /** Refuses a select list that generates too much per row (it is copied into every row of a chunk). */
  checkSelectList(items: readonly Node[], rows: number, replicates: boolean): void {
    if (rows <= 1 || items.length === 0) return;
    for (const item of items) {
      const perRow = replicates || item.class === "WINDOW" || item.class === "SUBQUERY";
      if (perRow && this.expr(item).copied === Infinity) {
        this.#refuse(
          item,
          "",
          Infinity,
          `the select list at ${this.#where(item)} copies a value of unbounded size (an aggregate such as ` +
            "string_agg or list, or a file's contents) into many rows (through a join, unnest, a window or a " +
            "scalar subquery); aggregate after the join instead, or measure it (e.g. length(...)) where it is made",
        );
      }
    }
    const generated = items.reduce((sum, item) => sum + this.expr(item).generated, 0);
    const limit = this.limits.maxValueBytes / PER_ROW_SHARE;
    if (!(generated <= limit)) {
      const first = items[0];
      this.#refuse(
        first,
        "",
        generated,
        `the select list at ${this.#where(first)} generates ${this.#size(generated)} per row, copied into ` +
          `each of a chunk's ${CHUNK_ROWS} rows; the limit is ${
            formatBytes(limit)
          } per row (1/${PER_ROW_SHARE} of ` +
          `store.query.max_value_bytes, ${
            formatBytes(this.limits.maxValueBytes)
          }). Select shorter literals or ` +
          "generated values, or compute a large value once in a SELECT without FROM",
      );
    }
  }

  #column(node: Node): Estimate {
    const names = Array.isArray(node.column_names) ? node.column_names : [];
    const name = typeof names[names.length - 1] === "string" ? String(names[names.length - 1]) : "";
    if (names.length === 1 && this.scope.has(name)) return NOTHING;
    const stored = Number.isFinite(this.storedBytes)
      ? STORED_COLUMN_BYTES[name.toLowerCase()] ?? this.storedBytes
      : this.storedBytes;
    return { bytes: Math.max(stored, this.fed.bytes), generated: this.fed.generated, copied: this.#copied() };
  }

  /** What a column of another query (or a file) can carry into this one. */
  #copied(): number {
    return this.storedBytes === Infinity ? Infinity : this.fed.bytes;
  }

  #compute(node: Node): Estimate {
    switch (node.class) {
      case "CONSTANT": {
        const constant = constantOf(node);
        if (constant === undefined) return NOTHING;
        const { value } = constant;
        const bytes = typeof value === "string" ? utf8Bytes(value) : JSON.stringify(value)?.length ?? 0;
        return { bytes, generated: bytes, copied: 0 };
      }
      case "COLUMN_REF":
      case "LAMBDA_REF":
        return this.#column(node);
      case "STAR":
      case "POSITIONAL_REFERENCE":
      case "SUBQUERY":
      case "PARAMETER":
        return {
          bytes: Math.max(this.storedBytes, this.fed.bytes),
          generated: this.fed.generated,
          copied: this.#copied(),
        };
      case "FUNCTION":
        return this.#function(node);
      case "WINDOW":
        // A collecting window function gives every row its own (possibly whole-partition) collection;
        // another one a value of its arguments (partitions and orders only choose rows).
        return COLLECTING.has(nameOf(node))
          ? { bytes: Infinity, generated: 0, copied: Infinity }
          : this.#sumOf(children(node));
      case "COMPARISON":
      case "CONJUNCTION":
      case "BETWEEN":
        return SCALAR;
      case "OPERATOR":
        return BOOLEAN_OPERATORS.has(String(node.type)) ? SCALAR : this.#sum(node);
      case "LAMBDA":
        return isNode(node.expr) ? this.expr(node.expr) : NOTHING;
      default:
        return this.#sum(node);
    }
  }

  /** Sum of the estimates of `nodes`. */
  #sumOf(nodes: readonly Node[]): Estimate {
    let bytes = 0;
    let generated = 0;
    let copied = 0;
    for (const node of nodes) {
      const e = this.expr(node);
      bytes += e.bytes;
      generated += e.generated;
      copied += e.copied;
    }
    return { bytes, generated, copied };
  }

  /** Sum of the estimates of every expression directly below `node` (a conservative default). */
  #sum(node: Node): Estimate {
    let bytes = 0;
    let generated = 0;
    let copied = 0;
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) {
        for (const item of value) visit(item);
      } else if (isNode(value)) {
        if (typeof value.class === "string") {
          const e = this.expr(value);
          bytes += e.bytes;
          generated += e.generated;
          copied += e.copied;
        } else {
          for (const inner of Object.values(value)) visit(inner);
        }
      }
    };
    for (const [key, value] of Object.entries(node)) {
      if (key !== "value" && key !== "cast_type" && key !== "type") visit(value);
    }
    return { bytes, generated, copied };
  }

  #function(node: Node): Estimate {
    const name = nameOf(node);
    const args = children(node);
    if (COLLECTING.has(name)) return { bytes: Infinity, generated: 0, copied: 0 };
    if (NUMERIC.has(name)) return SCALAR;
    // The value is made of the arguments (a FILTER or ORDER BY only chooses and orders rows).
    const base = this.#sumOf(args);
    const arg = (i: number): Estimate => (args[i] === undefined ? NOTHING : this.expr(args[i]));
    const count = (i: number, what: string): number => {
      const value = args[i] === undefined ? undefined : literalNumber(args[i]);
      if (value === undefined || Number.isNaN(value)) {
        this.#refuse(
          node,
          name,
          NaN,
          `${name}() at ${this.#where(node)}: its ${what} must be a number literal (or arithmetic on ` +
            "literals), so the size of the value it builds is known before it runs",
        );
      }
      return Math.max(0, value as number);
    };
    switch (name) {
      case "repeat":
        return this.#check(node, arg(0).bytes * count(1, "count"), "count");
      case "lpad":
      case "rpad":
        return this.#check(node, CHAR_BYTES * count(1, "length"), "length");
      case "list_resize":
      case "array_resize":
        return this.#check(node, count(1, "size") * Math.max(ELEMENT_BYTES, arg(2).bytes), "size");
      case "bitstring":
        return this.#check(node, arg(0).bytes + count(1, "length") / 8, "length");
      case "range":
      case "generate_series": {
        const numbers = args.map((a) => literalNumber(a));
        if (numbers.some((n) => n === undefined)) {
          this.#refuse(
            node,
            name,
            NaN,
            `${name}() at ${this.#where(node)} as a list value needs number literals for its bounds; to ` +
              `generate rows use the table function instead (FROM ${name}(...), streamed and counted as rows)`,
          );
        }
        const [a, b, step] = numbers.length === 1
          ? [0, numbers[0]!, 1]
          : [numbers[0]!, numbers[1]!, numbers[2] ?? 1];
        const elements = step === 0 ? Infinity : Math.max(0, Math.ceil((b - a) / step));
        return this.#check(node, elements * ELEMENT_BYTES, "range");
      }
      case "printf":
      case "format": {
        const format = args[0] === undefined ? undefined : literalString(args[0]);
        if (format === undefined) {
          this.#refuse(
            node,
            name,
            NaN,
            `${name}() at ${this.#where(node)}: the format must be a string literal`,
          );
        }
        const widths = [...(format as string).matchAll(/\d+/g)].reduce((sum, m) => sum + Number(m[0]), 0);
        return this.#check(node, base.bytes + widths, "widths in the format");
      }
      case "replace": {
        const from = args[1] === undefined ? undefined : literalString(args[1]);
        const to = args[2] === undefined ? undefined : literalString(args[2]);
        const toBytes = to === undefined ? arg(2).bytes : utf8Bytes(to);
        const growth = from !== undefined && from !== "" ? Math.ceil(toBytes / utf8Bytes(from)) : toBytes;
        return this.#check(node, arg(0).bytes * Math.max(1, growth), "replacement");
      }
      case "regexp_replace": {
        const replacement = args[2] === undefined ? undefined : literalString(args[2]);
        const rBytes = replacement === undefined ? arg(2).bytes : utf8Bytes(replacement);
        const flags = args[3] === undefined ? "" : literalString(args[3]);
        const global = flags === undefined || flags.includes("g");
        return this.#check(
          node,
          global ? arg(0).bytes * (rBytes + 1) + rBytes : arg(0).bytes + rBytes,
          "replacement",
        );
      }
      default:
        break;
    }
    if (LIST_LAMBDAS.has(name) || LIST_REDUCERS.has(name)) {
      const lambda = args[1];
      if (lambda === undefined || lambda.class !== "LAMBDA" || !isNode(lambda.expr)) return base;
      const params = lambdaParams(lambda);
      if (
        LIST_REDUCERS.has(name) && params.length > 0 && referenceCount(lambda.expr, new Set([params[0]])) > 1
      ) {
        this.#refuse(
          node,
          name,
          Infinity,
          `${name}() at ${this.#where(node)}: its lambda uses the accumulator more than once, so the ` +
            "value can double with every element; use the accumulator once",
        );
      }
      // Each use of a parameter copies (at most) the list's bytes; the rest of the body is added per
      // element (at least a byte each).
      const uses = referenceCount(lambda.expr, new Set(params));
      const own = new Estimator(this.limits, this.found, this.fed, this.storedBytes, new Set(params))
        .expr(lambda.expr);
      const list = arg(0).bytes;
      return this.#check(node, list * Math.max(1, uses) + list * own.bytes, "lambda's value");
    }
    return base;
  }

  #rows(node: Node): number {
    return this.found.expressions.get(node) ?? CHUNK_ROWS;
  }

  #where(node: Node): string {
    const at = this.#position(node);
    return at === undefined ? "in the query" : `character ${at}`;
  }

  #position(node: Node): number | undefined {
    const at = positionOf(node);
    return at === undefined ? undefined : at + (this.limits.positionOffset ?? 0);
  }

  #size(bytes: number): string {
    return Number.isFinite(bytes)
      ? `up to ${formatBytes(bytes)}`
      : "unbounded amounts (its input is a column, an aggregate or a file of any size)";
  }

  /** Refuses a generated value over the limit (per row when the SELECT has rows). */
  #check(node: Node, bytes: number, what: string): Estimate {
    const overRows = this.#rows(node) > 1;
    const limit = overRows ? this.limits.maxValueBytes / PER_ROW_SHARE : this.limits.maxValueBytes;
    if (!(bytes <= limit)) {
      const name = nameOf(node);
      const scope = overRows
        ? `per row (1/${PER_ROW_SHARE} of store.query.max_value_bytes, ${
          formatBytes(this.limits.maxValueBytes)
        }, ` +
          `as each of a chunk's ${CHUNK_ROWS} rows gets one)`
        : "(store.query.max_value_bytes)";
      const size = Number.isFinite(bytes)
        ? `a value of up to ${formatBytes(bytes)}`
        : "a value of unbounded size (its input is a column, an aggregate or a file of any size)";
      this.#refuse(
        node,
        name,
        bytes,
        `${name}() at ${this.#where(node)} could build ${size}; the limit is ${
          formatBytes(limit)
        } ${scope}. ` +
          `Use a smaller ${what}, or apply ${name}() to shorter values (e.g. left(x, 100))` +
          (overRows ? " or in a SELECT without FROM" : ""),
      );
    }
    return { bytes, generated: bytes, copied: 0 };
  }

  #refuse(node: Node, name: string, bytes: number, message: string): never {
    throw new Refused({ function: name, position: this.#position(node), bytes, message });
  }
}

/** The parameter names of a lambda (`x -> …`, `(acc, x) -> …`). */
function lambdaParams(lambda: Node): string[] {
  const lhs = isNode(lambda.lhs) ? lambda.lhs : {};
  const refs = lhs.class === "COLUMN_REF" ? [lhs] : children(lhs);
  return refs.flatMap((ref) =>
    Array.isArray(ref.column_names) && typeof ref.column_names[0] === "string" ? [ref.column_names[0]] : []
  );
}

/** How many times `body` reads one of `names` (a lambda's parameters). */
function referenceCount(body: unknown, names: ReadonlySet<string>): number {
  let uses = 0;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isNode(value)) {
      const refs = value.column_names;
      if (
        (value.class === "COLUMN_REF" || value.class === "LAMBDA_REF") && Array.isArray(refs) &&
        refs.length === 1 && names.has(String(refs[0]))
      ) uses++;
      else Object.values(value).forEach(visit);
    }
  };
  visit(body);
  return uses;
}

/** Rows per chunk of a SELECT: 1 without FROM, else a chunk's. */
function rowsOf(select: Node): number {
  const from = select.from_table;
  return !isNode(from) || from.type === "EMPTY" ? 1 : CHUNK_ROWS;
}

function collect(statements: readonly unknown[]): Collected {
  const out: Collected = {
    expressions: new Map(),
    selectLists: [],
    feeders: [],
    readsFiles: false,
    depth: 0,
  };
  /**
   * `rows`: rows per chunk of the enclosing SELECT; `own`: whether this is the statement's own
   * SELECT (its select list is the result, the only one that does not feed a column).
   */
  const visit = (value: unknown, rows: number, own: boolean, depth = 0): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, rows, false, depth);
      return;
    }
    if (!isNode(value)) return;
    if (typeof value.class === "string") out.expressions.set(value, rows);
    if (value.type === "TABLE_FUNCTION" && isNode(value.function)) {
      const fn = value.function;
      if (FILE_READERS.has(nameOf(fn))) out.readsFiles = true;
      // The table function itself streams rows; its arguments are expressions.
      for (const arg of children(fn)) visit(arg, rows, false, depth);
      for (const [key, inner] of Object.entries(value)) {
        if (key !== "function") visit(inner, rows, false, depth);
      }
      return;
    }
    const innerRows = value.type === "SELECT_NODE" ? rowsOf(value) : rows;
    const innerDepth = value.type === "SELECT_NODE" ? depth + 1 : depth;
    out.depth = Math.max(out.depth, innerDepth);
    if (value.type === "SELECT_NODE" && Array.isArray(value.select_list)) {
      const items = value.select_list.filter(isNode);
      const from = value.from_table;
      const replicates = (isNode(from) && from.type === "JOIN") ||
        items.some((item) => item.class === "FUNCTION" && nameOf(item) === "unnest");
      out.selectLists.push({ items, rows: innerRows, replicates });
      if (!own) out.feeders.push(...items);
    }
    for (const inner of Object.values(value)) visit(inner, innerRows, false, innerDepth);
  };
  for (const statement of statements) {
    if (isNode(statement)) visit(statement.node, 1, true);
  }
  return out;
}

/**
 * Checks a statement's parse tree (the parsed output of DuckDB's `json_serialize_sql`): returns why
 * it is refused, or undefined when every generating call stays within the limits.
 */
export function guardQuery(tree: unknown, limits: GuardLimits): GuardRefusal | undefined {
  if (!isNode(tree) || !Array.isArray(tree.statements)) return undefined;
  const found = collect(tree.statements);
  const storedBytes = found.readsFiles ? Infinity : STORED_VALUE_BYTES;
  let fed: Estimate = NOTHING;
  // Each round carries what a query computes one level up; sibling queries share one estimate, so
  // more rounds than levels would only feed it back into itself.
  for (let round = 0; round < Math.min(ROUNDS, Math.max(1, found.depth)); round++) {
    const estimator = new Estimator(limits, found, fed, storedBytes);
    try {
      for (const expression of found.expressions.keys()) estimator.expr(expression);
      for (const { items, rows, replicates } of found.selectLists) {
        estimator.checkSelectList(items, rows, replicates);
      }
    } catch (error) {
      if (error instanceof Refused) return error.refusal;
      throw error;
    }
    const next = found.feeders.reduce((max, item) => {
      const e = estimator.expr(item);
      return {
        bytes: Math.max(max.bytes, e.bytes),
        generated: Math.max(max.generated, e.generated),
        copied: 0,
      };
    }, NOTHING);
    if (!(next.bytes > fed.bytes || next.generated > fed.generated)) return undefined;
    fed = next;
  }
  return undefined;
}
