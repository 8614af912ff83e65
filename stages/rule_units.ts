/**
 * Rules against the units their metric is stored in: a rule whose levels are written in one unit
 * cannot be compared with values stored in another dimension, and a rule with no `unit` on a metric
 * stored in several units (say `mem` sent as percent by one source and as bytes by another, both
 * `mem_used` after the alias) would compare one threshold with both. Such rules are refused by
 * `eventops check` and when the agent loads them. Events stored without a unit are no second unit: a
 * source that sends no unit says nothing about the dimension (and one such event must not stop the
 * agent from starting with rules it ran before).
 *
 * @module
 */
import type { CompiledRule } from "./rules.ts";

/** The canonical units each metric is stored in (`""`: no unit). */
export type StoredUnits = ReadonlyMap<string, readonly string[]>;

/** One message per rule that cannot be compared in its metric's stored unit(s). */
export function checkRuleUnits(rules: readonly CompiledRule[], stored: StoredUnits): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    const units = (stored.get(rule.metric) ?? []).filter((unit) => unit !== "");
    if (units.length === 0) continue;
    if (rule.unit !== undefined) {
      if (!units.includes(rule.unit.canonical)) {
        problems.push(
          `rule ${rule.name}: its levels are in ${rule.unit.written} (${rule.unit.canonical}) but ${rule.metric} is ` +
            `stored in ${units.join(" and ")}; write the levels in a unit of that dimension`,
        );
      }
      continue;
    }
    if (units.length > 1) {
      problems.push(
        `rule ${rule.name}: ${rule.metric} is stored in ${units.length} units (${units.join(", ")}), ` +
          "e.g. two sources under one name (normalize.aliases); state the unit its levels are written in " +
          `(unit: ${units[0]}) so only events in it are tested, or give the ` +
          "sources different metric names",
      );
    }
  }
  return problems;
}

/** The stored units from rows of `metric, unit` (any order, repeats allowed). */
export function storedUnitsOf(rows: readonly (readonly [string, string])[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [metric, unit] of rows) {
    const list = out.get(metric) ?? [];
    if (!list.includes(unit)) list.push(unit);
    out.set(metric, list);
  }
  for (const list of out.values()) list.sort();
  return out;
}
