/**
 * Alert delivery over HTTP:
 *
 * - `GET /alerts/active`: one row per firing alert (severity, since, value, silenced, inhibited,
 *   acknowledged, receivers);
 * - `POST /alerts/{fingerprint}/ack`: acknowledges the alert's current firing episode (no repeat
 *   notifications until it resolves or changes severity);
 * - `GET /silences`, `POST /silences`, `GET /silences/{id}`, `DELETE /silences/{id}`: silences in
 *   Alertmanager's v2 shapes (`POST` answers `{"silenceID": ...}`; `DELETE` expires), also at
 *   Alertmanager's paths `/api/v2/silences` and `/api/v2/silence/{id}` so `amtool` works unchanged;
 * - `GET /notifications`: recent notifications and their delivery status.
 *
 * Writes need the token. Without alert delivery in this process the routes answer 503.
 *
 * @module
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { z } from "zod";
import { requireWriteToken } from "../auth.ts";
import { readBody } from "../body.ts";
import type { RouteContext } from "../context.ts";
import type { NotifyApi } from "../deps.ts";
import { mergeActiveAlerts } from "../cluster_merge.ts";
import {
  coverageOf,
  fanOut,
  fanOutWrite,
  isForwarded,
  PARTIAL_HEADER,
  SERVED_BY_HEADER,
  SILENCE_ID_HEADER,
} from "../forward.ts";
import type { AckRecord, ActiveAlert } from "../../model/notification.ts";
import { ApiError, problemsMessage, zodProblems } from "../errors.ts";
import {
  AckRequestSchema,
  ActiveAlertsQuerySchema,
  NotificationsQuerySchema,
  PostableSilenceSchema,
  SilencesQuerySchema,
} from "../notify_schemas.ts";
import { GLOBAL_PARAMS, parseQuery } from "../params.ts";
import type { ContentfulStatusCode } from "hono/utils/http-status";

const FINGERPRINT = /^[0-9a-f]{16}$/;
const SILENCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SILENCE_EXAMPLE = '{"matchers":[{"name":"host","value":"host-a","isRegex":false,"isEqual":true}],' +
  '"startsAt":"2025-10-21T10:00:00Z","endsAt":"2025-10-21T12:00:00Z","createdBy":"ops","comment":"maintenance"}';

function notifyOf(deps: { notify?: NotifyApi }): NotifyApi {
  if (deps.notify === undefined) {
    throw new ApiError(503, "alert delivery is not available: this agent does not run the store");
  }
  return deps.notify;
}

/** The request's JSON body validated by `schema` (an empty body is `{}` when `optional`); 400 otherwise. */
async function jsonBody<S extends z.ZodType>(
  c: Context,
  ctx: RouteContext,
  schema: S,
  usage: string,
  optional = false,
): Promise<z.output<S>> {
  const max = ctx.http.max_body_bytes;
  const bytes = await readBody(c, {
    maxBytes: max,
    timeoutMs: ctx.http.body_timeout,
    tooLarge: `body is larger than ${max} bytes (http.max_body_bytes)`,
  });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError(400, `body is not valid UTF-8; ${usage}`);
  }
  let body: unknown = {};
  if (!(optional && text.trim() === "")) {
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new ApiError(
        400,
        `body is not valid JSON (${error instanceof Error ? error.message : error}); ${usage}`,
      );
    }
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const problems = zodProblems(parsed.error.issues);
    throw new ApiError(400, `${problemsMessage("invalid body", problems)}; ${usage}`, problems);
  }
  return parsed.data;
}

/**
 * The query of `GET /silences`: `state`, and `filter` repeated as Alertmanager's clients send it (the
 * other routes refuse repeated parameters).
 */
function silencesQuery(c: Context): z.output<typeof SilencesQuerySchema> {
  const query: Record<string, unknown> = {};
  for (const [key, values] of Object.entries(c.req.queries())) {
    if (GLOBAL_PARAMS.includes(key)) continue;
    query[key] = key === "filter" ? values : values.length === 1 ? values[0] : values;
  }
  const parsed = SilencesQuerySchema.safeParse(query);
  if (!parsed.success) {
    const problems = zodProblems(parsed.error.issues);
    throw new ApiError(400, problemsMessage("invalid query", problems), problems);
  }
  return parsed.data;
}

/** A handler whose errors are answered as Alertmanager answers them: the message as a JSON string. */
function alertmanagerErrors(
  handler: (c: Context) => Response | Promise<Response>,
): (c: Context) => Promise<Response> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return c.json(error.message, error.status as ContentfulStatusCode, { "Cache-Control": "no-store" });
    }
  };
}

function isSilenceFailure(error: unknown): error is Error & { status: 400 | 404 } {
  return error instanceof Error && error.name === "SilenceError" && "status" in error;
}

/** Registers the alert-delivery routes. */
export function registerNotifyRoutes(app: Hono, ctx: RouteContext, read: MiddlewareHandler): void {
  const { deps } = ctx;
  const write = requireWriteToken(ctx.auth);
  const noStore = { "Cache-Control": "no-store" };

  app.get("/alerts/active", read, async (c) => {
    const q = parseQuery(c, ActiveAlertsQuerySchema);
    const alerts = notifyOf(deps).activeAlerts().filter((alert) =>
      (q.tenant === undefined || alert.tenant === q.tenant) &&
      (q.host === undefined || alert.host === q.host) &&
      (q.severity === undefined || alert.severity === q.severity)
    );
    const cluster = deps.cluster;
    if (cluster === undefined || isForwarded(c) || cluster.peers().length === 0) {
      return c.json({ count: alerts.length, alerts }, 200, noStore);
    }
    // Scale-out: every agent's firing alerts (each agent delivers the alerts of the series it stores).
    const answers = await fanOut<{ alerts: ActiveAlert[] }>(c, cluster);
    const merged = mergeActiveAlerts([
      alerts,
      ...answers.flatMap((answer) => answer.ok && answer.body ? [answer.body.alerts] : []),
    ]);
    const coverage = coverageOf(cluster.selfUrl, answers);
    return c.json({ count: merged.length, alerts: merged, ...coverage }, 200, {
      ...noStore,
      ...(coverage.partial ? { [PARTIAL_HEADER]: "true" } : {}),
    });
  });

  app.post("/alerts/:fingerprint/ack", write, async (c) => {
    const fingerprint = c.req.param("fingerprint");
    if (!FINGERPRINT.test(fingerprint)) {
      throw new ApiError(
        400,
        `"${fingerprint}" is not an alert fingerprint (16 hex digits, as /alerts/active lists)`,
      );
    }
    const body = await jsonBody(
      c,
      ctx,
      AckRequestSchema,
      'send {"by": "name", "comment": "why"} or nothing',
      true,
    );
    const ack = await notifyOf(deps).ack(fingerprint, body.by, body.comment);
    if (ack !== undefined) return c.json({ ack }, 200, noStore);
    // Scale-out: the alert fires on the agent that stores its series; ask the others.
    const cluster = deps.cluster;
    const peers = cluster === undefined || isForwarded(c) ? [] : cluster.peers();
    if (cluster !== undefined && peers.length > 0) {
      const answers = await fanOutWrite<{ ack: AckRecord }>(c, cluster, "POST", body);
      const acked = answers.find((answer) => answer.ok);
      if (acked?.ok) return c.json(acked.body, 200, { ...noStore, [SERVED_BY_HEADER]: acked.url });
      const unreachable = answers.filter((answer) => !answer.ok && answer.status !== 404);
      if (unreachable.length > 0) {
        throw new ApiError(
          503,
          `no firing alert with fingerprint ${fingerprint} here, and ${
            unreachable.map((answer) => answer.url).join(", ")
          } did not answer; retry in a few seconds`,
          { unreachable: unreachable.map((answer) => answer.url) },
          { "Retry-After": "5", [PARTIAL_HEADER]: "true" },
        );
      }
    }
    throw new ApiError(404, `no firing alert with fingerprint ${fingerprint}; see GET /alerts/active`);
  });

  const listSilences = (c: Context) => {
    const q = silencesQuery(c);
    let silences;
    try {
      silences = notifyOf(deps).silences(q.filter ?? []);
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(400, `filter: ${error instanceof Error ? error.message : error}`);
    }
    return c.json(silences.filter((s) => q.state === undefined || s.status.state === q.state), 200, noStore);
  };
  const postSilence = async (c: Context) => {
    const posted = await jsonBody(c, ctx, PostableSilenceSchema, `send a silence like ${SILENCE_EXAMPLE}`);
    let silenceID: string;
    try {
      silenceID = await notifyOf(deps).setSilence(posted, replicaSilenceId(c));
    } catch (error) {
      if (isSilenceFailure(error)) throw new ApiError(error.status, error.message);
      throw error;
    }
    // Scale-out: the same silence (same id) on every other agent, each muting the alerts it delivers.
    const cluster = deps.cluster;
    if (cluster === undefined || isForwarded(c) || cluster.peers().length === 0) {
      return c.json({ silenceID }, 200, noStore);
    }
    const answers = await fanOutWrite(c, cluster, "POST", posted, { [SILENCE_ID_HEADER]: silenceID });
    const coverage = coverageOf(cluster.selfUrl, answers);
    return c.json({ silenceID, ...coverage }, 200, {
      ...noStore,
      ...(coverage.partial ? { [PARTIAL_HEADER]: "true" } : {}),
    });
  };
  const getSilence = (c: Context) => {
    const silence = notifyOf(deps).silence(c.req.param("id") ?? "");
    if (silence === undefined) throw new ApiError(404, `silence ${c.req.param("id")} not found`);
    return c.json(silence, 200, noStore);
  };
  const deleteSilence = async (c: Context) => {
    const id = c.req.param("id") ?? "";
    let missing: ApiError | undefined;
    try {
      await notifyOf(deps).expireSilence(id);
    } catch (error) {
      if (!isSilenceFailure(error)) throw error;
      missing = new ApiError(error.status, error.message);
      if (error.status !== 404) throw missing;
    }
    // Scale-out: expired on every agent (a copy this agent lacks may be on the others).
    const cluster = deps.cluster;
    if (cluster === undefined || isForwarded(c) || cluster.peers().length === 0) {
      if (missing) throw missing;
      return c.json({ expired: id }, 200, noStore);
    }
    const answers = await fanOutWrite(c, cluster, "DELETE");
    if (missing && !answers.some((answer) => answer.ok)) throw missing;
    // An agent without a copy (404) has nothing to expire: not a gap.
    const coverage = coverageOf(
      cluster.selfUrl,
      answers.filter((answer) => answer.ok || answer.status !== 404),
    );
    return c.json({ expired: id, ...coverage }, 200, {
      ...noStore,
      ...(coverage.partial ? { [PARTIAL_HEADER]: "true" } : {}),
    });
  };

  /** The id a silence replicated from another agent gets (its `X-EventOps-Silence-Id`), else none. */
  const replicaSilenceId = (c: Context): string | undefined => {
    const id = c.req.header(SILENCE_ID_HEADER);
    if (id === undefined || !isForwarded(c)) return undefined;
    if (!SILENCE_ID.test(id)) throw new ApiError(400, `${SILENCE_ID_HEADER} must be a silence id (a UUID)`);
    return id;
  };
  app.get("/silences", read, listSilences);
  app.post("/silences", write, postSilence);
  app.get("/silences/:id", read, getSilence);
  app.delete("/silences/:id", write, deleteSilence);
  // Alertmanager's paths answer errors as Alertmanager does: a JSON string (amtool prints it).
  app.get("/api/v2/silences", read, alertmanagerErrors(listSilences));
  app.post("/api/v2/silences", write, alertmanagerErrors(postSilence));
  app.get("/api/v2/silence/:id", read, alertmanagerErrors(getSilence));
  app.delete("/api/v2/silence/:id", write, alertmanagerErrors(deleteSilence));

  app.get("/notifications", read, async (c) => {
    const q = parseQuery(c, NotificationsQuerySchema);
    const notifications = await notifyOf(deps).notifications({
      limit: q.limit,
      status: q.status,
      receiver: q.receiver,
    });
    return c.json({ count: notifications.length, notifications }, 200, noStore);
  });
}
