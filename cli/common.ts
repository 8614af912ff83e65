/**
 * Options shared by the commands and the loading of the configuration from them.
 *
 * @module
 */
import { type Command, InvalidArgumentError } from "commander";
import { ConfigError, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";

/** The flags every command that needs the configuration accepts. */
export interface CommonFlags {
  config?: string;
  brokers?: string;
  data?: string;
  port?: number;
  stages?: string;
  topology?: string;
}

function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) {
    throw new InvalidArgumentError("expected a port number between 0 and 65535");
  }
  return Number(text);
}

/** Adds `--config`, `--brokers`, `--data` and `--port` to a command. */
export function withCommonOptions(command: Command): Command {
  return command
    .option(
      "-c, --config <file>",
      "YAML config file (default: eventops.yaml when present, or $EVENTOPS_CONFIG)",
    )
    .option("-b, --brokers <host:port,...>", "Kafka bootstrap brokers (default 127.0.0.1:9092)")
    .option("-d, --data <dir>", "data directory for metrics.duckdb and parquet/ (default ./data)")
    .option("-p, --port <n>", "HTTP port (default 8088)", parsePort);
}

/** Loads the configuration from the flags; prints a ConfigError and exits 2 on failure. */
export async function configFromFlags(flags: CommonFlags): Promise<Config> {
  try {
    return await loadConfig(flags.config, {
      brokers: flags.brokers,
      data: flags.data,
      port: flags.port,
      stages: flags.stages,
      topology: flags.topology,
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`eventops: invalid configuration\n${error.message}`);
      Deno.exit(2);
    }
    throw error;
  }
}
