/**
 * The OpenAPI description of the alert-delivery routes (`api/routes/notify.ts`), appended to the
 * route table of `api/route_docs.ts`.
 *
 * @module
 */
import { z } from "zod";
import type { RouteDoc } from "./route_docs.ts";
import {
  AckRequestSchema,
  AckResponseSchema,
  ActiveAlertsQuerySchema,
  ActiveAlertsResponseSchema,
  GettableSilenceSchema,
  NotificationsQuerySchema,
  NotificationsResponseSchema,
  PostableSilenceSchema,
  SilenceIdResponseSchema,
  SilencesQuerySchema,
  SilencesResponseSchema,
} from "./notify_schemas.ts";
import { ErrorResponseSchema } from "./schemas.ts";

const error = (description: string) => ({ description, schema: ErrorResponseSchema });
const badRequest = error(
  "Invalid input; `error.message` says what to change, `error.details` lists each problem.",
);
const readAuth = error("Token missing or wrong (reads need it only when `http.token_for_reads` is set).");
const writeAuth = error("Token missing or wrong.");
const noToken = error("Writes are disabled because no token is configured (set EVENTOPS_HTTP_TOKEN).");
const unavailable = error("This agent does not run the store (alert delivery lives with it).");

/** An error of Alertmanager's paths: the message as a JSON string, as Alertmanager answers. */
const amError = (description: string) => ({ description, schema: z.string() });

function silenceRoutes(list: string, one: string, alias: boolean): RouteDoc[] {
  const also = alias
    ? " Alertmanager's path, for `amtool` and other v2 API clients: errors other than the token's are a JSON " +
      "string, as Alertmanager answers them."
    : "";
  const err = alias ? amError : error;
  const badRequest = err("Invalid input; the message says what to change.");
  const unavailable = err("This agent does not run the store (alert delivery lives with it).");
  const idParam = [{ name: "id", description: "The silence's id (`silenceID`)." }];
  return [
    {
      method: "get",
      path: list,
      summary: `Silences (Alertmanager v2 shape)${alias ? ", at Alertmanager's path" : ""}`,
      description:
        "Every silence, pending, active or expired (expired ones are kept for delivery.history), active first " +
        `(ending soonest first), then pending, then expired, as Alertmanager lists them.${also}`,
      tag: "silences",
      auth: "read",
      query: SilencesQuerySchema,
      responses: {
        "200": { description: "Silences.", schema: SilencesResponseSchema },
        "400": badRequest,
        "401": readAuth,
        "503": unavailable,
      },
    },
    {
      method: "post",
      path: list,
      summary: "Create or update a silence",
      description:
        "Alertmanager's `PostableSilence`: `matchers` (`name`, `value`, `isRegex`, `isEqual`), `startsAt`, `endsAt`, " +
        "`createdBy`, `comment`; with the `id` of a silence that is not expired it is updated in place when only its " +
        "end, author or comment change, else the old one is expired and a new one made. Alerts the silence matches " +
        "while active are stored and shown but not notified. Stored in the store: it survives restarts. " +
        "Scale-out: the same silence (same id) is made on every other agent (each delivers the alerts of the " +
        "series it stores); the answer lists the `agents` that have it, `partial: true` naming those that did " +
        "not answer." + also,
      tag: "silences",
      auth: "write",
      requestBody: {
        description: "The silence.",
        contentTypes: ["application/json"],
        schema: PostableSilenceSchema,
      },
      responses: {
        "200": { description: "The silence's id.", schema: SilenceIdResponseSchema },
        "400": badRequest,
        "401": writeAuth,
        "403": noToken,
        "404": err("No silence with that `id`."),
        "413": err("Body larger than `http.max_body_bytes`."),
        "503": unavailable,
      },
    },
    {
      method: "get",
      path: one,
      summary: "One silence",
      tag: "silences",
      auth: "read",
      pathParams: idParam,
      responses: {
        "200": { description: "The silence.", schema: GettableSilenceSchema },
        "401": readAuth,
        "404": err("No silence with that id."),
        "503": unavailable,
      },
    },
    {
      method: "delete",
      path: one,
      summary: "Expire a silence",
      description:
        "Ends the silence now (a pending one never starts); it stays listed as expired. Scale-out: " +
        "expired on every agent (`partial: true` naming those that did not answer)." + also,
      tag: "silences",
      auth: "write",
      pathParams: idParam,
      responses: {
        "200": { description: "Expired." },
        "401": writeAuth,
        "403": noToken,
        "404": err("No silence with that id."),
        "503": unavailable,
      },
    },
  ];
}

/** The alert-delivery operations. */
export const NOTIFY_ROUTE_DOCS: RouteDoc[] = [
  {
    method: "get",
    path: "/alerts/active",
    summary: "Alerts firing now, one row per alert",
    description:
      "The latest state of every firing alert (fingerprint): severity, since, value, threshold, the labels it is " +
      "routed by, the active silences muting it (`silenced_by`), the firing alert inhibiting it (`inhibited_by`), " +
      "its acknowledgement (`acked`) and the receivers its routes lead to. Most severe first, then oldest.",
    tag: "alerts",
    auth: "read",
    query: ActiveAlertsQuerySchema,
    responses: {
      "200": { description: "Firing alerts.", schema: ActiveAlertsResponseSchema },
      "400": badRequest,
      "401": readAuth,
      "503": unavailable,
    },
  },
  {
    method: "post",
    path: "/alerts/{fingerprint}/ack",
    summary: "Acknowledge a firing alert",
    description:
      "Acknowledges the alert's current firing episode: while every firing alert of a group is acknowledged, " +
      "`repeat_interval` sends nothing; a severity change or a resolution is still notified, and a new episode " +
      'starts unacknowledged. Body optional: `{"by": "...", "comment": "..."}`. Scale-out: an alert firing ' +
      "on another agent (the one storing its series) is acknowledged there (`X-EventOps-Served-By`).",
    tag: "alerts",
    auth: "write",
    pathParams: [{
      name: "fingerprint",
      description: "The alert's fingerprint (16 hex digits).",
      example: "7fb9243e1d30c68b",
      pattern: "^[0-9a-f]{16}$",
    }],
    requestBody: {
      description: "Who and why (optional).",
      contentTypes: ["application/json"],
      schema: AckRequestSchema,
      optional: true,
    },
    responses: {
      "200": { description: "The acknowledgement.", schema: AckResponseSchema },
      "400": badRequest,
      "401": writeAuth,
      "403": noToken,
      "404": error("No firing alert with that fingerprint."),
      "503": unavailable,
    },
  },
  ...silenceRoutes("/silences", "/silences/{id}", false),
  ...silenceRoutes("/api/v2/silences", "/api/v2/silence/{id}", true),
  {
    method: "get",
    path: "/notifications",
    summary: "Recent notifications and their delivery status",
    description:
      "Newest first: receiver, integration, group key, `pending` (with `attempts`, `next_attempt_at` and " +
      "`last_error`), `delivered` or `failed` (with why).",
    tag: "alerts",
    auth: "read",
    query: NotificationsQuerySchema,
    responses: {
      "200": { description: "Notifications.", schema: NotificationsResponseSchema },
      "400": badRequest,
      "401": readAuth,
      "503": unavailable,
    },
  },
];
