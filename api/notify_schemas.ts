/**
 * Zod schemas of the alert-delivery routes (`api/routes/notify.ts`): active alerts, silences (in
 * Alertmanager's v2 shapes), acknowledgements and notifications.
 *
 * @module
 */
import { z } from "zod";
import {
  AckSchema,
  ActiveAlertSchema,
  GettableSilenceSchema,
  NotificationRecordSchema,
  NotificationStatusSchema,
  PostableSilenceSchema,
} from "../model/notification.ts";
import { limitParam, textParam } from "./params.ts";
import { CoverageShape } from "./schemas.ts";

export { PostableSilenceSchema };

/** Most notifications one request may return. */
export const MAX_NOTIFICATIONS_LIMIT = 1_000;

/** `GET /alerts/active` */
export const ActiveAlertsQuerySchema = z.strictObject({
  tenant: textParam("tenant", "Only this tenant."),
  host: textParam("host", "Only this host."),
  severity: z.enum(["warning", "critical"]).optional().meta({ description: "Only this severity." }),
});

/** `GET /alerts/active` response. */
export const ActiveAlertsResponseSchema = z.object({
  count: z.int(),
  alerts: z.array(ActiveAlertSchema),
  ...CoverageShape,
}).meta({ id: "ActiveAlerts" });

/** `POST /alerts/{fingerprint}/ack` body (optional). */
export const AckRequestSchema = z.strictObject({
  by: z.string().min(1).max(200).default("api").meta({ description: "Who acknowledges." }),
  comment: z.string().max(2_000).default("").meta({ description: "Why, or what is being done." }),
});

/** `POST /alerts/{fingerprint}/ack` response. */
export const AckResponseSchema = z.object({ ack: AckSchema }).meta({ id: "AckResponse" });

/** `GET /silences` */
export const SilencesQuerySchema = z.strictObject({
  state: z.enum(["pending", "active", "expired"]).optional().meta({
    description: "Only silences in this state.",
  }),
  filter: z.array(
    z.string().min(1).max(1_024).regex(
      /^\s*\{?\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)/,
      'expected a matcher like host="host-a"',
    ),
  ).max(32).optional().meta({
    description:
      'Alertmanager\'s filter (repeatable): only silences with each matcher, e.g. `filter=host="host-a"`.',
  }),
});

/** `GET /silences` response: Alertmanager's list of `GettableSilence`. */
export const SilencesResponseSchema = z.array(GettableSilenceSchema).meta({ id: "GettableSilences" });

/** `POST /silences` response, as Alertmanager answers. */
export const SilenceIdResponseSchema = z.object({ silenceID: z.string(), ...CoverageShape }).meta({
  id: "SilenceId",
});

/** `GET /notifications` */
export const NotificationsQuerySchema = z.strictObject({
  status: NotificationStatusSchema.optional().meta({ description: "Only notifications in this status." }),
  receiver: textParam("receiver", "Only this receiver."),
  limit: limitParam(100, MAX_NOTIFICATIONS_LIMIT, "notifications (newest first)"),
});

/** `GET /notifications` response. */
export const NotificationsResponseSchema = z.object({
  count: z.int(),
  notifications: z.array(NotificationRecordSchema),
}).meta({ id: "Notifications" });

export { GettableSilenceSchema };
