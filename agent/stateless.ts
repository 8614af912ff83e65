/**
 * The agent's stateless group (normalize + enrich): on its own thread (`stateless_thread`), or
 * in-process.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import {
  startStatelessGroup,
  startStatelessWorker,
  type StatelessHooks,
  type StatelessTopology,
} from "../pipeline/stateless/mod.ts";

/**
 * Starts the stateless group on its own thread (`stateless_thread`), or in-process. A worker that
 * cannot start (say, a build whose sandbox cannot load the worker's modules) falls back to
 * in-process with a warning; an error of the group itself (a bad inventory) then shows again.
 */
export async function startStateless(
  config: Config,
  log: Logger,
  hooks: StatelessHooks,
  topology: StatelessTopology,
): Promise<{ stop(): Promise<void> }> {
  if (config.stateless_thread) {
    try {
      return await startStatelessWorker(config, log, hooks, topology);
    } catch (error) {
      log.warn("the stateless worker thread did not start; running the stateless group in-process", {
        error,
      });
    }
  }
  return await startStatelessGroup(config, log, hooks, topology);
}
