/**
 * Which topology the agent runs (`topology`, docs/architecture.md) and the one that switches:
 * `partitioned` (the stateless and stateful groups, `stateless.ts` and `stateful.ts`), `local` (one
 * pass, `local.ts`), or `auto`: local while this agent owns every raw partition, and partitioned for
 * good from the first rebalance that leaves it a part of the raw topic.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { FeatureEngine } from "../stages/features.ts";
import { partitionCount } from "../kafka/topics.ts";
import { drainTargets, lagToTargets, readGroupOffsets } from "../kafka/lag.ts";
import type { Logger } from "../lib/log.ts";
import type { PipelineCounters } from "../telemetry/counters.ts";
import type { ConsumerGroups } from "./consumer_groups.ts";
import { startLocal } from "./local.ts";
import { runs } from "./stages.ts";
import { startStateful, type StatefulParts } from "./stateful.ts";
import { startStateless } from "./stateless.ts";

/** How often the drain of `events.enriched` reads the stateful group's progress. */
const DRAIN_POLL_MS = 500;
/** How often the drain logs what is left. */
const DRAIN_LOG_MS = 10_000;

/** The topology actually running. */
export type RunningTopology = "local" | "partitioned";

/** Something running that stops (finishes its batch in flight and commits). */
interface Running {
  stop(): Promise<void>;
}

/**
 * The topology to start with: `partitioned` as configured, or when this process does not run both
 * the stateless (normalize, enrich) and the stateful (features, rules, store) stages; else `local`.
 * Throws for `topology: local` with split stages (a configuration error).
 */
export function startingTopology(config: Config): RunningTopology {
  if (config.topology === "partitioned") return "partitioned";
  const both = runs(config, "normalize", "enrich") && runs(config, "features", "rules", "store");
  if (both) return "local";
  if (config.topology === "local") {
    throw new Error(
      "topology local runs every stage in one process: stages must include normalize or enrich and " +
        "features, rules or store (or set topology: partitioned)",
    );
  }
  return "partitioned";
}

/** The parts both topologies are built from (the hooks come from `groups`). */
export type PipelineParts = Omit<StatefulParts, "hooks"> & { counters: PipelineCounters };

/** Starts the partitioned topology: the groups of `config.stages`, the stateful one after the stateless. */
export async function startPartitioned(
  config: Config,
  log: Logger,
  groups: ConsumerGroups,
  parts: PipelineParts,
): Promise<Running> {
  const running: Running[] = [];
  const stopAll = async () => {
    await Promise.all(running.map((group) => group.stop()));
  };
  try {
    if (groups.stateless) {
      const hooks = { counters: parts.counters, ...groups.hooks(groups.stateless, "stateless") };
      const enrichedPartitions = await partitionCount(parts.admin, config.topics.enriched);
      running.push(await startStateless(config, log, hooks, { enrichedPartitions, limits: parts.limits }));
    }
    if (groups.stateful) {
      const hooks = groups.hooks(groups.stateful, "stateful");
      running.push(await startStateful(config, log, { ...parts, hooks }));
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { stop: stopAll };
}

/**
 * Runs the configured topology. Under `auto` it starts local; when another agent joins the raw
 * topic's group, the raw consumer stays (no consumer is closed mid-rebalance) and sends its batches
 * to `events.enriched` from then on, and the stateful group starts here, for good: this agent is
 * then partitioned (its raw consumer in-process). The store's id filter keeps a replay exact.
 */
export class TopologyRun {
  readonly #config: Config;
  readonly #log: Logger;
  readonly #groups: ConsumerGroups;
  readonly #parts: PipelineParts;
  readonly #running: Running[] = [];
  #stateful?: Promise<void>;
  #stopping = false;

  /** A run of the topology `groups` were made for (see {@link startingTopology}), not started yet. */
  constructor(config: Config, log: Logger, groups: ConsumerGroups, parts: PipelineParts) {
    this.#config = config;
    this.#log = log;
    this.#groups = groups;
    this.#parts = { ...parts, features: parts.features ?? new FeatureEngine(config.features) };
  }

  /** The topology running now (the consumer groups hold it: `/status` reads it there too). */
  get topology(): RunningTopology {
    return this.#groups.topology;
  }

  /** Starts the topology; resolves once its consumers joined their groups. */
  async start(): Promise<void> {
    if (this.#groups.topology === "partitioned") {
      this.#running.push(await startPartitioned(this.#config, this.#log, this.#groups, this.#parts));
      return;
    }
    const stateless = this.#groups.stateless;
    if (!stateless) throw new Error("the local topology needs the normalize or enrich stage");
    await this.#drainEnriched();
    if (this.#stopping) return;
    const auto = this.#config.topology === "auto";
    this.#running.push(
      await startLocal(this.#config, this.#log, {
        ...this.#parts,
        hooks: this.#groups.hooks(stateless, "local"),
        whenShared: auto ? (reason) => this.#startStateful(reason) : undefined,
      }),
    );
  }

  /**
   * Events an earlier partitioned run (or an `auto` run that switched) left in `events.enriched`,
   * which the stateful group has not handled, would never be stored by the local topology: it reads
   * the raw topic only, whose positions are past them. So the stateful group handles them first, up
   * to the end offsets read now, and stops; then the local topology starts.
   */
  async #drainEnriched(): Promise<void> {
    const { admin } = this.#parts;
    const group = this.#config.kafka.group_stateful;
    const topic = this.#config.topics.enriched;
    const fromBeginning = this.#config.kafka.from_beginning;
    const offsets = await readGroupOffsets(admin, group, topic);
    const targets = drainTargets(offsets, fromBeginning);
    if (targets.size === 0) return;
    const pendingNow = async () =>
      lagToTargets(targets, await readGroupOffsets(admin, group, topic), fromBeginning);
    let pending = lagToTargets(targets, offsets, fromBeginning);
    const started = Date.now();
    this.#log.warn(
      "topology local: events.enriched holds events not stored yet (a partitioned run before); storing them first",
      {
        pending,
        group,
      },
    );
    this.#groups.addStateful();
    const hooks = this.#groups.hooks(this.#groups.stateful!, "stateful");
    const stateful = await startStateful(this.#config, this.#log, { ...this.#parts, hooks });
    this.#running.push(stateful);
    try {
      let logged = started;
      while (pending > 0 && !this.#stopping) {
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
        pending = await pendingNow();
        if (Date.now() - logged >= DRAIN_LOG_MS) {
          logged = Date.now();
          this.#log.info("topology local: storing what events.enriched holds", { pending });
        }
      }
    } finally {
      this.#running.splice(this.#running.indexOf(stateful), 1);
      await stateful.stop();
      this.#groups.removeStateful();
    }
    if (!this.#stopping) {
      this.#log.info("topology local: events.enriched drained", { seconds: (Date.now() - started) / 1000 });
    }
  }

  /** Starts the stateful group once (`auto` going partitioned); a failed start is tried again on the next call. */
  #startStateful(reason: string): Promise<void> {
    if (this.#stopping) return Promise.reject(new Error("the agent is stopping"));
    this.#stateful ??= (async () => {
      this.#log.warn("topology auto: another agent joined the raw topic's group; switching to partitioned", {
        reason,
      });
      this.#groups.topology = "partitioned";
      this.#groups.addStateful();
      const hooks = this.#groups.hooks(this.#groups.stateful!, "stateful");
      this.#running.push(await startStateful(this.#config, this.#log, { ...this.#parts, hooks }));
      this.#log.info("topology auto: running partitioned");
    })().catch((error) => {
      this.#stateful = undefined;
      throw error;
    });
    return this.#stateful;
  }

  /** Stops what runs (after a switch in progress). */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#stateful?.catch(() => undefined);
    await Promise.all(this.#running.map((running) => running.stop()));
    this.#running.length = 0;
  }
}
