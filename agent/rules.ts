/**
 * The agent's rules: the rule engine over `rules` (reloaded on change; the built-in rules without
 * a file), the alerts a reload resolved (their rule is gone) or the retention expired (their series has
 * no data younger than `store.parquet.retention`) waiting for the next batch, and the event time a
 * reload resolves them at.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { Alert } from "../model/alert.ts";
import { ReloadableFile } from "../pipeline/reload.ts";
import { checkRuleWindows, type CompiledRule, defaultRules, RuleEngine } from "../stages/rules.ts";
import type { Lifecycle } from "./lifecycle.ts";
import { assertRuleUnits, parseRulesWithUnits, UnitsCache } from "./rule_units.ts";
import { formatDuration } from "../lib/duration.ts";

/** The rule engine and what a reload leaves for the stateful group. */
export interface AgentRules {
  /** The engine; a reload swaps its rules in place. */
  readonly engine: RuleEngine;
  /** The alerts resolved by reloads since the last call (emitted with the next batch). */
  takePendingAlerts(): Alert[];
  /** The newest event time of a batch (a reload resolves alerts at it). */
  eventTime(ts: number): void;
  /**
   * Checks the rules against the units their metrics are stored in, read with `query` (the store's
   * read-only query) now and before each reload; throws when a rule cannot be compared in them.
   */
  checkUnits(query: (sql: string) => Promise<{ rows: unknown[][] }>): Promise<void>;
}

/**
 * Loads the rules (`rules`, or the built-in ones), warns about windows the features do not keep
 * (at start and on each reload), refuses a reloaded file whose rules cannot be compared in their
 * metrics' stored units (once {@link AgentRules.checkUnits} gave it the store), and registers the file watch's close with `life`.
 */
export async function loadAgentRules(config: Config, log: Logger, life: Lifecycle): Promise<AgentRules> {
  const pendingAlerts: Alert[] = [];
  let lastEventTs: number | undefined;
  const warnWindows = (rules: readonly CompiledRule[]) => {
    for (const problem of checkRuleWindows(rules, config.features.windows)) log.warn(problem);
  };
  const units = new UnitsCache();
  const rulesFile = config.rules
    ? await ReloadableFile.open(config.rules, parseRulesWithUnits(units), log, (rules) => {
      warnWindows(rules);
      pendingAlerts.push(...engine.replaceRules(rules, lastEventTs));
    }, () => units.refresh())
    : undefined;
  if (rulesFile) life.onStop(() => rulesFile.close());
  const engine = new RuleEngine(rulesFile?.value ?? defaultRules());
  warnWindows(engine.rules);
  const retention = config.store.parquet.retention;
  let nextExpiry = 0;
  const why = `no data since the store's retention (${formatDuration(retention)}, store.parquet.retention)`;
  return {
    engine,
    // Alerts whose data the retention deleted resolve with the next batch (`expire`).
    // (at most once a second: it looks at every firing state).
    takePendingAlerts: () => {
      const alerts = pendingAlerts.splice(0);
      const now = Date.now();
      if (retention > 0 && now >= nextExpiry) {
        nextExpiry = now + 1_000;
        alerts.push(...engine.expire(now - retention, why));
      }
      return alerts;
    },
    eventTime: (ts) => {
      lastEventTs = ts;
    },
    checkUnits: async (query) => {
      units.query = query;
      await units.refresh();
      assertRuleUnits(engine.rules, units.units, config.rules || "(built-in rules)");
    },
  };
}
