/**
 * YAML documents validated by a zod schema with errors that name the file, the line, the key path
 * and what was expected: `rules.yaml:4:14: rules[0].warning: expected a number, got "x"` (the
 * definition files), and the position of a key path for other errors ({@link lineOf}: the config).
 *
 * Note: the `yaml` package reads `process.env.LOG_TOKENS`/`LOG_STREAM`; under Deno run with
 * `--ignore-env` (or an env allow-list including them), else parsing throws `NotCapable`.
 *
 * @module
 */
import { isMap, isPair, isScalar, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { showValue } from "../lib/format.ts";

/** A definition file (inventory, rules, rule tests) that failed to parse or validate. */
export class SpecError extends Error {
  override name = "SpecError";
  /** One line per problem, each starting with the file (and line when known). */
  readonly problems: readonly string[];

  /** Builds the error from its problem lines (the message joins them). */
  constructor(problems: readonly string[]) {
    super(problems.join("\n"));
    this.problems = problems;
  }
}

/** Formats a zod issue path as `rules[0].match.tags.env`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(top level)" : out;
}

type Document = ReturnType<typeof parseDocument>;

function locate(doc: Document, counter: LineCounter, path: readonly PropertyKey[], key?: string): string {
  // Walk up to the deepest node that exists; point at the key itself when reporting an unknown key.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true);
    if (node === undefined || node === null) continue;
    let offset: number | undefined;
    if (key !== undefined && depth === path.length && isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
      if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
    }
    if (offset === undefined && typeof node === "object" && "range" in node && Array.isArray(node.range)) {
      offset = node.range[0];
    }
    if (offset === undefined) continue;
    const { line, col } = counter.linePos(offset);
    return `:${line}:${col}`;
  }
  return "";
}

interface IssueLike {
  readonly code?: string;
  readonly path: PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
  readonly issues?: readonly { readonly message: string }[];
  readonly errors?: readonly (readonly IssueLike[])[];
}

/** Replaces a union issue by the issues of the branch that got furthest (an object with a bad field). */
function expandUnions(issue: IssueLike): IssueLike[] {
  if (issue.code !== "invalid_union" || !issue.errors) return [issue];
  let best: readonly IssueLike[] | undefined;
  let depth = 0;
  for (const branch of issue.errors) {
    const deepest = Math.max(0, ...branch.map((inner) => inner.path.length));
    if (deepest > depth) {
      depth = deepest;
      best = branch;
    }
  }
  if (best === undefined) return [issue];
  return best.flatMap((inner) => expandUnions({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** Parses a YAML document; explains the sandbox error the `yaml` package causes without `--ignore-env`. */
function parseYaml(text: string, file: string, lineCounter: LineCounter): Document {
  try {
    return parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new SpecError([
        `${file}: cannot parse YAML: the yaml package reads LOG_TOKENS/LOG_STREAM from the environment; run deno with --ignore-env (${error.message})`,
      ]);
    }
    throw error;
  }
}

interface RawIssueLike {
  readonly code?: string;
  readonly expected?: string;
  readonly values?: readonly unknown[];
  readonly input?: unknown;
  readonly origin?: string;
  readonly minimum?: unknown;
}

const EXPECTED: Readonly<Record<string, string>> = {
  record: "a mapping",
  object: "a mapping",
  array: "a list",
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
};

/** Zod per-parse messages in the `expected X, got Y` style used by every definition file. */
export function specErrorMessage(issue: RawIssueLike): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined
        ? `missing (expected ${EXPECTED[issue.expected ?? ""] ?? issue.expected})`
        : `expected ${EXPECTED[issue.expected ?? ""] ?? issue.expected}, got ${showValue(issue.input)}`;
    case "invalid_value":
      return `expected one of ${(issue.values ?? []).map((value) => showValue(value)).join(", ")}, got ${
        showValue(issue.input)
      }`;
    case "too_small":
      if (issue.origin === "string" && issue.minimum === 1) return "must not be empty";
      return undefined;
    default:
      return undefined;
  }
}

/**
 * Parses YAML `text` (from `file`) and validates it with `schema`. An empty document counts as
 * `{}`. Throws a {@link SpecError} naming file:line:col, key path and expectation.
 */
export function parseYamlSpec<S extends z.ZodType>(text: string, file: string, schema: S): z.output<S> {
  const counter = new LineCounter();
  const doc = parseYaml(text, file, counter);
  if (doc.errors.length > 0) {
    throw new SpecError(doc.errors.map((error) => `${file}: invalid YAML: ${error.message.split("\n")[0]}`));
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const result = schema.safeParse(value, { error: specErrorMessage });
  if (result.success) return result.data;
  const problems: string[] = [];
  for (const issue of (result.error.issues as readonly IssueLike[]).flatMap(expandUnions)) {
    if (issue.code === "unrecognized_keys" && issue.keys) {
      for (const key of issue.keys) {
        const where = locate(doc, counter, issue.path, key);
        problems.push(`${file}${where}: ${formatPath([...issue.path, key])}: unknown key`);
      }
      continue;
    }
    if (issue.code === "invalid_key" && issue.issues?.length) {
      // Point at the key itself, not at its value.
      const where = locate(doc, counter, issue.path.slice(0, -1), String(issue.path[issue.path.length - 1]));
      const message = issue.issues.map((inner) => inner.message).join("; ");
      problems.push(`${file}${where}: ${formatPath(issue.path)}: invalid key: ${message}`);
      continue;
    }
    problems.push(`${file}${locate(doc, counter, issue.path)}: ${formatPath(issue.path)}: ${issue.message}`);
  }
  throw new SpecError(problems);
}

/**
 * Finds a key path in YAML text (for errors found after schema validation): `:line:col` of its
 * value, or of `key` in the mapping at `path` when given (an unknown key); `""` when not found.
 */
export function lineOf(text: string, path: readonly PropertyKey[], key?: string): string {
  const counter = new LineCounter();
  return locate(parseYaml(text, "(yaml)", counter), counter, path, key);
}
