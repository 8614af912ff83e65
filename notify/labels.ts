/**
 * The label set an alert is routed, grouped, silenced and inhibited by, as Alertmanager sees
 * alerts: `alertname` (the rule), `severity`, `tenant`, `host`, `metric`, the host's inventory
 * context (`site`, `role`, `owner`, `criticality` and its labels) and the rule's labels. The fixed
 * five win over a rule label or context key of the same name; a rule label wins over the context.
 * Names are made valid label names (`rack.row` -> `rack_row`).
 *
 * @module
 */
import type { LabelSet } from "../config/notify_matchers.ts";
import type { Alert } from "../model/alert.ts";

/** The inventory context of a host (`site`, `role`, ...). */
export type HostContext = Readonly<Record<string, string>>;

/** A valid Alertmanager label name for `key`: other characters become `_`. */
export function labelName(key: string): string {
  const name = key.replace(/[^A-Za-z0-9_]/g, "_");
  return /^[0-9]/.test(name) || name === "" ? `_${name}` : name;
}

/** The label set of `alert` with the inventory context of its host. */
export function alertLabels(
  alert: Pick<Alert, "rule" | "severity" | "tenant" | "host" | "metric" | "labels">,
  ctx: HostContext,
): LabelSet {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(ctx)) labels[labelName(key)] = value;
  for (const [key, value] of Object.entries(alert.labels)) labels[labelName(key)] = value;
  labels.alertname = alert.rule;
  labels.severity = alert.severity;
  labels.tenant = alert.tenant;
  labels.host = alert.host;
  labels.metric = alert.metric;
  return labels;
}

/** Go's `strconv.Quote` for the strings labels hold (control characters as `\xNN`). */
export function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    switch (char) {
      case '"':
        out += '\\"';
        continue;
      case "\\":
        out += "\\\\";
        continue;
      case "\n":
        out += "\\n";
        continue;
      case "\r":
        out += "\\r";
        continue;
      case "\t":
        out += "\\t";
        continue;
    }
    if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return out + '"';
}

/** Label names of `labels`, sorted (byte order, as Go sorts them). */
export function sortedNames(labels: LabelSet): string[] {
  return Object.keys(labels).sort((a, b) => a < b ? -1 : a > b ? 1 : 0);
}

/** Prometheus' text of a label set: `{alertname="cpu_high", host="host-a"}`. */
export function formatLabelSet(labels: LabelSet): string {
  return `{${sortedNames(labels).map((name) => `${name}=${goQuote(labels[name])}`).join(", ")}}`;
}

/** Prometheus' `LabelSet.Before`: fewer labels first, then the first differing value by name. */
export function labelSetBefore(a: LabelSet, b: LabelSet): boolean {
  const aNames = Object.keys(a);
  const bNames = Object.keys(b);
  if (aNames.length !== bNames.length) return aNames.length < bNames.length;
  const names = [...aNames, ...bNames].sort((x, y) => x < y ? -1 : x > y ? 1 : 0);
  for (const name of names) {
    if (!Object.hasOwn(a, name)) return true;
    if (!Object.hasOwn(b, name)) return false;
    if (a[name] < b[name]) return true;
    if (a[name] > b[name]) return false;
  }
  return false;
}

/** Alertmanager's order of alerts in a notification: by `job`, then `instance`, then label set. */
export function compareAlertLabels(a: LabelSet, b: LabelSet): number {
  for (const key of ["job", "instance"]) {
    const aHas = Object.hasOwn(a, key);
    const bHas = Object.hasOwn(b, key);
    if (!aHas && !bHas) continue;
    if (!aHas) return 1;
    if (!bHas) return -1;
    if (a[key] !== b[key]) return a[key] < b[key] ? -1 : 1;
  }
  if (labelSetBefore(a, b)) return -1;
  if (labelSetBefore(b, a)) return 1;
  return 0;
}
