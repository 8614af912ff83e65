/**
 * Scale-out reads, Kafka Streams' interactive-queries pattern on the agent's own consumer groups:
 * each member puts its HTTP address in its group subscription's user data (the `metadata` of its
 * JoinGroup protocol, {@link encodeMemberData}); any agent reads every member's user data and
 * assignment with DescribeGroups and builds the partition -> agent map ({@link clusterViewOf}).
 *
 * Why DescribeGroups: @platformatic/kafka lets a member set its subscription user data
 * (`protocols[].metadata`), but only the group leader receives the other members' user data
 * (JoinGroup response), and the assignment's user data is one static buffer for every member
 * (`assignmentUserData`), so the leader cannot hand the map to the followers as Kafka Streams does.
 * The group coordinator keeps both (subscription and assignment of each member) and returns them to
 * any client that describes the group: no home-made topic or protocol.
 *
 * @module
 */
import { partitionOf } from "./partition.ts";
import { seriesKey } from "../model/envelope.ts";
import type { ClusterMember, ClusterView, SeriesOwner } from "../model/cluster.ts";

export type { ClusterMember, ClusterView, SeriesOwner };

/** What a member advertises in its subscription's user data. */
export interface MemberData {
  /** Base URL of the member's HTTP API, e.g. `http://10.0.0.5:8088`. */
  http: string;
  /** A random id of the agent process (tells this agent's own member apart). */
  instance: string;
  /** The id of the agent's store (`store/identity.ts`): the same after a restart. */
  store?: string;
}

const MEMBER_DATA_VERSION = 1;

/** This agent process's instance id (in its members' data). */
export const AGENT_INSTANCE: string = crypto.randomUUID();

let advertisedStore: string | undefined;

/** Sets the store id this process advertises in its groups (once the store is open). */
export function advertiseStore(id: string): void {
  advertisedStore = id;
}

/** The store id this process advertises (undefined without a store). */
export function agentStore(): string | undefined {
  return advertisedStore;
}

/** The subscription user data of a member advertising `data` (JSON, versioned). */
export function encodeMemberData(data: MemberData): Buffer {
  return Buffer.from(JSON.stringify({
    v: MEMBER_DATA_VERSION,
    http: data.http,
    instance: data.instance,
    ...(data.store === undefined ? {} : { store: data.store }),
  }));
}

/** The member data in a subscription's user data; undefined for another client's (or none). */
export function decodeMemberData(userData: Uint8Array | null | undefined): MemberData | undefined {
  if (!userData || userData.length === 0 || userData[0] !== 0x7b) return undefined;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(userData));
    if (parsed?.v !== MEMBER_DATA_VERSION) return undefined;
    if (typeof parsed.http !== "string" || typeof parsed.instance !== "string") return undefined;
    const store = typeof parsed.store === "string" ? { store: parsed.store } : {};
    return { http: parsed.http, instance: parsed.instance, ...store };
  } catch {
    return undefined;
  }
}

/** One member of a group as DescribeGroups returns it (the fields the view needs). */
export interface DescribedMember {
  id: string;
  metadata?: { metadata?: Uint8Array | null };
  assignments?: Map<string, { topic: string; partitions: number[] }>;
}

/** A group as DescribeGroups returns it (the fields the view needs). */
export interface DescribedGroup {
  id: string;
  state: string;
  members: Map<string, DescribedMember>;
}

/** The view of a described group (pure): each member's address and partitions of `topic`. */
export function clusterViewOf(
  group: { id: string; state: string; members: Map<string, DescribedMember> },
  topic: string,
  partitions: number,
  mode: ClusterView["mode"],
  selfInstance: string,
  now: number,
): ClusterView {
  const members: ClusterMember[] = [];
  for (const member of group.members.values()) {
    const data = decodeMemberData(member.metadata?.metadata);
    members.push({
      member_id: member.id,
      url: data?.http,
      instance: data?.instance,
      ...(data?.store === undefined ? {} : { store: data.store }),
      self: data?.instance === selfInstance,
      partitions: [...(member.assignments?.get(topic)?.partitions ?? [])].sort((a, b) => a - b),
    });
  }
  members.sort((a, b) => (a.url ?? "").localeCompare(b.url ?? "") || a.member_id.localeCompare(b.member_id));
  return { mode, group: group.id, topic, partitions, state: String(group.state), members, read_at: now };
}

/** The owner of the series `tenant|host|metric` in `view` (pure). */
export function ownerOfSeries(
  view: ClusterView,
  series: { tenant: string; host: string; metric: string },
): SeriesOwner {
  let partition = -1;
  let owner: ClusterMember | undefined;
  if (view.mode === "whole") {
    const holders = view.members.filter((member) => member.partitions.length > 0);
    if (holders.length === 1) owner = holders[0];
  } else {
    partition = partitionOf(seriesKey(series), view.partitions);
    owner = view.members.find((member) => member.partitions.includes(partition));
  }
  if (owner === undefined) {
    return {
      kind: "unknown",
      reason: view.mode === "whole"
        ? `no single agent owns the topic ${view.topic} of group ${view.group} (state ${view.state})`
        : `partition ${partition} of ${view.topic} has no owner in group ${view.group} (state ${view.state}, rebalancing?)`,
    };
  }
  if (owner.self) return { kind: "self" };
  if (owner.url === undefined) {
    return {
      kind: "unknown",
      reason: `the owner of partition ${partition} (${owner.member_id}) advertises no address`,
    };
  }
  return { kind: "peer", url: owner.url, member_id: owner.member_id, partition };
}
