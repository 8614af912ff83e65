/**
 * Label matchers as Alertmanager writes them, for routes, inhibition rules and silences.
 *
 * - In a YAML list (`matchers: ['severity="critical"', 'team=~"ops|db"']`), each item is one matcher
 *   or a braced list (`{tenant="acme", host!~"lab-.*"}`): a label name, an operator (`=`, `!=`, `=~`,
 *   `!~`) and a value, quoted (`"..."` with `\"`, `\\`, `\n` escapes) or bare.
 * - In the API (`/silences`), the v2 object `{name, value, isRegex, isEqual}`.
 *
 * Regular expressions are anchored at both ends (`^(?:value)$`), as Alertmanager anchors them; a
 * missing label matches as the empty string (so `host!=""` requires the label).
 *
 * @module
 */

/** The four operators. */
export type MatchType = "=" | "!=" | "=~" | "!~";

/** One matcher: the label `name` compared with `value` by `type`. */
export interface LabelMatcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
  /** Compiled, anchored expression (regex types only). */
  readonly re?: RegExp;
}

/** A set of labels (name -> value). */
export type LabelSet = Readonly<Record<string, string>>;

/** Alertmanager's v2 API shape of a matcher. */
export interface ApiMatcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

const OPERATORS: readonly MatchType[] = ["=~", "!~", "!=", "="];
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Builds a matcher; throws an Error saying what is wrong (bad name, bad regular expression). */
export function labelMatcher(name: string, type: MatchType, value: string): LabelMatcher {
  if (!NAME.test(name)) {
    throw new Error(
      `invalid label name ${JSON.stringify(name)} (letters, digits and _, not starting with a digit)`,
    );
  }
  if (type === "=~" || type === "!~") {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${value})$`);
    } catch (error) {
      throw new Error(
        `invalid regular expression ${JSON.stringify(value)}: ${
          error instanceof Error ? error.message : error
        }`,
      );
    }
    return Object.freeze({ name, type, value, re });
  }
  return Object.freeze({ name, type, value });
}

/** Whether `value` (the label's value, `""` when absent) passes the matcher. */
export function matchesValue(matcher: LabelMatcher, value: string): boolean {
  switch (matcher.type) {
    case "=":
      return value === matcher.value;
    case "!=":
      return value !== matcher.value;
    case "=~":
      return matcher.re!.test(value);
    case "!~":
      return !matcher.re!.test(value);
  }
}

/** Whether every matcher passes on `labels` (an empty list matches everything). */
export function matchesAll(matchers: readonly LabelMatcher[], labels: LabelSet): boolean {
  for (const matcher of matchers) {
    const value = Object.hasOwn(labels, matcher.name) ? labels[matcher.name] : "";
    if (!matchesValue(matcher, value)) return false;
  }
  return true;
}

function unquote(text: string): string {
  let out = "";
  for (let i = 1; i < text.length - 1; i++) {
    const char = text[i];
    if (char !== "\\") {
      out += char;
      continue;
    }
    const next = text[++i];
    out += next === "n" ? "\n" : next === "t" ? "\t" : next;
  }
  return out;
}

/** One `name op value` item (no braces). */
function parseOne(text: string): LabelMatcher {
  const trimmed = text.trim();
  const nameMatch = /^("(?:[^"\\]|\\.)*"|[^\s=!~"]+)\s*/.exec(trimmed);
  if (!nameMatch) throw new Error(`expected a matcher like name="value", got ${JSON.stringify(text)}`);
  const name = nameMatch[1].startsWith('"') ? unquote(nameMatch[1]) : nameMatch[1];
  let rest = trimmed.slice(nameMatch[0].length);
  const type = OPERATORS.find((op) => rest.startsWith(op));
  if (type === undefined) {
    throw new Error(
      `expected an operator (=, !=, =~, !~) after ${JSON.stringify(name)} in ${JSON.stringify(text)}`,
    );
  }
  rest = rest.slice(type.length).trim();
  let value: string;
  if (rest.startsWith('"')) {
    const quoted = /^"(?:[^"\\]|\\.)*"$/.exec(rest);
    if (!quoted) {
      throw new Error(`unterminated or trailing text after the quoted value in ${JSON.stringify(text)}`);
    }
    value = unquote(rest);
  } else {
    if (/[\s{},"]/.test(rest)) {
      throw new Error(
        `quote the value in ${JSON.stringify(text)} (it holds spaces, commas, braces or quotes)`,
      );
    }
    value = rest;
  }
  return labelMatcher(name, type, value);
}

/** Splits a braced list on the commas outside quotes. */
function splitList(body: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (quoted && char === "\\") {
      current += char + (body[++i] ?? "");
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === "," && !quoted) {
      parts.push(current);
      current = "";
    } else current += char;
  }
  if (current.trim() !== "") parts.push(current);
  return parts;
}

/**
 * Parses one item of a `matchers` list: `name="value"` or `{a="b", c=~"d.*"}`. Throws an Error whose
 * message says what to write instead.
 */
export function parseMatchers(text: string): LabelMatcher[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    if (!trimmed.endsWith("}")) throw new Error(`missing closing brace in ${JSON.stringify(text)}`);
    return splitList(trimmed.slice(1, -1)).map(parseOne);
  }
  return [parseOne(trimmed)];
}

/** A matcher from the v2 API shape (`isEqual` defaults to true, as Alertmanager reads it). */
export function fromApiMatcher(
  matcher: { name: string; value: string; isRegex: boolean; isEqual?: boolean },
): LabelMatcher {
  const equal = matcher.isEqual ?? true;
  const type: MatchType = matcher.isRegex ? (equal ? "=~" : "!~") : (equal ? "=" : "!=");
  return labelMatcher(matcher.name, type, matcher.value);
}

/** The v2 API shape of a matcher. */
export function toApiMatcher(matcher: LabelMatcher): ApiMatcher {
  return {
    name: matcher.name,
    value: matcher.value,
    isRegex: matcher.type === "=~" || matcher.type === "!~",
    isEqual: matcher.type === "=" || matcher.type === "=~",
  };
}

/** Alertmanager's text form of one matcher: `name="value"` (value escaped as OpenMetrics does). */
export function formatMatcher(matcher: LabelMatcher): string {
  const value = matcher.value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
  return `${matcher.name}${matcher.type}"${value}"`;
}

/**
 * Alertmanager's order of matchers in a route (by name, then value, then operator), and its text
 * form `{a="b",c=~"d"}`, which is a route's part of a group key.
 */
export function formatMatcherList(matchers: readonly LabelMatcher[]): string {
  return `{${sortMatchers(matchers).map(formatMatcher).join(",")}}`;
}

/** The matchers sorted as Alertmanager sorts a route's (name, value, operator). */
export function sortMatchers(matchers: readonly LabelMatcher[]): LabelMatcher[] {
  const rank = (type: MatchType) => ["=", "!=", "=~", "!~"].indexOf(type);
  return [...matchers].sort((a, b) =>
    a.name < b.name
      ? -1
      : a.name > b.name
      ? 1
      : a.value < b.value
      ? -1
      : a.value > b.value
      ? 1
      : rank(a.type) - rank(b.type)
  );
}
