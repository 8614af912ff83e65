/**
 * Runs the stateless group on a worker thread (`worker.ts`) behind the same interface as
 * the in-process group: counters, batch metrics and lag arrive as messages and go to the hooks. A
 * worker that dies unexpectedly is logged and started again (its uncommitted batch replays).
 *
 * @module
 */
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { addCount } from "../../telemetry/counters.ts";
import type { StatelessGroup, StatelessHooks, StatelessTopology } from "./group.ts";
import type { FromStatelessWorker, ToStatelessWorker } from "./worker_protocol.ts";

const STOP_TIMEOUT_MS = 25_000;
const RESTART_DELAY_MS = 1_000;

/** How to run the worker; the defaults are the agent's. */
export interface StatelessWorkerOptions {
  /** The worker module (speaks `worker_protocol.ts`). */
  module?: URL;
  /** Wait before starting a worker that died again. */
  restartDelayMs?: number;
}

const WORKER_MODULE = new URL("./worker.ts", import.meta.url);

/** One worker's life: resolves `started` or rejects; `exited` settles when it stopped or died. */
function spawn(
  module: URL,
  config: Config,
  log: Logger,
  hooks: StatelessHooks,
  topology: StatelessTopology,
): { worker: Worker; started: Promise<void>; exited: Promise<"stopped" | "died"> } {
  const worker = new Worker(module, {
    type: "module",
    name: "stateless",
  });
  const started = Promise.withResolvers<void>();
  const exited = Promise.withResolvers<"stopped" | "died">();
  worker.onmessage = ({ data }: MessageEvent<FromStatelessWorker>) => {
    switch (data.type) {
      case "count":
        addCount(hooks.counters, data.counter, data.amount);
        break;
      case "batch":
        hooks.onBatch(data.size, data.handlerMs, data.ageMs);
        break;
      case "state":
        hooks.onState(data.state, data.error);
        break;
      case "assignment":
        hooks.onAssignment(data.assignment);
        break;
      case "failure":
        hooks.onFailure(data.error);
        break;
      case "started":
        started.resolve();
        break;
      case "failed":
        started.reject(new Error(data.message));
        exited.resolve("died");
        break;
      case "stopped":
        exited.resolve("stopped");
        break;
    }
  };
  worker.onerror = (event) => {
    event.preventDefault();
    log.error("the stateless worker failed", {
      error: event.message,
      at: `${event.filename}:${event.lineno}`,
    });
    started.reject(new Error(`the stateless worker failed: ${event.message}`));
    exited.resolve("died");
  };
  const start: ToStatelessWorker = { type: "start", config, ...topology };
  worker.postMessage(start);
  return { worker, started: started.promise, exited: exited.promise };
}

/** Starts the stateless group on a worker thread; resolves once its consumer joined the group. */
export async function startStatelessWorker(
  config: Config,
  log: Logger,
  hooks: StatelessHooks,
  topology: StatelessTopology,
  options: StatelessWorkerOptions = {},
): Promise<StatelessGroup> {
  const { module = WORKER_MODULE, restartDelayMs = RESTART_DELAY_MS } = options;
  let current = spawn(module, config, log, hooks, topology);
  try {
    await current.started;
  } catch (error) {
    current.worker.terminate();
    throw error;
  }
  let stopping = false;
  const supervise = async (): Promise<void> => {
    while (!stopping && (await current.exited) === "died" && !stopping) {
      current.worker.terminate();
      hooks.onState("lost", "the stateless worker thread died; starting a new one");
      await new Promise((resolve) => setTimeout(resolve, restartDelayMs));
      if (stopping) return;
      log.warn("restarting the stateless worker");
      current = spawn(module, config, log, hooks, topology);
      await current.started.catch(() => undefined);
    }
  };
  void supervise();
  return {
    async stop() {
      stopping = true;
      const stop: ToStatelessWorker = { type: "stop" };
      current.worker.postMessage(stop);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS);
      });
      const how = await Promise.race([current.exited, timeout]);
      clearTimeout(timer);
      if (how === "timeout") log.warn("the stateless worker did not stop in time; terminated");
      current.worker.terminate();
    },
  };
}
