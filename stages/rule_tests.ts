/**
 * Rule unit tests, like `promtool test rules`: raw input events run through normalize -> enrich ->
 * features -> rules, and the emitted alerts are compared in order with the expected ones.
 *
 * ```yaml
 * tests:
 *   - name: seed escalates
 *     input:                     # raw events as producers send them (one message each)
 *       - { tenant_id: acme, host: host-a, metric: cpu_load, value: 85, ts_event: "2025-10-21T10:00:00Z", unit: percent }
 *     expect:                    # every emitted alert, in order; omitted fields are not compared
 *       - { rule: cpu_high, host: host-a, state: firing, severity: warning, value: 85, receivers: [ops] }
 * ```
 *
 * `receivers` are the receivers the notification file's route tree sends the alert to (like
 * `amtool config routes test`); they need the configured `notify` file.
 * A file may name the rules and inventory it tests (`rules: rules.yaml`, `inventory: inventory.yaml`,
 * relative to the tests file, like promtool's `rule_files`); otherwise `eventops check` uses the config's.
 *
 * Each test starts from empty state; `nowMs` (ingest time) is the latest input timestamp. Inputs
 * that normalization rejects show up as `+ input[i] rejected: ...` lines and fail the test.
 *
 * @module
 */
import { z } from "zod";
import { type Config, ConfigSchema } from "../config/schema.ts";
import { type Alert, AlertStateSchema, SeveritySchema } from "../model/alert.ts";
import { enrich } from "./enrich.ts";
import { FeatureEngine } from "./features.ts";
import { formatNumber } from "../lib/format.ts";
import { emptyInventory, type Inventory } from "./inventory.ts";
import { normalizeMessage, parseTimestamp } from "./normalize/mod.ts";
import { parseRules, RuleEngine } from "./rules.ts";
import { parseYamlSpec } from "../lib/yaml_spec.ts";

/** One expected alert; omitted fields are not compared. */
export const ExpectedAlertSchema = z.strictObject({
  rule: z.string().min(1),
  tenant: z.string().optional(),
  host: z.string().optional(),
  metric: z.string().optional(),
  state: AlertStateSchema,
  severity: SeveritySchema,
  value: z.number().optional(),
  threshold: z.number().optional(),
  /** The receivers its routes lead to, in route order. */
  receivers: z.array(z.string().min(1)).optional(),
});
/** One expected alert. */
export type ExpectedAlert = z.output<typeof ExpectedAlertSchema>;

/** The rule tests file. */
export const RuleTestsFileSchema = z.strictObject({
  /** The rules file the tests are for, relative to the tests file (default: the config's rules). */
  rules: z.string().min(1).optional(),
  /** The inventory file used for enrichment, relative to the tests file (default: the config's). */
  inventory: z.string().min(1).optional(),
  /** The notification file the `receivers` expectations route with, relative to the tests file (default: the config's). */
  notify: z.string().min(1).optional(),
  tests: z.array(z.strictObject({
    name: z.string().min(1),
    input: z.array(z.record(z.string(), z.unknown())).min(1),
    expect: z.array(ExpectedAlertSchema).default([]),
  })).min(1),
});

/** Options of {@link runRuleTests}; config sections default to the config defaults. */
export interface RuleTestOptions {
  /** Names used in error messages. */
  rulesFile?: string;
  testsFile?: string;
  /** Inventory used for enrichment (default: none, every host unknown). */
  inventory?: Inventory;
  normalize?: Config["normalize"];
  features?: Config["features"];
  /** The receivers an alert is routed to (from the notification file); tests expecting receivers need it. */
  receiversOf?: (alert: Alert) => string[];
}

/** Outcome of {@link runRuleTests}. */
export interface RuleTestResult {
  passed: number;
  failed: { test: string; diff: string }[];
}

const FIELDS = ["rule", "tenant", "host", "metric", "state", "severity", "value", "threshold"] as const;
type Field = typeof FIELDS[number];
const DEFAULT_FIELDS: readonly Field[] = ["rule", "host", "state", "severity", "value"];

function show(field: Field, value: string | number): string {
  return `${field}=${typeof value === "number" ? formatNumber(value) : value}`;
}

function fieldsOf(expected: ExpectedAlert): Field[] {
  return FIELDS.filter((field) => expected[field] !== undefined);
}

function receiversPart(receivers: readonly string[] | undefined): string {
  return receivers === undefined ? "" : ` receivers=${receivers.join(",")}`;
}

function expectedLine(expected: ExpectedAlert): string {
  return fieldsOf(expected).map((field) => show(field, expected[field] as string | number)).join(" ") +
    receiversPart(expected.receivers);
}

function gotLine(alert: Alert, fields: readonly Field[], receivers?: readonly string[]): string {
  return fields.map((field) => show(field, alert[field])).join(" ") + receiversPart(receivers);
}

function sameNumber(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function matches(expected: ExpectedAlert, alert: Alert, receivers?: readonly string[]): boolean {
  if (expected.receivers !== undefined && expected.receivers.join("\u0000") !== receivers?.join("\u0000")) {
    return false;
  }
  return FIELDS.every((field) => {
    const want = expected[field];
    if (want === undefined) return true;
    const got = alert[field];
    return typeof want === "number" && typeof got === "number" ? sameNumber(want, got) : want === got;
  });
}

/** A line diff (longest common subsequence): `  same`, `- expected only`, `+ got only`. */
export function lineDiff(expected: readonly string[], got: readonly string[]): string {
  const n = expected.length;
  const m = got.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = expected[i] === got[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = ["--- expected", "+++ got"];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === got[j]) {
      out.push(`  ${expected[i]}`);
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push(`- ${expected[i]}`);
      i++;
    } else {
      out.push(`+ ${got[j]}`);
      j++;
    }
  }
  return out.join("\n");
}

/** The rules, inventory and notification files a tests file names, resolved against its directory. */
export function ruleTestsTargets(
  testsYamlText: string,
  testsFile: string,
): { rules?: string; inventory?: string; notify?: string } {
  const file = parseYamlSpec(testsYamlText, testsFile, RuleTestsFileSchema);
  const slash = testsFile.lastIndexOf("/");
  const dir = slash < 0 ? "" : testsFile.slice(0, slash + 1);
  const resolve = (path: string | undefined) =>
    path === undefined ? undefined : path.startsWith("/") ? path : `${dir}${path}`;
  return { rules: resolve(file.rules), inventory: resolve(file.inventory), notify: resolve(file.notify) };
}

/**
 * Runs the rule tests in `testsYamlText` against the rules in `rulesYamlText`. Throws a
 * `SpecError` when either file is invalid; test failures are returned with a readable diff.
 */
export function runRuleTests(
  rulesYamlText: string,
  testsYamlText: string,
  options: RuleTestOptions = {},
): RuleTestResult {
  const rules = parseRules(rulesYamlText, options.rulesFile ?? "rules");
  const file = parseYamlSpec(testsYamlText, options.testsFile ?? "tests", RuleTestsFileSchema);
  const defaults = ConfigSchema.parse({});
  const normalizeOptions = options.normalize ?? defaults.normalize;
  const featureOptions = options.features ?? defaults.features;
  const inventory = options.inventory ?? emptyInventory();
  const encoder = new TextEncoder();
  const result: RuleTestResult = { passed: 0, failed: [] };
  for (const test of file.tests) {
    let nowMs = 0;
    for (const input of test.input) {
      const ts = input.ts_event;
      if (typeof ts !== "string" && typeof ts !== "number") continue;
      const parsed = parseTimestamp(ts);
      if ("ms" in parsed) nowMs = Math.max(nowMs, parsed.ms);
    }
    const features = new FeatureEngine(featureOptions);
    const engine = new RuleEngine(rules);
    const alerts: Alert[] = [];
    const rejected: string[] = [];
    test.input.forEach((input, index) => {
      const source = { topic: "rule-test", partition: 0, offset: String(index) };
      const { events, rejects } = normalizeMessage(
        encoder.encode(JSON.stringify(input)),
        source,
        normalizeOptions,
        nowMs,
      );
      for (const reject of rejects) rejected.push(`input[${index}] rejected: ${reject.reason}`);
      for (const event of events) {
        const enriched = enrich(event, inventory);
        alerts.push(...engine.evaluate(enriched, features.update(enriched)));
      }
    });
    const expectedLines = test.expect.map(expectedLine);
    const routed = alerts.map((alert, index) =>
      test.expect[index]?.receivers === undefined ? undefined : options.receiversOf?.(alert)
    );
    if (
      test.expect.some((expected) => expected.receivers !== undefined) && options.receiversOf === undefined
    ) {
      rejected.push("receivers are expected but no notification file is configured (config key notify)");
    }
    const gotLines = alerts.map((alert, index) => {
      const expected = test.expect[index];
      if (expected !== undefined && matches(expected, alert, routed[index])) return expectedLines[index];
      return gotLine(alert, expected !== undefined ? fieldsOf(expected) : DEFAULT_FIELDS, routed[index]);
    });
    gotLines.push(...rejected);
    const ok = rejected.length === 0 && alerts.length === test.expect.length &&
      alerts.every((alert, index) => matches(test.expect[index], alert, routed[index]));
    if (ok) result.passed++;
    else result.failed.push({ test: test.name, diff: lineDiff(expectedLines, gotLines) });
  }
  return result;
}
