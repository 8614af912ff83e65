/**
 * The agent's check of rules against the units their metrics are stored in (`stages/rule_units.ts`):
 * the stored units are read from the store at start and before each reload of the rules file; the
 * rules are refused at start, and a reloaded rules file is refused (the previous rules kept), when a
 * rule cannot be compared in its metric's unit.
 *
 * @module
 */
import { SpecError } from "../lib/yaml_spec.ts";
import { checkRuleUnits, type StoredUnits, storedUnitsOf } from "../stages/rule_units.ts";
import { type CompiledRule, parseRules } from "../stages/rules.ts";

/** SQL of the canonical units each metric is stored in (the series dimension, hot and exported). */
export const STORED_UNITS_SQL = "SELECT DISTINCT metric, unit FROM series";

/** Reads the stored units with a read-only query (the store's reader, or `eventops query`'s path). */
export async function readStoredUnits(
  query: (sql: string) => Promise<{ rows: unknown[][] }>,
): Promise<StoredUnits> {
  const result = await query(STORED_UNITS_SQL);
  return storedUnitsOf(result.rows.map((row) => [String(row[0]), String(row[1] ?? "")] as const));
}

/** The stored units the rules are checked against, read again with {@link UnitsCache.refresh}. */
export class UnitsCache {
  units: StoredUnits = new Map();
  /** The store's read-only query; without one (no store in this process) nothing is checked. */
  query?: (sql: string) => Promise<{ rows: unknown[][] }>;

  /** Reads the stored units again (kept as they were when the store cannot answer). */
  async refresh(): Promise<void> {
    if (this.query === undefined) return;
    try {
      this.units = await readStoredUnits(this.query);
    } catch {
      // A store that cannot answer now: the units read last are used.
    }
  }
}

/** `parseRules` that also refuses rules the cached stored units cannot be compared in. */
export function parseRulesWithUnits(cache: UnitsCache): (text: string, file: string) => CompiledRule[] {
  return (text, file) => {
    const rules = parseRules(text, file);
    assertRuleUnits(rules, cache.units, file);
    return rules;
  };
}

/** Throws a SpecError naming `file` when a rule cannot be compared in its metric's stored unit. */
export function assertRuleUnits(rules: readonly CompiledRule[], units: StoredUnits, file: string): void {
  const problems = checkRuleUnits(rules, units);
  if (problems.length > 0) throw new SpecError(problems.map((problem) => `${file}: ${problem}`));
}
