/**
 * `eventops check`: validates the configuration, the inventory, the rules and the notification file
 * (receivers, routes, inhibition; its secrets readable, its hosts allowed by the sandbox), and runs
 * rule tests (YAML fixtures: input events -> expected alerts and the receivers they route to), like
 * `promtool test rules` and `amtool config routes test`. Exit code 0 when everything passes, 1 on a
 * failed test, 2 on an invalid file. A tests file that names its rules and inventory (`rules:`,
 * `inventory:`) is run against those, so `eventops check config/rules.test.yaml` works with any config.
 *
 * @module
 */
import { ConfigError, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { describeError } from "../lib/errors.ts";
import { emptyInventory, type Inventory, parseInventory } from "../stages/inventory.ts";
import { compileNormalizeOptions } from "../stages/normalize/mod.ts";
import { ruleTestsTargets, runRuleTests } from "../stages/rule_tests.ts";
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

  const inventory = await loadInventory(config.inventory);
  if (inventory === undefined) return 2;
  const units = await storedUnits(config);
  const rules = await loadRules(config.rules, config, undefined, units);
  if (rules === undefined) return 2;

  const routeAlert = await loadRouter(config.notify, config, inventory);
  if (routeAlert === false) return 2;

  let failed = 0;
  for (const file of testFiles) {
    let result;
    try {
      const testsText = await Deno.readTextFile(file);
      const targets = ruleTestsTargets(testsText, file);
      const fileInventory = targets.inventory === undefined
        ? inventory
        : await loadInventory(targets.inventory, file);
      const fileRules = targets.rules === undefined
        ? rules
        : await loadRules(targets.rules, config, file, units);
      const fileRouter = targets.notify === undefined && targets.inventory === undefined
        ? routeAlert
        : await loadRouter(targets.notify ?? config.notify, config, fileInventory ?? inventory, file);
      if (fileInventory === undefined || fileRules === undefined || fileRouter === false) return 2;
      result = runRuleTests(fileRules.text, testsText, {
        rulesFile: fileRules.name,
        testsFile: file,
        inventory: fileInventory,
        normalize: config.normalize,
        features: config.features,
        receiversOf: fileRouter,
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

/** Reads and checks an inventory file ("" is none); prints the outcome; undefined when invalid. */
async function loadInventory(path: string, namedBy?: string): Promise<Inventory | undefined> {
  if (!path) return emptyInventory();
  try {
    const inventory = parseInventory(await Deno.readTextFile(path), path);
    console.log(`ok   inventory ${path}${namedBy ? ` (named by ${namedBy})` : ""}`);
    return inventory;
  } catch (error) {
    console.error(`FAIL inventory ${path}\n${describeError(error)}`);
    return undefined;
  }
}

/**
 * Reads and checks a rules file ("" is the built-in rules), and its units against the store's when given;
 * prints the outcome; undefined when invalid.
 */
async function loadRules(
  path: string,
  config: Config,
  namedBy?: string,
  units?: StoredUnits,
): Promise<{ text: string; name: string } | undefined> {
  const name = path || "(built-in rules)";
  try {
    const text = path ? await Deno.readTextFile(path) : DEFAULT_RULES_YAML;
    const rules = path ? parseRules(text, path) : defaultRules();
    const problems = checkRuleWindows(rules, config.features.windows);
    if (problems.length > 0) {
      console.error(`FAIL rules ${name}\n${problems.join("\n")}`);
      return undefined;
    }
    if (units !== undefined) {
      const unitProblems = checkRuleUnits(rules, units);
      if (unitProblems.length > 0) {
        console.error(`FAIL rules ${name}\n${unitProblems.join("\n")}`);
        return undefined;
      }
    }
    const checked = units === undefined ? "" : `, units checked against the store (${units.size} metric(s))`;
    console.log(
      `ok   rules ${path || "(built-in)"}: ${rules.length} rule(s)${checked}${
        namedBy ? ` (named by ${namedBy})` : ""
      }`,
    );
    return { text, name };
  } catch (error) {
    console.error(`FAIL rules ${path}\n${describeError(error)}`);
    return undefined;
  }
}

/** Where an alert is routed: its receivers. */
type Router = (alert: Alert) => string[];

/**
 * Reads and checks a notification file ("" is none: undefined); prints the outcome; false when
 * invalid. The router names the receivers an alert goes to, with the inventory's labels.
 */
async function loadRouter(
  path: string,
  config: Config,
  inventory: Inventory,
  namedBy?: string,
): Promise<Router | undefined | false> {
  if (!path) return undefined;
  try {
    const { plan, file } = loadNotify(await Deno.readTextFile(path), path, defaultExternalUrl(config));
    const route = plan.route!;
    console.log(
      `ok   notify ${path}: ${file.receivers.length} receiver(s), ${file.inhibit_rules.length} inhibit rule(s)${
        namedBy ? ` (named by ${namedBy})` : ""
      }`,
    );
    return (alert) => receiversOf(route, alertLabels(alert, inventory.lookup(alert.tenant, alert.host)));
  } catch (error) {
    console.error(`FAIL notify ${path}\n${describeError(error)}`);
    return false;
  }
}
