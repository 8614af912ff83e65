/**
 * The rules file (YAML), validated with zod. Unknown keys are rejected everywhere.
 *
 * ```yaml
 * rules:
 *   - name: cpu_high
 *     metric: cpu_load                  # canonical snake_case name
 *     match:                            # optional; every value exact or glob; all must match
 *       tenant: acme
 *       host: "web-*"
 *       tags: { env: prod }             # the tag must exist and match
 *       ctx: { role: web }
 *     value: raw                        # default; or `feature: { window: 1m, stat: avg }`
 *     warning: 80                       # at least one of warning / critical
 *     critical: 95
 *     unit: percent                     # optional: the unit the levels are written in (GB, %, ms, ...);
 *                                       # events of the metric in another dimension are not tested
 *     op: ">"                           # ">" (default), ">=", "<", "<="
 *     for: 0s                           # condition must hold this long (event time) before firing
 *     clear: 75                         # resolve when the value no longer passes `clear` (default: the lowest level)
 *     labels: { team: ops }
 *     annotations: { summary: "{{host}} cpu {{value}}% (>{{threshold}})" }
 * ```
 *
 * Template placeholders: `host tenant metric value threshold severity state rule unit window stat
 * starts_at`, and `ctx.<key>`, `tags.<key>`, `labels.<key>` (missing keys render empty).
 *
 * @module
 */
import { z } from "zod";
import { DurationSchema } from "../lib/duration.ts";
import { FeatureNameSchema } from "../model/feature.ts";
import { CANONICAL_UNITS, canonicalUnit } from "../lib/units.ts";

/** Comparison operators: ">" fires on high values, "<" on low ones. */
export const RuleOpSchema = z.enum([">", ">=", "<", "<="]);
/** A comparison operator. */
export type RuleOp = z.infer<typeof RuleOpSchema>;

/** Top-level names usable in `{{...}}` annotation placeholders. */
export const TEMPLATE_FIELDS: readonly string[] = [
  "host",
  "tenant",
  "metric",
  "value",
  "threshold",
  "severity",
  "state",
  "rule",
  "unit",
  "window",
  "stat",
  "starts_at",
];
/** Prefixes of map placeholders (`{{ctx.site}}`). */
export const TEMPLATE_MAPS: readonly string[] = ["ctx", "tags", "labels"];

/** `{{ name }}` placeholders in annotation templates. */
export const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

const NAME = /^[A-Za-z][A-Za-z0-9_.:-]*$/;
const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const Text = z.union([z.string(), z.number(), z.boolean()], { error: "expected a string, number or boolean" })
  .transform(String);
const KeySchema = z.string().regex(
  KEY,
  "expected a key of letters, digits, _ . - (not starting with a digit)",
)
  .refine((key) => key !== "__proto__", "key __proto__ is not allowed");
const PatternSchema = z.string().trim().min(1);
const PatternMapSchema = z.record(KeySchema, Text.pipe(z.string().min(1, "must not be empty")));
const ForSchema = z.union([z.literal(0).transform(() => 0), DurationSchema], {
  error: "expected a duration like 0s, 30s, 5m",
});
const ThresholdSchema = z.number({ error: "expected a number" });

/** A feature of the series as the tested value: `{ window: 1m, stat: avg }`. */
export const FeatureRefSchema = z.strictObject({
  window: DurationSchema,
  stat: FeatureNameSchema,
});
/** A feature reference (window in ms). */
export type FeatureRef = z.output<typeof FeatureRefSchema>;

function templateProblem(template: string): string | undefined {
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1];
    const dot = name.indexOf(".");
    if (dot > 0 && TEMPLATE_MAPS.includes(name.slice(0, dot)) && dot < name.length - 1) continue;
    if (dot < 0 && TEMPLATE_FIELDS.includes(name)) continue;
    return `unknown placeholder {{${name}}}; use ${TEMPLATE_FIELDS.join(", ")} or ${
      TEMPLATE_MAPS.map((m) => `${m}.<key>`).join(", ")
    }`;
  }
  return undefined;
}

const TemplateSchema = z.string().superRefine((template, ctx) => {
  const problem = templateProblem(template);
  if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
});

/** One rule as written. */
export const RuleSchema = z.strictObject({
  name: z.string().regex(NAME, "expected a name of letters, digits, _ . : - starting with a letter"),
  metric: z.string().regex(/^[a-z][a-z0-9_]*$/, "expected a canonical snake_case metric name like cpu_load"),
  match: z.strictObject({
    tenant: PatternSchema.optional(),
    host: PatternSchema.optional(),
    tags: PatternMapSchema.optional(),
    ctx: PatternMapSchema.optional(),
  }).optional(),
  value: z.union([z.literal("raw"), z.literal("feature"), z.strictObject({ feature: FeatureRefSchema })], {
    error: 'expected "raw", "feature" or { feature: { window, stat } }',
  }).optional(),
  feature: FeatureRefSchema.optional(),
  warning: ThresholdSchema.optional(),
  critical: ThresholdSchema.optional(),
  op: RuleOpSchema.default(">"),
  for: ForSchema.default(0),
  clear: ThresholdSchema.optional(),
  /**
   * The unit `warning`, `critical` and `clear` are written in (any unit the normalize stage knows:
   * `GB`, `%`, `ms`, `degF`, ...): they are compared with the stored values in the metric's canonical
   * unit, and only events in that unit's dimension are tested.
   */
  unit: z.string().trim().min(1).refine(
    (unit) => CANONICAL_UNITS.includes(canonicalUnit(unit).unit),
    {
      error: `unknown unit; use one the normalize stage converts (${
        CANONICAL_UNITS.join(", ")
      } and their units, e.g. GB, %, ms, degF)`,
    },
  ).optional(),
  labels: z.record(KeySchema, Text).default({}),
  annotations: z.record(KeySchema, TemplateSchema).default({}),
}).superRefine((rule, ctx) => {
  const { warning, critical, clear, op } = rule;
  const high = op === ">" || op === ">=";
  if (warning === undefined && critical === undefined) {
    ctx.addIssue({ code: "custom", path: [], message: "set warning, critical or both" });
  }
  if (warning !== undefined && critical !== undefined) {
    if (high ? critical <= warning : critical >= warning) {
      ctx.addIssue({
        code: "custom",
        path: ["critical"],
        message: `critical (${critical}) must be ${
          high ? "above" : "below"
        } warning (${warning}) for op "${op}"`,
      });
    }
  }
  const lowest = warning ?? critical;
  if (clear !== undefined && lowest !== undefined && (high ? clear > lowest : clear < lowest)) {
    ctx.addIssue({
      code: "custom",
      path: ["clear"],
      message: `clear (${clear}) must be at or ${high ? "below" : "above"} ${
        warning !== undefined ? "warning" : "critical"
      } (${lowest}) for op "${op}"`,
    });
  }
  const stat = typeof rule.value === "object" ? rule.value.feature.stat : rule.feature?.stat;
  if (rule.unit !== undefined && (stat === "count" || stat === "zscore")) {
    ctx.addIssue({ code: "custom", path: ["unit"], message: `a ${stat} has no unit; leave unit out` });
  }
  if (
    rule.unit !== undefined && (stat === "rate" || stat === "counter_rate") &&
    canonicalUnit(rule.unit).offset !== 0
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["unit"],
      message: `a rate in ${rule.unit} cannot be converted; use the canonical unit`,
    });
  }
  const valueFeature = typeof rule.value === "object";
  if (rule.value === "feature" && rule.feature === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["feature"],
      message: "value: feature needs feature: { window, stat }",
    });
  }
  if (rule.feature !== undefined && (rule.value === "raw" || valueFeature)) {
    ctx.addIssue({
      code: "custom",
      path: ["feature"],
      message: valueFeature
        ? "give the feature once (value.feature or feature)"
        : "value: raw contradicts feature",
    });
  }
});
/** One rule (validated). */
export type RuleDefinition = z.output<typeof RuleSchema>;

/** The rules file. */
export const RulesFileSchema = z.strictObject({
  rules: z.array(RuleSchema),
}).superRefine((file, ctx) => {
  const seen = new Map<string, number>();
  file.rules.forEach((rule, index) => {
    const first = seen.get(rule.name);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["rules", index, "name"],
        message: `duplicate rule name ${rule.name} (also rules[${first}])`,
      });
    } else seen.set(rule.name, index);
  });
});
/** The rules file (validated). */
export type RulesFile = z.output<typeof RulesFileSchema>;

/** The built-in rules, used when no rules file is configured: the brief's cpu_load thresholds. */
export const DEFAULT_RULES_YAML =
  `# Built-in rules (config key \`rules\` empty): the brief's cpu_load thresholds.
rules:
  - name: cpu_high
    metric: cpu_load
    value: raw
    warning: 80
    critical: 95
    clear: 75
    op: ">"
    for: 0s
    labels: { category: cpu }
    annotations:
      summary: "{{tenant}}/{{host}} cpu_load {{value}}% ({{severity}}, threshold {{threshold}}%)"
`;
