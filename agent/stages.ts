/**
 * Which stages this process runs (`stages`, `--stages`).
 *
 * @module
 */
import type { Config, StageName } from "../config/schema.ts";

/** Whether this process runs any of `stages`. */
export function runs(config: Config, ...stages: StageName[]): boolean {
  return stages.some((stage) => config.stages.includes(stage));
}
