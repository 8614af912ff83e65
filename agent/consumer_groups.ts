/**
 * What the agent knows of the consumer groups it runs (`stages`): one {@link GroupHealth} each,
 * fed by the group's hooks (batches, stream state, assignment, failures) and by the lag read from
 * the broker every 5 s; read by `/readyz`, `/status` and `/prometheus`.
 *
 * @module
 */
import type { ConsumerHealth } from "../model/health.ts";
import type { PipelineMetrics } from "../telemetry/families.ts";
import type { Registry } from "../telemetry/registry.ts";
import type { Admin } from "@platformatic/kafka";
import type { Config } from "../config/schema.ts";
import { readGroupLag } from "../kafka/lag.ts";
import type { Logger } from "../lib/log.ts";
import type { GroupHooks } from "../pipeline/consumer_options.ts";
import { describeGroup, GroupHealth, type GroupMetrics, groupMetrics } from "../pipeline/group_health.ts";
import type { Lifecycle } from "./lifecycle.ts";
import { runs } from "./stages.ts";
import type { RunningTopology } from "./topology.ts";

/** How often the groups' lag is read from the broker. */
const LAG_INTERVAL_MS = 5_000;

/** The health of the stateless and stateful groups this process runs. */
export class ConsumerGroups {
  /** The stateless group's (normalize, enrich), when this process runs it. */
  readonly stateless?: GroupHealth;
  #stateful?: GroupHealth;
  readonly #all: GroupHealth[] = [];
  readonly #config: Config;
  readonly #metrics: PipelineMetrics;
  readonly #healthMetrics: GroupMetrics;
  readonly #assignmentListeners: (() => void)[] = [];
  /** The topology running now: set at start, and by `auto` when it switches to partitioned. */
  topology: RunningTopology;

  /**
   * The groups of `config.stages`, their health metrics registered in `registry`. In the `local`
   * topology the one group on the raw topic is {@link stateless} (it runs every stage).
   */
  constructor(config: Config, registry: Registry, metrics: PipelineMetrics, topology: RunningTopology) {
    this.#config = config;
    this.topology = topology;
    this.#metrics = metrics;
    this.#healthMetrics = groupMetrics(registry, metrics.consumerLag);
    if (runs(config, "normalize", "enrich")) {
      this.stateless = new GroupHealth(
        config.kafka.group_stateless,
        config.topics.raw,
        this.#healthMetrics,
        Date.now,
        config.inputs.map((input) => input.topic),
      );
      this.#all.push(this.stateless);
    }
    if (topology === "partitioned") this.addStateful();
  }

  /** The stateful group's (features, rules, store), when this process runs it in the partitioned topology. */
  get stateful(): GroupHealth | undefined {
    return this.#stateful;
  }

  /** Adds the stateful group (the partitioned topology, or `auto` switching to it), when the stages run here. */
  addStateful(): void {
    if (this.#stateful || !runs(this.#config, "features", "rules", "store")) return;
    this.#stateful = new GroupHealth(
      this.#config.kafka.group_stateful,
      this.#config.topics.enriched,
      this.#healthMetrics,
    );
    this.#all.push(this.#stateful);
  }

  /** Removes the stateful group again (the local topology's drain of `events.enriched` is over). */
  removeStateful(): void {
    if (!this.#stateful) return;
    this.#all.splice(this.#all.indexOf(this.#stateful), 1);
    this.#stateful = undefined;
  }

  /** Calls `listener` after each (re)join of any of the groups (a rebalance). */
  onAssignment(listener: () => void): void {
    this.#assignmentListeners.push(listener);
  }

  /** Each group as `/readyz` and `/status` show it. */
  consumers(): ConsumerHealth[] {
    return this.#all.map((group) =>
      describeGroup(group.snapshot(), Date.now(), this.#config.kafka.progress_timeout)
    );
  }

  /** The groups' total lag (their own topics' and the `inputs` topics'), undefined until it was read. */
  consumerLag(): number | undefined {
    let total: number | undefined;
    for (const group of this.consumers()) {
      for (const { lag } of [group, ...group.inputs]) if (lag !== null) total = (total ?? 0) + lag;
    }
    return total;
  }

  /** Batch metrics, progress, stream state and assignment of one group (`stage` labels its batch metrics). */
  hooks(health: GroupHealth, stage: string): GroupHooks {
    const metrics = this.#metrics;
    return {
      onBatch: (size, handlerMs, ageMs) => {
        metrics.batchSize.labels(stage).observe(size);
        metrics.batchSeconds.labels(stage).observe(handlerMs / 1000);
        metrics.batchAge.labels(stage).observe(Math.max(0, ageMs) / 1000);
        health.batch();
      },
      onState: (state, error) => health.state(state, error),
      onAssignment: (assignment) => {
        health.assignment(assignment);
        for (const listener of this.#assignmentListeners) listener();
      },
      onFailure: (error) => health.failure(error),
    };
  }

  /**
   * Reads the groups' lag (the broker's end offsets minus the groups' committed offsets) now and
   * every 5 s until `life` stops.
   */
  async readLagEvery(admin: Admin, log: Logger, life: Lifecycle): Promise<void> {
    let reading = false;
    const readLag = async () => {
      if (reading) return;
      reading = true;
      try {
        for (const group of this.#all) {
          for (const topic of group.topics) {
            group.lag(
              await readGroupLag(admin, group.group, topic, this.#config.kafka.from_beginning),
              topic,
            );
          }
        }
      } catch (error) {
        log.debug("could not read the consumer lag", { error });
      } finally {
        reading = false;
      }
    };
    const timer = setInterval(readLag, LAG_INTERVAL_MS);
    life.onStop(() => clearInterval(timer));
    await readLag();
  }
}
