/**
 * Scale-out: the other agents' alerts for this agent's SSE alert stream. Once the cluster map shows
 * another agent, this agent reads the alerts topic from its end (a consumer group of its own, named
 * after its instance id, never committed) and publishes every alert produced by another agent process
 * (the record's origin headers, `kafka/alert_origin.ts`) to `feeds.peerAlerts`. Its own alerts reach
 * the stream from its store (with their `seq`), so they are skipped here: each alert reaches a client
 * once. A record produced twice (the producing agent retried its batch) is published once (by alert id).
 *
 * Live only: what other agents fired before this feed started, or while it was down, is in their
 * stores (`GET /alerts` fans out); nothing is replayed from the topic.
 *
 * @module
 */
import avro from "avsc";
import type { Admin } from "@platformatic/kafka";
import { type ByteConsumer, createConsumer } from "../kafka/clients.ts";
import type { Config } from "../config/schema.ts";
import type { LiveFeeds } from "../api/mod.ts";
import type { PeerAlert, PeerAlertsState } from "../api/deps.ts";
import { originOf } from "../kafka/alert_origin.ts";
import { withTimeout } from "../kafka/consumer_supervisor.ts";
import { AGENT_INSTANCE } from "../kafka/membership.ts";
import type { Logger } from "../lib/log.ts";
import { AlertSchema } from "../model/alert.ts";
import { producedSubjects } from "../registry/subjects.ts";
import { isFramed, payloadOf } from "../registry/wire.ts";
import type { ClusterMembership } from "./cluster.ts";
import type { Lifecycle } from "./lifecycle.ts";

/** Longest wait for the consumer to leave its group at shutdown. */
const CLOSE_TIMEOUT_MS = 5_000;

/** Alert ids remembered to drop a record produced twice. */
const SEEN_IDS = 4_096;

/** A consumed record, as the feed reads it. */
interface AlertRecord {
  value: Buffer | null | undefined;
  headers?: Map<Buffer, Buffer>;
}

/** Decodes alert record values: JSON, framed JSON, or framed Avro of this build's schema. */
export function alertDecoder(config: Config): (value: Uint8Array) => unknown {
  const [subject] = producedSubjects(config);
  let avroType: avro.Type | undefined;
  const text = new TextDecoder();
  return (value) => {
    const payload = isFramed(value) ? payloadOf(value) : value;
    if (payload[0] === 0x7b) return JSON.parse(text.decode(payload));
    if (subject.schema.schemaType !== "AVRO") throw new Error("not JSON");
    avroType ??= avro.Type.forSchema(JSON.parse(subject.schema.schema), { wrapUnions: false });
    return avroType.fromBuffer(Buffer.from(payload));
  };
}

/**
 * The other agents' alerts of a batch of records (pure but for `seen`, the ids already published,
 * oldest first, at most {@link SEEN_IDS}): records of `selfInstance`, without an origin, undecodable or
 * already seen are left out.
 */
export function peerAlertsOf(
  records: readonly AlertRecord[],
  selfInstance: string,
  decode: (value: Uint8Array) => unknown,
  seen: Set<string>,
): { alerts: PeerAlert[]; invalid: number } {
  const alerts: PeerAlert[] = [];
  let invalid = 0;
  for (const record of records) {
    const origin = originOf(record.headers);
    if (origin.instance === undefined || origin.instance === selfInstance || !record.value) continue;
    let parsed;
    try {
      parsed = AlertSchema.safeParse(decode(record.value));
    } catch {
      invalid++;
      continue;
    }
    if (!parsed.success) {
      invalid++;
      continue;
    }
    if (seen.has(parsed.data.id)) continue;
    seen.add(parsed.data.id);
    if (seen.size > SEEN_IDS) seen.delete(seen.values().next().value!);
    alerts.push({ ...parsed.data, agent: origin.agent ?? origin.instance });
  }
  return { alerts, invalid };
}

/** The feed of the other agents' alerts; {@link start} it when the cluster has another agent. */
export class PeerAlertFeed {
  readonly #config: Config;
  readonly #feeds: LiveFeeds;
  readonly #log: Logger;
  readonly #seen = new Set<string>();
  readonly #decode: (value: Uint8Array) => unknown;
  readonly #admin: Admin;
  readonly #group: string;
  #consumer: ByteConsumer | undefined;
  #stopped = false;
  #stopsWithLife = false;
  /** Where the feed is (shown by `GET /cluster`). */
  state: PeerAlertsState = "off";

  /** A feed of `config.topics.alerts` into `feeds.peerAlerts`; `admin` deletes its group at the end. */
  constructor(config: Config, feeds: LiveFeeds, log: Logger, admin: Admin) {
    this.#config = config;
    this.#admin = admin;
    this.#group = `${config.kafka.group_stateful}.peer-alerts.${AGENT_INSTANCE}`;
    this.#feeds = feeds;
    this.#log = log;
    this.#decode = alertDecoder(config);
  }

  /** Starts reading (once; a failed start is retried by the next call); stops with `life`. */
  start(life: Lifecycle): void {
    if (this.state === "starting" || this.state === "consuming" || this.#stopped) return;
    if (!this.#stopsWithLife) life.onStop(() => this.#stop());
    this.#stopsWithLife = true;
    const failed = this.#consumer;
    this.#consumer = undefined;
    void failed?.close(true).catch(() => undefined);
    this.state = "starting";
    void this.#open().catch((error) => {
      this.state = "failed";
      this.#log.warn("could not read the other agents' alerts (retried at the next cluster read)", { error });
    });
  }

  async #open(): Promise<void> {
    const { topics } = this.#config;
    // Its own group: every agent reads every alert; nothing is committed (it starts at the end).
    const consumer = createConsumer(this.#config, this.#group, "peer-alerts");
    this.#consumer = consumer;
    consumer.on("error", (error: unknown) => this.#log.debug("peer alerts consumer", { error }));
    const stream = await consumer.consume({ topics: [topics.alerts], mode: "latest", autocommit: false });
    if (this.#stopped) {
      await stream.close().catch(() => undefined);
      return;
    }
    stream.on("data", (record: AlertRecord) => this.#publish(record));
    stream.on("error", (error: unknown) => {
      this.state = "failed";
      this.#log.warn("the other agents' alerts stream failed (retried at the next cluster read)", { error });
    });
    this.state = "consuming";
    this.#log.info("reading the other agents' alerts", { topic: topics.alerts });
  }

  #publish(record: AlertRecord): void {
    const { alerts, invalid } = peerAlertsOf([record], AGENT_INSTANCE, this.#decode, this.#seen);
    if (invalid > 0) this.#log.debug("an undecodable record on the alerts topic was skipped");
    for (const alert of alerts) this.#feeds.peerAlerts.publish(alert);
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    const consumer = this.#consumer;
    this.#consumer = undefined;
    this.state = "off";
    if (!consumer) return;
    await withTimeout(consumer.close(true), CLOSE_TIMEOUT_MS, "closing").catch(() => undefined);
    // The group is this process's alone (its instance id): leave none behind, empty, on the broker.
    await withTimeout(
      this.#admin.deleteGroups({ groups: [this.#group] }),
      CLOSE_TIMEOUT_MS,
      "deleting its group",
    )
      .catch((error) =>
        this.#log.debug("could not delete the peer alerts group", { group: this.#group, error })
      );
  }
}

/**
 * Feeds `feeds.peerAlerts` once `cluster` shows another agent (checked at each read of the map),
 * and says where the feed is in `cluster.peerAlerts`. A single agent never reads the alerts topic.
 */
export function followPeerAlerts(
  config: Config,
  feeds: LiveFeeds,
  log: Logger,
  cluster: ClusterMembership,
  life: Lifecycle,
  admin: Admin,
): void {
  const feed = new PeerAlertFeed(config, feeds, log, admin);
  cluster.peerAlertsState = () => feed.state;
  cluster.onRead((membership) => {
    if (membership.peers().length > 0) feed.start(life);
  });
}
