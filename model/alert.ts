/**
 * Alerts: emitted by the rules stage on a change of state or severity only.
 *
 * @module
 */
import { z } from "zod";
import { StringMapSchema } from "./envelope.ts";

/** Alert severity levels, lowest first. */
export const SeveritySchema = z.enum(["warning", "critical"]);
/** Alert severity. */
export type Severity = z.infer<typeof SeveritySchema>;

/** Alert lifecycle state. */
export const AlertStateSchema = z.enum(["firing", "resolved"]);
/** Alert lifecycle state. */
export type AlertState = z.infer<typeof AlertStateSchema>;

/** One alert transition. */
export const AlertSchema = z.object({
  /** Unique per transition: `<fingerprint>:<starts_at>:<seq>`. */
  id: z.string().min(1),
  /** Stable per rule + series: same for firing, escalation and resolution. */
  fingerprint: z.string().min(1),
  rule: z.string().min(1),
  tenant: z.string(),
  host: z.string(),
  metric: z.string(),
  severity: SeveritySchema,
  state: AlertStateSchema,
  value: z.number(),
  threshold: z.number(),
  /** Epoch ms UTC (event time) when the alert started firing. */
  starts_at: z.int(),
  /** Epoch ms UTC when it resolved; null while firing. */
  ends_at: z.int().nullable(),
  /** Event time of the transition, epoch ms UTC. */
  ts: z.int(),
  labels: StringMapSchema,
  annotations: StringMapSchema,
});
/** One alert transition. */
export type Alert = z.infer<typeof AlertSchema>;

/**
 * Scale-out: another agent's alert on this agent's `/alerts/stream` (`agent/peer_alerts.ts`): no `seq`
 * (that is the other agent's), the agent that fired it instead.
 */
export const PeerAlertSchema = AlertSchema.extend({
  agent: z.string().meta({
    description:
      "The advertised API base URL of the agent that fired it (its instance id when it advertises none).",
  }),
}).meta({ id: "PeerAlert" });
/** See {@link PeerAlertSchema}. */
export type PeerAlert = z.infer<typeof PeerAlertSchema>;
