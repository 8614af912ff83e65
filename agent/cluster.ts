/**
 * Scale-out reads: the partition -> agent map of the group that stores the series, read from the
 * group coordinator (DescribeGroups: each member's advertised address and assignment, see
 * `kafka/membership.ts`) after each rebalance this agent takes part in, and every 5 s; the API asks
 * it where the reads of a series go.
 *
 * @module
 */
import type { Admin } from "@platformatic/kafka";
import type { ClusterApi, PeerAlertsState } from "../api/mod.ts";
import type { RestoreReport } from "../pipeline/restore.ts";
import type { Config } from "../config/schema.ts";
import { AGENT_INSTANCE, clusterViewOf, type DescribedGroup, ownerOfSeries } from "../kafka/membership.ts";
import { partitionCount } from "../kafka/topics.ts";
import type { Logger } from "../lib/log.ts";
import type { ClusterView, SeriesOwner } from "../model/cluster.ts";
import type { Lifecycle } from "./lifecycle.ts";

/** How often the map is read again (besides after each rebalance). */
const REFRESH_MS = 5_000;

/** The cluster map, kept current. */
export class ClusterMembership implements ClusterApi {
  readonly #config: Config;
  readonly #admin: Admin;
  readonly #log: Logger;
  readonly #partitions = new Map<string, number>();
  #view: ClusterView | undefined;
  #reading: Promise<void> | undefined;
  readonly #listeners: ((membership: ClusterMembership) => void)[] = [];
  /** Where the feed of the other agents' alerts is (set by `agent/peer_alerts.ts`). */
  peerAlertsState: () => PeerAlertsState = () => "off";
  /** The partitions being restored from a departed agent (set by `agent/stateful.ts`). */
  restoringPartitions: () => number[] = () => [];
  /** The last restore report (set by `agent/stateful.ts`). */
  lastRestoreReport: () => RestoreReport | undefined = () => undefined;
  readonly forwardTimeoutMs: number;
  /** This agent's advertised base URL (`http.advertise`, or the bound address: set once the API listens). */
  selfUrl: string;

  /** A map over the groups of `config`, read with `admin`. */
  constructor(config: Config, admin: Admin, log: Logger) {
    this.#config = config;
    this.#admin = admin;
    this.#log = log;
    this.forwardTimeoutMs = config.http.forward_timeout;
    this.selfUrl = config.http.advertise;
  }

  /** The map as last read; undefined before the first read. */
  view(): ClusterView | undefined {
    return this.#view;
  }

  /** Where the reads of a series go; this agent while no map was read or it is alone. */
  ownerOf(series: { tenant: string; host: string; metric: string }): SeriesOwner {
    const view = this.#view;
    if (view === undefined) return { kind: "self" };
    if (view.members.length === 1 && view.members[0].self) return { kind: "self" };
    const owner = ownerOfSeries(view, series);
    if (owner.kind === "peer" && owner.url === this.selfUrl) {
      // Another agent advertises this agent's address (http.advertise copied between machines, say):
      // forwarding would come back here and answer without the owner's store.
      return {
        kind: "unknown",
        reason:
          `the owner of partition ${owner.partition} (${owner.member_id}) advertises this agent's own ` +
          `address ${owner.url}; give each agent its own http.advertise`,
      };
    }
    return owner;
  }

  /** The other agents' base URLs (fan-out reads). */
  peers(): string[] {
    return (this.#view?.members ?? []).filter((member) =>
      !member.self && member.url !== undefined && member.url !== this.selfUrl
    ).map((member) => member.url!);
  }

  /** Where the feed of the other agents' alerts is. */
  peerAlerts(): PeerAlertsState {
    return this.peerAlertsState();
  }

  /** The partitions of `events.enriched` this agent is restoring from a departed agent. */
  restoring(): number[] {
    return this.restoringPartitions();
  }

  /** The last restore of a departed agent's rows by this agent. */
  lastRestore(): RestoreReport | undefined {
    return this.lastRestoreReport();
  }

  /** Calls `listener` after each read of the map. */
  onRead(listener: (membership: ClusterMembership) => void): void {
    this.#listeners.push(listener);
  }

  /** Reads the map again (concurrent calls share one read); never rejects (the old map stays). */
  refresh(): Promise<void> {
    this.#reading ??= this.#read().then(() => {
      for (const listener of this.#listeners) listener(this);
    }).catch((error) => {
      this.#log.debug("could not read the cluster map", { error });
    }).finally(() => this.#reading = undefined);
    return this.#reading;
  }

  /** Reads the map now, after every rebalance (`onAssignment`) and every 5 s until `life` stops. */
  async start(life: Lifecycle): Promise<void> {
    const timer = setInterval(() => void this.refresh(), REFRESH_MS);
    life.onStop(() => clearInterval(timer));
    await this.refresh();
  }

  /** Logs (at each read of the map) another member advertising this agent's address: its series cannot be read here. */
  #warnSameAddress(view: ClusterView): void {
    const clash = view.members.find((member) => !member.self && member.url === this.selfUrl);
    if (clash) {
      this.#log.warn(
        "another agent advertises this agent's address: its series cannot be read through this one",
        {
          member: clash.member_id,
          url: this.selfUrl,
        },
      );
    }
  }

  async #partitionsOf(topic: string): Promise<number> {
    let count = this.#partitions.get(topic);
    if (count === undefined) {
      count = await partitionCount(this.#admin, topic);
      this.#partitions.set(topic, count);
    }
    return count;
  }

  /**
   * The stateful group on `events.enriched` (the series by key) when it has members; else the raw
   * topic's group (the local topology: one member owns every series).
   */
  async #read(): Promise<void> {
    const { kafka, topics } = this.#config;
    const groups = await this.#admin.describeGroups({
      groups: [kafka.group_stateful, kafka.group_stateless],
    });
    const stateful = groups.get(kafka.group_stateful) as DescribedGroup | undefined;
    const now = Date.now();
    if (stateful !== undefined && stateful.members.size > 0) {
      const partitions = await this.#partitionsOf(topics.enriched);
      this.#view = clusterViewOf(stateful, topics.enriched, partitions, "keyed", AGENT_INSTANCE, now);
      this.#warnSameAddress(this.#view);
      return;
    }
    const stateless = groups.get(kafka.group_stateless) as DescribedGroup | undefined;
    if (stateless !== undefined && stateless.members.size > 0) {
      const partitions = await this.#partitionsOf(topics.raw);
      this.#view = clusterViewOf(stateless, topics.raw, partitions, "whole", AGENT_INSTANCE, now);
    }
  }
}
