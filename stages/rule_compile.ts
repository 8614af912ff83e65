/**
 * Rule definitions compiled for evaluation (`rules.ts`): matchers, templates and the comparison
 * built once per rule; rules YAML parsed and validated (`rules_schema.ts`), the built-in rules,
 * and the check of feature windows against the configured ones.
 *
 * @module
 */
import type { FeatureName } from "../model/feature.ts";
import { formatDuration } from "../lib/duration.ts";
import { parseYamlSpec } from "../lib/yaml_spec.ts";
import { compileMatcher } from "./inventory.ts";
import { type CanonicalUnit, canonicalUnit, convertValue } from "../lib/units.ts";
import {
  DEFAULT_RULES_YAML,
  PLACEHOLDER,
  type RuleDefinition,
  type RuleOp,
  type RulesFile,
  RulesFileSchema,
} from "./rules_schema.ts";

type Test = (value: string) => boolean;

/** A compiled template: literal text and placeholders, alternating (`parts[0]` is literal). */
export interface Template {
  readonly key: string;
  readonly parts: readonly string[];
}

/** A rule ready for evaluation (matchers and templates compiled once). */
export interface CompiledRule {
  readonly name: string;
  readonly metric: string;
  readonly op: RuleOp;
  readonly warning: number | undefined;
  readonly critical: number | undefined;
  /** Lowest level: passing it fires. */
  readonly fire: number;
  readonly clear: number;
  readonly forMs: number;
  /** Undefined: the raw event value. */
  readonly feature:
    | { readonly windowMs: number; readonly window: string; readonly stat: FeatureName }
    | undefined;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * The rule's `unit`: the canonical unit an event must have to be tested (levels above are converted
   * to it), and how values are shown in its annotations; undefined: any event, values as stored.
   */
  readonly unit:
    | { readonly canonical: string; readonly written: string; readonly conversion: CanonicalUnit }
    | undefined;
  readonly definition: RuleDefinition;
  readonly matchTenant: Test | undefined;
  readonly matchHost: Test | undefined;
  readonly matchTags: readonly (readonly [string, Test])[];
  readonly matchCtx: readonly (readonly [string, Test])[];
  readonly templates: readonly Template[];
  readonly passes: (value: number, level: number) => boolean;
}

const COMPARE: Readonly<Record<RuleOp, (value: number, level: number) => boolean>> = {
  ">": (value, level) => value > level,
  ">=": (value, level) => value >= level,
  "<": (value, level) => value < level,
  "<=": (value, level) => value <= level,
};

function compileTemplate(key: string, template: string): Template {
  const parts: string[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    parts.push(template.slice(last, match.index), match[1]);
    last = match.index + match[0].length;
  }
  parts.push(template.slice(last));
  return { key, parts };
}

/** Compiles one validated rule (levels written in `unit` converted to the metric's canonical unit). */
export function compileRule(rule: RuleDefinition): CompiledRule {
  const ref = typeof rule.value === "object" ? rule.value.feature : rule.feature;
  const conversion = rule.unit === undefined ? undefined : canonicalUnit(rule.unit);
  const level = (value: number | undefined) =>
    value === undefined || conversion === undefined ? value : convertValue(value, conversion);
  const fire = level(rule.warning ?? rule.critical) as number;
  return {
    name: rule.name,
    metric: rule.metric,
    op: rule.op,
    warning: level(rule.warning),
    critical: level(rule.critical),
    fire,
    clear: level(rule.clear) ?? fire,
    forMs: rule.for,
    feature: ref === undefined
      ? undefined
      : { windowMs: ref.window, window: formatDuration(ref.window), stat: ref.stat },
    labels: Object.freeze({ ...rule.labels }),
    unit: conversion === undefined || rule.unit === undefined
      ? undefined
      : { canonical: conversion.unit, written: rule.unit, conversion },
    definition: rule,
    matchTenant: rule.match?.tenant === undefined ? undefined : compileMatcher(rule.match.tenant),
    matchHost: rule.match?.host === undefined ? undefined : compileMatcher(rule.match.host),
    matchTags: Object.entries(rule.match?.tags ?? {}).map(([key, pattern]) =>
      [key, compileMatcher(pattern)] as const
    ),
    matchCtx: Object.entries(rule.match?.ctx ?? {}).map(([key, pattern]) =>
      [key, compileMatcher(pattern)] as const
    ),
    templates: Object.entries(rule.annotations).map(([key, template]) => compileTemplate(key, template)),
    passes: COMPARE[rule.op],
  };
}

/** Compiles a validated rules file. */
export function compileRules(file: RulesFile): CompiledRule[] {
  return file.rules.map(compileRule);
}

/**
 * Parses and compiles rules YAML. Throws a `SpecError` naming file:line:col, key path and
 * expectation (unknown keys, level ordering against `op`, `clear` on the wrong side, ...).
 */
export function parseRules(text: string, file: string): CompiledRule[] {
  return compileRules(parseYamlSpec(text, file, RulesFileSchema));
}

/** The built-in rules ({@link DEFAULT_RULES_YAML}), compiled. */
export function defaultRules(): CompiledRule[] {
  return parseRules(DEFAULT_RULES_YAML, "(built-in rules)");
}

/** Problems with feature rules whose window is not one of the configured feature windows (ms). */
export function checkRuleWindows(rules: readonly CompiledRule[], windowsMs: readonly number[]): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    if (rule.feature !== undefined && !windowsMs.includes(rule.feature.windowMs)) {
      problems.push(
        `rule ${rule.name}: feature window ${rule.feature.window} is not a configured window (${
          windowsMs.map(formatDuration).join(", ")
        }); the rule would never fire`,
      );
    }
  }
  return problems;
}
