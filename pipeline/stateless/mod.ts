/**
 * The stateless group (normalize + enrich): raw messages in, `events.enriched` and dead letters out.
 *
 * - `batch.ts`: the pure part, {@link StatelessBatchBuilder} (normalize, enrich and pack each raw
 *   message as it arrives) and the handler that produces a built batch.
 * - `group.ts`: the group as one unit (its producer, consumer, inventory file), run in-process.
 * - `thread.ts`, `worker.ts`, `worker_protocol.ts`: the same group on its own worker thread
 *   (`stateless_thread`), restarted when it dies. The worker's module graph must stay readable
 *   under `permissions.agent` (`tests/unit/layout_test.ts` checks it).
 *
 * @module
 */
export {
  type BuilderDeps,
  createStatelessHandler,
  type RawMessage,
  type StatelessBatch,
  StatelessBatchBuilder,
} from "./batch.ts";
export {
  startStatelessGroup,
  type StatelessGroup,
  type StatelessHooks,
  type StatelessTopology,
} from "./group.ts";
export { startStatelessWorker, type StatelessWorkerOptions } from "./thread.ts";
