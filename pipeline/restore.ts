/**
 * The restore of a departed agent's rows (scale-out, issue 24). Each series is stored by the agent
 * that owns its `events.enriched` partition; the stores are not replicated. When an agent dies (or
 * leaves) the group hands its partitions to the others, which carry on from the committed offsets,
 * but the rows it stored went with it. `events.enriched` still holds them: the new owner re-reads each
 * such partition from where the departed owner started (its *tenure*, recorded at the rebalance that
 * gave it the partition) up to the committed offset, and stores them. The store skips what it has.
 *
 * Only a partition whose previous owner left the group is restored: after a live rebalance (an agent
 * joins) the previous owner still answers for the rows it stored, and fan-out reads add them up.
 *
 * {@link HandoffLog} is the pure bookkeeping; {@link PartitionRestorer} runs it at each rebalance.
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";
import type { RestoreReport } from "../model/cluster.ts";

export type { RestoreReport };

/** Who owned a partition, and the first offset it handled. */
export interface Tenure {
  /** The owner's identity (its agent instance, or its member id when it advertises none). */
  owner: string;
  /** The group's committed offset when it got the partition: where it started. */
  start: bigint;
  /**
   * Whether `start` is where the owner really started: this agent saw it get the partition, or the
   * group had committed nothing yet. False when this agent first saw it already owning the partition
   * (it joined later): the owner may hold rows from before `start`.
   */
  observed: boolean;
}

/** One partition to re-read: offsets [`from`, `to`). */
export interface RestoreRange {
  partition: number;
  from: bigint;
  to: bigint;
  /** The owner that stored them and left. */
  departed: string;
  /** Whether the range is all it stored of the partition (its tenure's start was observed). */
  whole: boolean;
}

/** The partition's offsets at a rebalance. */
export interface PartitionOffsets {
  /** The group's committed offset (-1: none yet). */
  committed: bigint;
  /** The log's first offset. */
  start: bigint;
}

/** What one rebalance looked like to this agent. */
export interface RebalanceSnapshot {
  /** Partition -> its owner's identity, as the group's coordinator described it. */
  owners: ReadonlyMap<number, string>;
  /** Every member's identity. */
  members: ReadonlySet<string>;
  /** This agent's identity. */
  self: string;
  /** Member identity -> its process's instance id (the origin of the alert records it produced). */
  instances?: ReadonlyMap<string, string>;
  offsets: ReadonlyMap<number, PartitionOffsets>;
}

/** The owner of each partition since when (pure bookkeeping over rebalances). */
export class HandoffLog {
  readonly #tenures = new Map<number, Tenure>();

  /** The recorded tenure of `partition`. */
  tenure(partition: number): Tenure | undefined {
    return this.#tenures.get(partition);
  }

  /**
   * Records a rebalance and returns the ranges this agent must restore: the partitions it gained
   * from an owner no longer in the group, from that owner's start up to the committed offset (a
   * range cut short, by retention or a start not observed, is marked not `whole`). A partition first
   * seen (this agent just joined) starts a tenure without a restore: who stored it before is not
   * known (documented limit).
   */
  rebalanced(snapshot: RebalanceSnapshot): RestoreRange[] {
    const ranges: RestoreRange[] = [];
    for (const [partition, owner] of snapshot.owners) {
      const offsets = snapshot.offsets.get(partition);
      if (offsets === undefined) continue;
      const resumesAt = offsets.committed >= 0n ? offsets.committed : offsets.start;
      const previous = this.#tenures.get(partition);
      if (previous?.owner === owner) continue;
      const departed = previous !== undefined && !snapshot.members.has(previous.owner);
      if (departed) {
        // Whoever gets it restores the departed owner's tenure: the new owner holds the partition from
        // where the departed one started (so a later departure of the new owner restores that far).
        this.#tenures.set(partition, { owner, start: previous.start, observed: previous.observed });
      } else {
        // First seen already owned: its start is known only when nothing was committed before.
        const observed = previous !== undefined || offsets.committed < 0n;
        this.#tenures.set(partition, { owner, start: resumesAt, observed });
      }
      if (!departed || owner !== snapshot.self) continue;
      const from = previous.start > offsets.start ? previous.start : offsets.start;
      const whole = previous.observed && previous.start >= offsets.start;
      if (from < resumesAt || !whole) {
        ranges.push({
          partition,
          from: from < resumesAt ? from : resumesAt,
          to: resumesAt,
          departed: previous.owner,
          whole,
        });
      }
    }
    return ranges.sort((a, b) => a.partition - b.partition);
  }
}

/** The alerts to restore after a rebalance's rows: those of these partitions' series produced by these processes. */
export interface AlertsToRestore {
  /** `events.enriched` partitions restored. */
  partitions: number[];
  /** Departed identity -> the instance ids its processes had (as seen since this agent joined). */
  departed: Map<string, string[]>;
}

/** One stored chunk of a restore. */
export interface RestoreProgress {
  messages: number;
  events: number;
  inserted: number;
}

/** What a {@link PartitionRestorer} works with (the agent's Kafka clients and store). */
export interface RestorerDeps {
  /** Describes the group after a rebalance (owners, members, this agent, offsets). */
  snapshot(): Promise<RebalanceSnapshot | undefined>;
  /**
   * Reads one range in order and stores its events (the writer skips the rows it has), calling
   * `progress` after each chunk.
   */
  read(range: RestoreRange, progress: (chunk: RestoreProgress) => void): Promise<void>;
  /**
   * The group's members now (identities): the rows restored here from any of them are left out of
   * reads (a departed agent came back with its store: it holds the same rows).
   */
  hide(members: ReadonlySet<string>): Promise<void>;
  /** Restores the departed agents' alert transitions (history and rule state); resolves with how many. */
  alerts?(wanted: AlertsToRestore): Promise<number>;
  log?: Logger;
}

/**
 * Runs the restore at each rebalance of the stateful group: {@link assigned} starts it (the group's
 * handler waits for {@link settled} before its next batch, so restored rows are stored, and the
 * features rebuilt from them, before the partition's new events); {@link restoring} says which
 * partitions are incomplete meanwhile (reads mark their answers partial).
 */
export class PartitionRestorer {
  readonly #deps: RestorerDeps;
  readonly #log = new HandoffLog();
  #pending: Promise<void> = Promise.resolve();
  readonly #restoring = new Set<number>();
  /** Member identity -> every instance id seen for it (its restarts). */
  readonly #instances = new Map<string, Set<string>>();
  /** The last restore done. */
  last: RestoreReport | undefined;

  /** A restorer over `deps`. */
  constructor(deps: RestorerDeps) {
    this.#deps = deps;
  }

  /** Partitions being restored now (their series' answers are incomplete). */
  restoring(): number[] {
    return [...this.#restoring].sort((a, b) => a - b);
  }

  /** Resolves when no restore is running (never rejects: a failed restore is logged). */
  settled(): Promise<void> {
    return this.#pending;
  }

  /** The group's assignment changed: records it, and restores what a departed owner left. */
  assigned(): void {
    this.#pending = this.#pending.then(() => this.#rebalanced()).catch((error) => {
      this.#restoring.clear();
      this.#deps.log?.error("could not restore the rows of a departed agent", { error });
    });
  }

  async #rebalanced(): Promise<void> {
    const snapshot = await this.#deps.snapshot();
    if (snapshot === undefined) return;
    await this.#deps.hide(snapshot.members);
    for (const [identity, instance] of snapshot.instances ?? []) {
      let seen = this.#instances.get(identity);
      if (seen === undefined) this.#instances.set(identity, seen = new Set());
      seen.add(instance);
    }
    const ranges = this.#log.rebalanced(snapshot);
    if (ranges.length === 0) return;
    const started = performance.now();
    for (const range of ranges) this.#restoring.add(range.partition);
    const report: RestoreReport = {
      partitions: ranges.map((r) => r.partition),
      messages: 0,
      events: 0,
      inserted: 0,
      alerts: 0,
      incomplete: ranges.filter((r) => !r.whole).map((r) => r.partition),
      ms: 0,
    };
    this.#deps.log?.info("restoring the rows of a departed agent from events.enriched", {
      ranges: ranges.map((r) => ({
        partition: r.partition,
        from: String(r.from),
        to: String(r.to),
        departed: r.departed,
      })),
    });
    try {
      for (const range of ranges) {
        await this.#deps.read(range, (chunk) => {
          report.messages += chunk.messages;
          report.events += chunk.events;
          report.inserted += chunk.inserted;
        });
      }
      const departed = new Map<string, string[]>();
      for (const range of ranges) {
        departed.set(range.departed, [...this.#instances.get(range.departed) ?? []]);
      }
      if (this.#deps.alerts) {
        report.alerts = await this.#deps.alerts({ partitions: report.partitions, departed });
      }
    } finally {
      this.#restoring.clear();
    }
    report.ms = Math.round(performance.now() - started);
    this.last = report;
    this.#deps.log?.info("restored the rows of a departed agent", { ...report });
    if (report.incomplete.length > 0) {
      this.#deps.log?.warn(
        "a departed agent held rows that cannot be restored (from before this agent joined, or past the " +
          "topic's retention): reads lack them",
        { partitions: report.incomplete },
      );
    }
  }
}
