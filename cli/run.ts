/**
 * `eventops run`: starts the agent and stops it gracefully on SIGINT/SIGTERM (stop consuming,
 * finish the batch in flight, commit, close). A signal that arrives while the agent still waits
 * for the broker stops it as well.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { describeError } from "../lib/errors.ts";
import { createLogger } from "../lib/log.ts";
import { type Agent, startAgent } from "../agent/mod.ts";

/** Runs the agent until a signal arrives; exits non-zero when it cannot start. */
export async function runCommand(config: Config): Promise<void> {
  const log = createLogger(config.log_level);
  const startedAt = performance.now();
  const { promise: signalled, resolve } = Promise.withResolvers<Deno.Signal>();
  const aborter = new AbortController();
  const onSignal = (signal: Deno.Signal) => () => {
    aborter.abort();
    resolve(signal);
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = onSignal(signal);
    Deno.addSignalListener(signal, handler);
    return [signal, handler] as const;
  });
  const removeHandlers = () => {
    for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
  };
  let agent: Agent;
  try {
    agent = await startAgent(config, log, { signal: aborter.signal });
  } catch (error) {
    if (aborter.signal.aborted) {
      removeHandlers();
      log.info("stopped before the agent started", { signal: await signalled });
      return;
    }
    log.error("cannot start", { error: describeError(error), brokers: config.kafka.brokers.join(",") });
    Deno.exit(1);
  }
  log.info("agent started", {
    ms: Math.round(performance.now() - startedAt),
    rss_mb: Math.round(Deno.memoryUsage().rss / 1_048_576),
    stages: config.stages,
  });
  const signal = await signalled;
  log.info("stopping", { signal });
  const stopTimer = setTimeout(() => {
    log.error("graceful stop took over 30 s; exiting");
    Deno.exit(1);
  }, 30_000);
  await agent.stop();
  clearTimeout(stopTimer);
  removeHandlers();
  log.info("stopped");
}
