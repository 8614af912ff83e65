/**
 * The agent's restore of a departed agent's rows and alerts (`pipeline/restore.ts`) for the stateful
 * group: the group described after each rebalance (each member's store id, instance and partitions),
 * the `events.enriched` ranges and the alerts topic read outside the group (`kafka/partition_reader.ts`),
 * stored through the writer, the firing alerts handed to the notifier, and the copies of a store that
 * came back left out of reads.
 *
 * @module
 */
import type { Admin } from "@platformatic/kafka";
import type { Config } from "../config/schema.ts";
import { decodeEnriched } from "../enriched/mod.ts";
import { originOf } from "../kafka/alert_origin.ts";
import { readGroupOffsets } from "../kafka/lag.ts";
import { AGENT_INSTANCE, clusterViewOf, type DescribedGroup } from "../kafka/membership.ts";
import { SeriesPartitioner } from "../kafka/partition.ts";
import { createRangeConsumer, readPartitionRange } from "../kafka/partition_reader.ts";
import type { Logger } from "../lib/log.ts";
import { type Alert, AlertSchema } from "../model/alert.ts";
import type { StoredAlert } from "../model/query.ts";
import { type AlertsToRestore, PartitionRestorer, type RebalanceSnapshot } from "../pipeline/restore.ts";
import { RestoredLanes } from "../store/mod.ts";
import { alertDecoder } from "./peer_alerts.ts";
import type { StatefulParts } from "./stateful.ts";

/**
 * The alert transitions of the departed agents' processes (`wanted.departed`) of series on
 * `wanted.partitions`, read from the alerts topic whole (start to end of each partition; the record's
 * origin header names the process), per departed identity.
 */
async function departedAlerts(
  config: Config,
  admin: Admin,
  reader: ReturnType<typeof createRangeConsumer>,
  wanted: AlertsToRestore,
  partitionOf: (series: Alert) => number,
): Promise<Map<string, Alert[]>> {
  const byInstance = new Map<string, string>();
  for (const [identity, instances] of wanted.departed) {
    for (const instance of instances) byInstance.set(instance, identity);
  }
  const found = new Map<string, Alert[]>();
  if (byInstance.size === 0) return found;
  const partitions = new Set(wanted.partitions);
  const decode = alertDecoder(config);
  const topic = config.topics.alerts;
  for (const [partition, offsets] of await readGroupOffsets(admin, config.kafka.group_stateful, topic)) {
    await readPartitionRange(
      reader,
      { topic, partition, from: offsets.start, to: offsets.end },
      (messages) => {
        for (const message of messages) {
          const departed = byInstance.get(originOf(message.headers).instance ?? "");
          if (departed === undefined || !message.value) continue;
          let parsed;
          try {
            parsed = AlertSchema.safeParse(decode(message.value));
          } catch {
            continue;
          }
          if (!parsed.success || !partitions.has(partitionOf(parsed.data))) continue;
          let list = found.get(departed);
          if (list === undefined) found.set(departed, list = []);
          list.push(parsed.data);
        }
        return Promise.resolve();
      },
      config.kafka.fetch_max_bytes,
    );
  }
  return found;
}

/** The newest transition of each fingerprint among `alerts` (by `ts`, then `seq`). */
function latestPerFingerprint(alerts: readonly StoredAlert[]): StoredAlert[] {
  const latest = new Map<string, StoredAlert>();
  for (const alert of alerts) {
    const seen = latest.get(alert.fingerprint);
    if (seen === undefined || alert.ts > seen.ts || (alert.ts === seen.ts && alert.seq > seen.seq)) {
      latest.set(alert.fingerprint, alert);
    }
  }
  return [...latest.values()];
}

/**
 * The restore of a departed agent's rows (`pipeline/restore.ts`) for the stateful group: the group
 * described after each rebalance, the ranges read outside the group and stored by `parts.writer`.
 * None without a store, or without `http.advertise` (members cannot tell themselves apart without it).
 */
export function partitionRestorer(
  config: Config,
  log: Logger,
  parts: Pick<StatefulParts, "admin" | "writer" | "reader" | "store" | "notify">,
  partitions: number,
): { restorer: PartitionRestorer; close(): Promise<void> } | undefined {
  const { admin, writer, reader: storeReader, store } = parts;
  if (
    writer === undefined || storeReader === undefined || store === undefined || config.http.advertise === ""
  ) {
    return undefined;
  }
  let restoredFrom: Set<string> | undefined;
  const group = config.kafka.group_stateful;
  const topic = config.topics.enriched;
  const enriched = new SeriesPartitioner(partitions);
  let reader: ReturnType<typeof createRangeConsumer> | undefined;
  /** The range consumer, created at the first restore. */
  const rangeReader = () => reader ??= createRangeConsumer(config, "restore");
  /** The departed stores this store holds rows of (read once, then kept up to date). */
  const storesRestored = async () => restoredFrom ??= new Set(await storeReader.restoredStores());
  const snapshot = async (): Promise<RebalanceSnapshot | undefined> => {
    const [groups, offsets] = await Promise.all([
      admin.describeGroups({ groups: [group] }),
      readGroupOffsets(admin, group, topic),
    ]);
    const described = groups.get(group) as DescribedGroup | undefined;
    if (described === undefined) return undefined;
    const view = clusterViewOf(described, topic, offsets.size, "keyed", AGENT_INSTANCE, Date.now());
    const me = view.members.find((member) => member.self);
    if (me === undefined) return undefined;
    // The store's id first: an agent restarted on its store is the same owner (its rows are there).
    const identity = (member: (typeof view.members)[number]) =>
      member.store ?? member.instance ?? member.member_id;
    const owners = new Map<number, string>();
    for (const member of view.members) {
      for (const partition of member.partitions) owners.set(partition, identity(member));
    }
    const instances = new Map<string, string>();
    for (const member of view.members) {
      if (member.instance !== undefined) instances.set(identity(member), member.instance);
    }
    return { owners, members: new Set(view.members.map(identity)), self: identity(me), offsets, instances };
  };
  const restorer = new PartitionRestorer({
    snapshot,
    read: async (range, progress) => {
      const lanes = new RestoredLanes();
      await readPartitionRange(rangeReader(), { topic, ...range }, async (messages) => {
        const decoded = decodeEnriched(messages, Date.now());
        const written = await writer.writeBatch(decoded.events);
        for (const event of decoded.events) lanes.add(event);
        progress({ messages: messages.length, events: decoded.events.length, inserted: written.inserted });
      }, config.kafka.fetch_max_bytes);
      await writer.recordRestored(range.departed, lanes.lanes());
      (await storesRestored()).add(range.departed);
    },
    alerts: async (wanted) => {
      const alerts = await departedAlerts(
        config,
        admin,
        rangeReader(),
        wanted,
        (series) => enriched.partition(series),
      );
      const stored: StoredAlert[] = [];
      for (const [departed, theirs] of alerts) stored.push(...await writer.restoreAlerts(departed, theirs));
      parts.notify?.notifier?.adopt(latestPerFingerprint(stored));
      return stored.length;
    },
    hide: async (members) => {
      store.hideRestoredFrom([...await storesRestored()].filter((id) => members.has(id)));
    },
    log,
  });
  return { restorer, close: async () => await reader?.close() };
}
