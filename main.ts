/**
 * `eventops`: the EventOps Flow edge agent's command line.
 *
 * @module
 */
import { Command } from "commander";
import { type CommonFlags, configFromFlags, withCommonOptions } from "./cli/common.ts";
import { describeError } from "./lib/errors.ts";
import { VERSION } from "./version.ts";

/** Builds the command-line program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command("eventops")
    .description(
      "EventOps Flow: an edge telemetry agent (Kafka -> normalize -> enrich -> rules -> DuckDB -> HTTP)",
    )
    .version(VERSION, "-V, --version")
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });

  withCommonOptions(program.command("run"))
    .description("run the agent: consume, process, store and serve until SIGINT/SIGTERM")
    .option(
      "-s, --stages <list>",
      "comma-separated stages to run (normalize,enrich,features,rules,store,api)",
    )
    .option("-t, --topology <topology>", "auto, local or partitioned (docs/architecture.md, Topology)")
    .action(async (flags: CommonFlags) => {
      const { runCommand } = await import("./cli/run.ts");
      await runCommand(await configFromFlags(flags));
    });

  withCommonOptions(program.command("init"))
    .description("create the agent's topics (and register its schemas when schema_registry.url is set)")
    .action(async (flags: CommonFlags) => {
      const { initCommand } = await import("./cli/init.ts");
      await initCommand(await configFromFlags(flags));
    });

  const schemas = program.command("schemas")
    .description("the agent's schemas in the schema registry (schema_registry.url)");
  withCommonOptions(schemas.command("check"))
    .description("exit 1 unless this build's schemas are compatible with the registry's (for CI)")
    .action(async (flags: CommonFlags) => {
      const { schemasCheckCommand } = await import("./cli/schemas.ts");
      Deno.exitCode = await schemasCheckCommand(await configFromFlags(flags));
    });
  withCommonOptions(schemas.command("push"))
    .description("register this build's schemas and set the subjects' compatibility (idempotent)")
    .action(async (flags: CommonFlags) => {
      const { schemasPushCommand } = await import("./cli/schemas.ts");
      Deno.exitCode = await schemasPushCommand(await configFromFlags(flags));
    });

  withCommonOptions(program.command("seed"))
    .description("send the brief's two example events (cpu_load 85 and 97 for acme/host-a)")
    .action(async (flags: CommonFlags) => {
      const { seedCommand } = await import("./cli/seed.ts");
      await seedCommand(await configFromFlags(flags));
    });

  withCommonOptions(program.command("urls"))
    .description("print the dashboard and API URLs, on this machine and from the local network")
    .action(async (flags: CommonFlags) => {
      const { urlsCommand } = await import("./cli/urls.ts");
      urlsCommand(await configFromFlags(flags));
    });

  withCommonOptions(program.command("check"))
    .description("validate the config, inventory and rules, and run rule tests (YAML fixtures)")
    .argument("[tests...]", "rule test files (input events -> expected alerts)")
    .action(async (tests: string[], flags: CommonFlags) => {
      const { checkCommand } = await import("./cli/check.ts");
      Deno.exitCode = await checkCommand(flags, tests);
    });

  withCommonOptions(program.command("query"))
    .description(
      "run read-only SQL against the store (through the running agent, or the files when it is stopped)",
    )
    .argument(
      "<sql>",
      "one SELECT/WITH/DESCRIBE/SHOW/SUMMARIZE statement over metrics, alerts or metrics_all",
    )
    .option("-f, --format <format>", "table, csv or json", "table")
    .action(async (sql: string, flags: CommonFlags & { format: string }) => {
      const { queryCommand } = await import("./cli/query.ts");
      Deno.exitCode = await queryCommand(await configFromFlags(flags), sql, flags.format);
    });

  program.command("version")
    .description("print the version")
    .action(() => console.log(`eventops ${VERSION} (deno ${Deno.version.deno})`));

  return program;
}

if (import.meta.main) {
  try {
    await buildProgram().parseAsync(Deno.args, { from: "user" });
  } catch (error) {
    console.error(`eventops: ${describeError(error)}`);
    Deno.exit(1);
  }
}
