/**
 * The scale-out cluster as an agent sees it (`GET /cluster`): the members of the consumer group that
 * owns the stored series, each with its advertised HTTP address and partitions, and where the reads of
 * one series go.
 *
 * @module
 */
import { z } from "zod";

/** One agent of the cluster. */
export const ClusterMemberSchema = z.object({
  member_id: z.string(),
  /** Base URL of its HTTP API (absent: a member that advertises none). */
  url: z.string().optional(),
  instance: z.string().optional(),
  /** The id of its store (`store/identity.ts`): the same after a restart of the agent. */
  store: z.string().optional(),
  /** Whether it is the agent that answered. */
  self: z.boolean(),
  /** Partitions of the view's topic it owns. */
  partitions: z.array(z.int()),
});
/** One agent of the cluster. */
export type ClusterMember = z.infer<typeof ClusterMemberSchema>;

/**
 * Who owns what: `keyed` — a series is on the partition its key `tenant|host|metric` hashes to (the
 * stateful group on `events.enriched`); `whole` — one member owns every series (the local topology).
 */
export const ClusterViewSchema = z.object({
  mode: z.enum(["keyed", "whole"]),
  group: z.string(),
  topic: z.string(),
  partitions: z.int(),
  /** The group's state as the coordinator reported it (`STABLE`, `PREPARING_REBALANCE`, ...). */
  state: z.string(),
  members: z.array(ClusterMemberSchema),
  /** When the view was read (epoch ms). */
  read_at: z.number(),
});
/** The cluster as one agent last read it. */
export type ClusterView = z.infer<typeof ClusterViewSchema>;

/** Where a series' reads go. */
export type SeriesOwner =
  | { kind: "self" }
  | { kind: "peer"; url: string; member_id: string; partition: number }
  | { kind: "unknown"; reason: string };

/**
 * Where the feed of the other agents' alerts into this agent's `/alerts/stream` is: `off` while alone,
 * `starting`, `consuming` once it reads the alerts topic, `failed` (tried again at the next read of the map).
 */
export const PeerAlertsStateSchema = z.enum(["off", "starting", "consuming", "failed"]);
/** See {@link PeerAlertsStateSchema}. */
export type PeerAlertsState = z.infer<typeof PeerAlertsStateSchema>;

/** The last restore of a departed agent's rows and alerts (`GET /cluster`). */
export const RestoreReportSchema = z.object({
  partitions: z.array(z.int()).meta({ description: "The `events.enriched` partitions restored." }),
  messages: z.int().meta({ description: "Enriched messages read." }),
  events: z.int().meta({ description: "Events in them." }),
  inserted: z.int().meta({ description: "Rows stored (the rest were stored here already)." }),
  alerts: z.int().meta({ description: "Alert transitions restored from the alerts topic." }),
  incomplete: z.array(z.int()).meta({
    description: "Partitions whose departed owner held rows that could not be restored: from before this " +
      "agent joined the group (where it started is not known), or past the topic's retention. Reads lack them.",
  }),
  ms: z.int().meta({ description: "How long it took." }),
}).meta({ id: "RestoreReport" });
/** See {@link RestoreReportSchema}. */
export type RestoreReport = z.infer<typeof RestoreReportSchema>;
