/**
 * Notifications and what governs them, as the store keeps them: the outbox of notifications
 * (pending until delivered, or failed), the notification log (what each receiver was last told per
 * group), silences and acknowledgements. Times are epoch ms UTC.
 *
 * @module
 */
import { z } from "zod";

/** Where a notification is in its delivery. */
export const NotificationStatusSchema = z.enum(["pending", "delivered", "failed"]);
/** Delivery status. */
export type NotificationStatus = z.infer<typeof NotificationStatusSchema>;

/** The kinds of integrations. */
export const IntegrationKindSchema = z.enum(["webhook", "alertmanager", "kafka"]);

/** A notification as `/notifications` lists it (without its payload). */
export const NotificationRecordSchema = z.object({
  /** Order of creation. */
  seq: z.int(),
  /** Unique; sent as the `Idempotency-Key` header (and Kafka header), the same on every attempt. */
  id: z.string(),
  receiver: z.string(),
  /** `<receiver>/<kind>/<index>`. */
  integration: z.string(),
  kind: IntegrationKindSchema,
  group_key: z.string(),
  status: NotificationStatusSchema,
  /** Alerts firing and resolved in it. */
  firing: z.int(),
  resolved: z.int(),
  created_at: z.int(),
  attempts: z.int(),
  /** When the next attempt is due (pending only). */
  next_attempt_at: z.int().nullable(),
  last_attempt_at: z.int().nullable(),
  /** Why the last attempt failed. */
  last_error: z.string().nullable(),
  /** When it was delivered or given up. */
  finished_at: z.int().nullable(),
}).meta({ id: "Notification" });
/** A notification's record. */
export type NotificationRecord = z.infer<typeof NotificationRecordSchema>;

/** A notification to store (pending): its record's fixed fields and its data. */
export interface NewNotification {
  readonly id: string;
  readonly receiver: string;
  readonly integration: string;
  readonly kind: z.infer<typeof IntegrationKindSchema>;
  readonly group_key: string;
  readonly firing: number;
  readonly resolved: number;
  readonly created_at: number;
  /** What is sent (the notification's data, JSON). */
  readonly data: unknown;
}

/** A pending notification due for an attempt. */
export interface PendingNotification extends NewNotification {
  readonly seq: number;
  readonly attempts: number;
}

/** What the log holds for one integration and group: the dedup keys last notified. */
export interface NotifyLogEntry {
  readonly integration: string;
  readonly group_key: string;
  readonly firing: readonly string[];
  readonly resolved: readonly string[];
  readonly notified_at: number;
}

/** A matcher in Alertmanager's v2 API shape. */
export const ApiMatcherSchema = z.object({
  name: z.string(),
  value: z.string(),
  isRegex: z.boolean(),
  isEqual: z.boolean(),
});

/** A silence's state at a time. */
export const SilenceStateSchema = z.enum(["pending", "active", "expired"]);
/** A silence's state. */
export type SilenceState = z.infer<typeof SilenceStateSchema>;

const TimeSchema = z.iso.datetime({
  offset: true,
  error: "expected an RFC 3339 time like 2025-10-21T10:00:00Z",
});

/** Alertmanager's `PostableSilence` (v2 API): `id` to update an existing silence. */
export const PostableSilenceSchema = z.strictObject({
  id: z.string().min(1).optional(),
  matchers: z.array(z.strictObject({
    name: z.string().min(1),
    value: z.string(),
    isRegex: z.boolean(),
    isEqual: z.boolean().default(true),
  })).min(1, "at least one matcher required"),
  startsAt: TimeSchema,
  endsAt: TimeSchema,
  createdBy: z.string().min(1, "say who creates the silence"),
  comment: z.string().min(1, "say why"),
}).meta({ id: "PostableSilence" });
/** A silence as posted. */
export type PostableSilence = z.output<typeof PostableSilenceSchema>;

/** Alertmanager's `GettableSilence` (v2 API). */
export const GettableSilenceSchema = z.object({
  id: z.string(),
  status: z.object({ state: SilenceStateSchema }),
  updatedAt: z.string(),
  matchers: z.array(ApiMatcherSchema),
  startsAt: z.string(),
  endsAt: z.string(),
  createdBy: z.string(),
  comment: z.string(),
}).meta({ id: "GettableSilence" });
/** A silence as the API returns it. */
export type GettableSilence = z.infer<typeof GettableSilenceSchema>;

/** A silence as stored. */
export interface SilenceRecord {
  readonly id: string;
  readonly matchers: readonly z.infer<typeof ApiMatcherSchema>[];
  readonly starts_at: number;
  readonly ends_at: number;
  readonly created_by: string;
  readonly comment: string;
  readonly updated_at: number;
}

/** An acknowledgement of one firing episode of an alert (fingerprint and start). */
export const AckSchema = z.object({
  fingerprint: z.string(),
  /** The start of the episode acknowledged: a later episode is not. */
  starts_at: z.int(),
  acked_by: z.string(),
  comment: z.string(),
  acked_at: z.int(),
}).meta({ id: "Ack" });
/** An acknowledgement. */
export type AckRecord = z.infer<typeof AckSchema>;

/** One firing alert as `GET /alerts/active` shows it: its latest transition and whether it is notified. */
export const ActiveAlertSchema = z.object({
  fingerprint: z.string(),
  rule: z.string(),
  tenant: z.string(),
  host: z.string(),
  metric: z.string(),
  severity: z.enum(["warning", "critical"]),
  value: z.number(),
  threshold: z.number(),
  /** When it started firing (event time). */
  since: z.int(),
  /** Event time of its latest transition. */
  updated_at: z.int(),
  /** The labels it is routed, silenced and inhibited by. */
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  /** Active silences muting it (empty: not silenced). */
  silenced_by: z.array(z.string()),
  /** Fingerprint of the firing alert inhibiting it, or null. */
  inhibited_by: z.string().nullable(),
  acked: AckSchema.nullable(),
  /** Receivers its routes lead to. */
  receivers: z.array(z.string()),
}).meta({ id: "ActiveAlert" });
/** A firing alert with its notification state. */
export type ActiveAlert = z.infer<typeof ActiveAlertSchema>;

/**
 * The order of `GET /alerts/active` (one agent's list and the merge of several agents'): critical
 * first, then the oldest, then by fingerprint (alerts firing at the same event time in one order
 * whichever agent lists them).
 */
export function compareActiveAlerts(
  a: Pick<ActiveAlert, "severity" | "since" | "fingerprint">,
  b: Pick<ActiveAlert, "severity" | "since" | "fingerprint">,
): number {
  const rank = (severity: string) => severity === "critical" ? 0 : 1;
  return rank(a.severity) - rank(b.severity) || a.since - b.since ||
    (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0);
}
