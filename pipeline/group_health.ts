/**
 * The health of each consumer group this process runs, as readiness needs it: is its stream live,
 * and is it making progress? A group is ready when it consumes and either has nothing pending on
 * its partitions or handled a batch within `kafka.progress_timeout`. Lag comes from the broker
 * (`kafka/lag.ts`), progress and stream state from the group's consumer.
 *
 * @module
 */
import type { ConsumerHealth } from "../model/health.ts";
import { registerFamilies } from "../telemetry/families.ts";
import type { Counter, Gauge, Registry } from "../telemetry/registry.ts";
import type { Assignment, StreamState } from "../kafka/consumer_supervisor.ts";
import { type PartitionLags, sumLags } from "../kafka/lag.ts";
import { formatDuration } from "../lib/duration.ts";

/** A group's state: `starting` until its first stream opens (waiting for the broker, joining). */
export type GroupState = "starting" | StreamState;

/** An `inputs` topic the group also reads: its assignment and lag, as the group's own topic's. */
export interface InputTopicSnapshot {
  topic: string;
  partitions?: number[];
  lags?: PartitionLags;
}

/** What readiness reads of one group (plain data: see {@link assessGroup}). */
export interface GroupSnapshot {
  group: string;
  topic: string;
  state: GroupState;
  /** Epoch ms of the last state change. */
  since: number;
  /** Why the stream was last lost. */
  lostError?: string;
  /** Epoch ms of the last handled batch. */
  lastBatchAt?: number;
  /** Epoch ms of the last progress: a handled batch, or the stream (re)opening. */
  lastProgressAt: number;
  /** The failure of the batch being retried, and since when it fails. */
  failing?: { error: string; since: number };
  /** Partitions of `topic` assigned to this process (undefined until the first join). */
  partitions?: number[];
  /** Per-partition lag from the broker, and when it was read. */
  lags?: PartitionLags;
  lagAt?: number;
  reconnects: number;
  /** The `inputs` topics the group also reads. */
  inputs: InputTopicSnapshot[];
}

/** `ms` as seconds with one decimal (`47.1 s`). */
function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
}

/** Whether a group is ready, and why not. */
export function assessGroup(
  snapshot: GroupSnapshot,
  nowMs: number,
  progressTimeoutMs: number,
): { ok: boolean; reason?: string } {
  const { group, state } = snapshot;
  const since = seconds(nowMs - snapshot.since);
  if (state === "starting") return { ok: false, reason: `consumer group ${group}: starting for ${since}` };
  if (state === "lost") {
    return {
      ok: false,
      reason:
        `consumer group ${group}: lost its stream ${since} ago (${snapshot.lostError ?? "unknown error"}); ` +
        `reconnecting`,
    };
  }
  if (state === "stopped") return { ok: false, reason: `consumer group ${group}: stopped` };
  const pending = [snapshot, ...snapshot.inputs].reduce<number | undefined>(
    (sum, topic) => topic.lags === undefined ? sum : (sum ?? 0) + sumLags(topic.lags, topic.partitions ?? []),
    undefined,
  );
  const idleMs = nowMs - snapshot.lastProgressAt;
  if (pending !== undefined && pending > 0 && idleMs > progressTimeoutMs) {
    const failing = snapshot.failing ? `; the batch fails: ${snapshot.failing.error}` : "";
    return {
      ok: false,
      reason: `consumer group ${group}: ${pending} messages pending and no batch handled for ` +
        `${seconds(idleMs)} (kafka.progress_timeout ${formatDuration(progressTimeoutMs)})${failing}`,
    };
  }
  return { ok: true };
}

/** The group as `/readyz` and `/status` show it. */
export function describeGroup(
  snapshot: GroupSnapshot,
  nowMs: number,
  progressTimeoutMs: number,
): ConsumerHealth {
  const { ok, reason } = assessGroup(snapshot, nowMs, progressTimeoutMs);
  return {
    group: snapshot.group,
    topic: snapshot.topic,
    ok,
    state: snapshot.state,
    lag: snapshot.lags === undefined ? null : sumLags(snapshot.lags),
    assigned_lag: snapshot.lags === undefined ? null : sumLags(snapshot.lags, snapshot.partitions ?? []),
    partitions: snapshot.partitions ?? null,
    last_batch_at: snapshot.lastBatchAt ?? null,
    idle_s: Math.round(Math.max(0, nowMs - snapshot.lastProgressAt) / 100) / 10,
    reconnects: snapshot.reconnects,
    inputs: snapshot.inputs.map((input) => ({
      topic: input.topic,
      lag: input.lags === undefined ? null : sumLags(input.lags),
      assigned_lag: input.lags === undefined ? null : sumLags(input.lags, input.partitions ?? []),
      partitions: input.partitions ?? null,
    })),
    ...(reason === undefined ? {} : { reason }),
  };
}

/** The metric families of the groups' health. */
export interface GroupMetrics {
  lag: Gauge;
  consuming: Gauge;
  lastProgress: Gauge;
  reconnects: Counter;
}

/** Registers the groups' metric families (the lag family is the pipeline's `eventops_consumer_lag`). */
export function groupMetrics(registry: Registry, lag: Gauge): GroupMetrics {
  return { lag, ...registerFamilies(registry, ["consuming", "lastProgress", "reconnects"]) };
}

/** Tracks one group from its consumer's reports and the broker's lag. */
export class GroupHealth {
  readonly #snapshot: GroupSnapshot;
  readonly #metrics: GroupMetrics;
  readonly #now: () => number;

  /** A group consuming `topic` (and the `inputs` topics `inputs`), starting now. */
  constructor(
    group: string,
    topic: string,
    metrics: GroupMetrics,
    now: () => number = Date.now,
    inputs: readonly string[] = [],
  ) {
    this.#now = now;
    this.#metrics = metrics;
    const at = now();
    this.#snapshot = {
      group,
      topic,
      state: "starting",
      since: at,
      lastProgressAt: at,
      reconnects: 0,
      inputs: inputs.map((input) => ({ topic: input })),
    };
    metrics.consuming.labels(group).set(0);
  }

  /** The group's name. */
  get group(): string {
    return this.#snapshot.group;
  }

  /** The group's topic. */
  get topic(): string {
    return this.#snapshot.topic;
  }

  /** Every topic the group reads: its own, then the `inputs` topics. */
  get topics(): string[] {
    return [this.#snapshot.topic, ...this.#snapshot.inputs.map((input) => input.topic)];
  }

  /** A copy of what is known. */
  snapshot(): GroupSnapshot {
    return { ...this.#snapshot, inputs: this.#snapshot.inputs.map((input) => ({ ...input })) };
  }

  /** The stream's state changed. */
  state(state: StreamState, error?: string): void {
    const snapshot = this.#snapshot;
    const at = this.#now();
    if (state === "consuming") {
      if (snapshot.state === "lost") {
        snapshot.reconnects++;
        this.#metrics.reconnects.labels(snapshot.group).inc();
      }
      this.#progress(at);
    }
    if (state === "lost") snapshot.lostError = error;
    snapshot.state = state;
    snapshot.since = at;
    this.#metrics.consuming.labels(snapshot.group).set(state === "consuming" ? 1 : 0);
  }

  /** A batch was handled. */
  batch(): void {
    const at = this.#now();
    this.#snapshot.lastBatchAt = at;
    this.#snapshot.failing = undefined;
    this.#progress(at);
  }

  /** The batch in hand failed (it is retried). */
  failure(error: string): void {
    this.#snapshot.failing = { error, since: this.#snapshot.failing?.since ?? this.#now() };
  }

  /** The partitions assigned after a (re)join. */
  assignment(assignment: Assignment): void {
    const of = (topic: string) =>
      assignment.filter((entry) => entry.topic === topic).flatMap((entry) => entry.partitions).sort((a, b) =>
        a - b
      );
    this.#snapshot.partitions = of(this.#snapshot.topic);
    for (const input of this.#snapshot.inputs) input.partitions = of(input.topic);
  }

  /** The lag of `topic` (the group's own by default, or one of its `inputs` topics) read from the broker. */
  lag(lags: PartitionLags, topic: string = this.#snapshot.topic): void {
    const snapshot = this.#snapshot;
    if (topic === snapshot.topic) {
      snapshot.lags = lags;
      snapshot.lagAt = this.#now();
    } else {
      const input = snapshot.inputs.find((entry) => entry.topic === topic);
      if (input === undefined) throw new Error(`group ${snapshot.group} does not read ${topic}`);
      input.lags = lags;
    }
    this.#metrics.lag.labels(snapshot.group, topic).set(sumLags(lags));
  }

  #progress(at: number): void {
    this.#snapshot.lastProgressAt = at;
    this.#metrics.lastProgress.labels(this.#snapshot.group).set(at / 1000);
  }
}
