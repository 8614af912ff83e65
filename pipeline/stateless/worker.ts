/**
 * Worker entry point: runs the stateless group (normalize + enrich) on its own thread, so the
 * agent's two consumer groups use two cores. Started by `thread.ts`; inherits the agent's
 * permissions. Logs go to stderr like the agent's; counters and batch metrics are posted back.
 *
 * @module
 */
import { describeError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import type { CounterName } from "../../telemetry/counters.ts";
import { startStatelessGroup, type StatelessGroup } from "./group.ts";
import type { FromStatelessWorker, ToStatelessWorker } from "./worker_protocol.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToStatelessWorker>) => void) | null;
  postMessage(message: FromStatelessWorker): void;
  close(): void;
}

const scope = globalThis as unknown as WorkerScope;
const post = (message: FromStatelessWorker) => scope.postMessage(message);
let group: StatelessGroup | undefined;

scope.onmessage = async ({ data }) => {
  if (data.type === "start") {
    const log = createLogger(data.config.log_level);
    try {
      group = await startStatelessGroup(data.config, log, {
        counters: {
          add: (stage, kind, amount) =>
            amount !== 0 && post({ type: "count", counter: { stage, kind } as CounterName, amount }),
        },
        onBatch: (size, handlerMs, ageMs) => post({ type: "batch", size, handlerMs, ageMs }),
        onState: (state, error) => post({ type: "state", state, error }),
        onAssignment: (assignment) => post({ type: "assignment", assignment }),
        onFailure: (error) => post({ type: "failure", error }),
      }, { enrichedPartitions: data.enrichedPartitions, limits: data.limits });
      post({ type: "started" });
    } catch (error) {
      post({ type: "failed", message: describeError(error) });
    }
  } else if (data.type === "stop") {
    try {
      await group?.stop();
    } finally {
      post({ type: "stopped" });
      scope.close();
    }
  }
};
