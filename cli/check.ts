/**
 * `eventops check`: validates the configuration, the inventory, the rules and the notification file
 * (receivers, routes, inhibition; its secrets readable, its hosts allowed by the sandbox), and runs
 * rule tests (YAML fixtures: input events -> expected alerts and the receivers they route to), like
 * `promtool test rules` and `amtool config routes test`. Exit code 0 when everything passes, 1 on a
 * failed test, 2 on an invalid file.
 *
 * @module
 */
import { ConfigError, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { describeError } from "../lib/errors.ts";
import { emptyInventory, type Inventory, parseInventory } from "../stages/inventory.ts";
import { compileNormalizeOptions } from "../stages/normalize/mod.ts";
import { runRuleTests } from "../stages/rule_tests.ts";
import { checkRuleWindows, DEFAULT_RULES_YAML, defaultRules, parseRules } from "../stages/rules.ts";
import type { CommonFlags } from "./common.ts";
import { defaultExternalUrl } from "../agent/notify.ts";
import { alertLabels } from "../notify/labels.ts";
import { loadNotify } from "../notify/load.ts";
import { receiversOf } from "../notify/route.ts";
import type { Alert } from "../model/alert.ts";
import { readStoredUnits } from "../agent/rule_units.ts";
import { checkRuleUnits, type StoredUnits } from "../stages/rule_units.ts";
import { runQuery } from "./query.ts";

/** The units the store holds each metric in (through the agent when it runs); undefined without a store. */
async function storedUnits(config: Config): Promise<StoredUnits | undefined> {
  try {
    return await readStoredUnits(async (sql) => (await runQuery(config, sql, 100_000)).result);
  } catch {
    return undefined;
  }
}

/** Validates everything and runs `testFiles`; returns the exit code. */
export async function checkCommand(flags: CommonFlags, testFiles: readonly string[]): Promise<number> {
  let config: Config;
  try {
    config = await loadConfig(flags.config, { brokers: flags.brokers, data: flags.data, port: flags.port });
    compileNormalizeOptions(config.normalize);
  } catch (error) {
    console.error(`FAIL config\n${error instanceof ConfigError ? error.message : describeError(error)}`);
    return 2;
  }
  console.log(`ok   config ${flags.config ?? "(eventops.yaml or defaults)"}`);

  let inventory: Inventory = emptyInventory();
  if (config.inventory) {
    try {
      inventory = parseInventory(await Deno.readTextFile(config.inventory), config.inventory);
      console.log(`ok   inventory ${config.inventory}`);
    } catch (error) {
      console.error(`FAIL inventory\n${describeError(error)}`);
      return 2;
    }
  }

  let rulesText = DEFAULT_RULES_YAML;
  try {
    const rules = config.rules
      ? parseRules(rulesText = await Deno.readTextFile(config.rules), config.rules)
      : defaultRules();
    const problems = checkRuleWindows(rules, config.features.windows);
    if (problems.length > 0) {
      console.error(`FAIL rules ${config.rules}\n${problems.join("\n")}`);
      return 2;
    }
    const units = await storedUnits(config);
    if (units !== undefined) {
      const unitProblems = checkRuleUnits(rules, units);
      if (unitProblems.length > 0) {
        console.error(`FAIL rules ${config.rules || "(built-in)"}\n${unitProblems.join("\n")}`);
        return 2;
      }
    }
    console.log(
      `ok   rules ${config.rules || "(built-in)"}: ${rules.length} rule(s)${
        units === undefined ? "" : `, units checked against the store (${units.size} metric(s))`
      }`,
    );
  } catch (error) {
    console.error(`FAIL rules\n${describeError(error)}`);
    return 2;
  }

  let routeAlert: ((alert: Alert) => string[]) | undefined;
  if (config.notify) {
    try {
      const { plan, file } = loadNotify(
        await Deno.readTextFile(config.notify),
        config.notify,
        defaultExternalUrl(config),
      );
      const route = plan.route!;
      routeAlert = (alert) =>
        receiversOf(route, alertLabels(alert, inventory.lookup(alert.tenant, alert.host)));
      console.log(
        `ok   notify ${config.notify}: ${file.receivers.length} receiver(s), ${file.inhibit_rules.length} inhibit rule(s)`,
      );
    } catch (error) {
      console.error(`FAIL notify\n${describeError(error)}`);
      return 2;
    }
  }

  let failed = 0;
  for (const file of testFiles) {
    let result;
    try {
      result = runRuleTests(rulesText, await Deno.readTextFile(file), {
        rulesFile: config.rules || "(built-in rules)",
        testsFile: file,
        inventory,
        normalize: config.normalize,
        features: config.features,
        receiversOf: routeAlert,
      });
    } catch (error) {
      console.error(`FAIL ${file}\n${describeError(error)}`);
      return 2;
    }
    for (const failure of result.failed) {
      console.error(`FAIL ${file}: ${failure.test}\n${failure.diff}`);
    }
    failed += result.failed.length;
    console.log(
      `${
        result.failed.length ? "FAIL" : "ok  "
      } ${file}: ${result.passed} passed, ${result.failed.length} failed`,
    );
  }
  return failed > 0 ? 1 : 0;
}
