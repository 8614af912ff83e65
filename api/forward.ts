/**
 * Scale-out reads over HTTP: reads fanned out to every other agent (a series' rows are on its owner,
 * and on the agents that owned it before a live rebalance), and the event stream of one series relayed
 * from its owner. A forwarded request carries {@link FORWARDED_HEADER} and is always answered from the
 * store of the agent it reaches (never forwarded again: no loops); the caller's `Authorization` header
 * and query string (`access_token`) go with it. An agent that does not answer in
 * `http.forward_timeout` is named in the response: a 503 when it owns the series asked for,
 * `partial: true` otherwise — never a plain empty 200.
 *
 * @module
 */
import type { Context } from "hono";
import type { ClusterApi } from "./deps.ts";
import { ApiError } from "./errors.ts";

/** Marks a request forwarded by another agent (answered locally, never forwarded again). */
export const FORWARDED_HEADER = "X-EventOps-Forwarded";
/** The agent that answered a forwarded read (its base URL). */
export const SERVED_BY_HEADER = "X-EventOps-Served-By";
/** `true` on a fan-out answer built without some agent. */
export const PARTIAL_HEADER = "X-EventOps-Partial";
/**
 * On every answer of an agent restoring the rows of a departed agent (`pipeline/restore.ts`): the
 * partitions of `events.enriched` whose series it does not hold whole yet, e.g. `3,7`.
 */
export const RESTORING_HEADER = "X-EventOps-Restoring";

/** The partitions a {@link RESTORING_HEADER} names (pure; none for a missing or malformed header). */
export function restoringOf(header: string | null | undefined): number[] {
  if (!header) return [];
  const partitions = header.split(",").map((part) => Number(part.trim()));
  return partitions.every((partition) => Number.isInteger(partition) && partition >= 0) ? partitions : [];
}

/** Whether the request came from another agent. */
export function isForwarded(c: Context): boolean {
  return c.req.header(FORWARDED_HEADER) !== undefined;
}

/** The same path and query on another agent (`query` may change the query). */
function targetOf(c: Context, baseUrl: string, query?: (params: URLSearchParams) => void): string {
  const url = new URL(c.req.url);
  query?.(url.searchParams);
  return `${baseUrl}${url.pathname}${url.search}`;
}

/** How to fan out. */
export interface FanOutOptions {
  /** Changes the query sent to the other agents (e.g. `format=json`). */
  query?: (params: URLSearchParams) => void;
  /** A 404 means "nothing here" (an agent that stores no series of the metric): an answer without a body. */
  notFoundIsEmpty?: boolean;
}

/** The headers a forwarded request carries: the hop marker, the caller's `Authorization` and `Accept`. */
export function forwardHeaders(c: Context): Headers {
  const headers = new Headers({ [FORWARDED_HEADER]: "1" });
  for (const name of ["Authorization", "Accept"]) {
    const value = c.req.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  return headers;
}

function reasonOf(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "timed out";
  if (error instanceof Error && error.name === "NotCapable") {
    return `${error.message}: the agent's sandbox does not allow connecting there; add the host to ` +
      "permissions.agent.net in deno.json";
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * One agent's answer to a fanned-out read (`body` undefined: a 404 taken as "nothing here";
 * `restoring`: the partitions it is restoring, {@link RESTORING_HEADER}).
 */
export type PeerAnswer<T> =
  | { url: string; ok: true; body: T; restoring?: number[] }
  | { url: string; ok: false; error: string };

/**
 * The same GET on every other agent (in parallel, each bounded by `http.forward_timeout`): each
 * one's JSON body, or why it gave none (a non-2xx answer, a timeout, a refused connection).
 */
export async function fanOut<T>(
  c: Context,
  cluster: ClusterApi,
  options: FanOutOptions = {},
): Promise<PeerAnswer<T | undefined>[]> {
  const answers = await Promise.all(
    cluster.peers().map(async (url): Promise<PeerAnswer<T | undefined>> => {
      try {
        const response = await fetch(targetOf(c, url, options.query), {
          headers: forwardHeaders(c),
          signal: AbortSignal.timeout(cluster.forwardTimeoutMs),
        });
        const restoring = restoringOf(response.headers.get(RESTORING_HEADER));
        const marked = restoring.length > 0 ? { restoring } : {};
        if (response.status === 404 && options.notFoundIsEmpty) {
          await response.body?.cancel();
          return { url, ok: true, body: undefined, ...marked };
        }
        if (!response.ok) {
          const text = await response.text();
          return { url, ok: false, error: `HTTP ${response.status}: ${text.slice(0, 200)}` };
        }
        return { url, ok: true, body: await response.json() as T, ...marked };
      } catch (error) {
        return { url, ok: false, error: reasonOf(error) };
      }
    }),
  );
  if (answers.some((answer) => !answer.ok)) void cluster.refresh();
  return answers;
}

/** What a fan-out answer says of the agents it was built from. */
export interface Coverage {
  /** Agents that answered (this one first). */
  agents: string[];
  /** Some agent did not answer, or is restoring a departed agent's rows: the answer lacks series. */
  partial: boolean;
  /** The agents that did not answer, and why. */
  unreachable: { url: string; error: string }[];
  /** The agents restoring a departed agent's rows, and the partitions they do not hold whole yet. */
  restoring?: { url: string; partitions: number[] }[];
}

/**
 * The coverage of a fan-out (pure): `selfRestoring`, the partitions this agent is restoring
 * (`ClusterApi.restoring`).
 */
export function coverageOf(
  self: string,
  answers: readonly PeerAnswer<unknown>[],
  selfRestoring: readonly number[] = [],
): Coverage {
  const unreachable = answers.flatMap((answer) =>
    answer.ok ? [] : [{ url: answer.url, error: answer.error }]
  );
  const restoring = [
    ...(selfRestoring.length > 0 ? [{ url: self, partitions: [...selfRestoring] }] : []),
    ...answers.flatMap((answer) =>
      answer.ok && answer.restoring !== undefined && answer.restoring.length > 0
        ? [{ url: answer.url, partitions: answer.restoring }]
        : []
    ),
  ];
  return {
    agents: [self, ...answers.filter((answer) => answer.ok).map((answer) => answer.url)],
    partial: unreachable.length > 0 || restoring.length > 0,
    unreachable,
    ...(restoring.length > 0 ? { restoring } : {}),
  };
}

/**
 * The coverage of an answer this agent gives alone while it restores a departed agent's rows
 * (`partial`, naming the partitions); undefined otherwise: an answer as complete as the store.
 */
export function restoringCoverage(cluster: ClusterApi | undefined): Coverage | undefined {
  const restoring = cluster?.restoring?.() ?? [];
  return cluster === undefined || restoring.length === 0
    ? undefined
    : coverageOf(cluster.selfUrl, [], restoring);
}

/** How often a forwarded stream checks that its series still belongs to the agent it streams from. */
const STREAM_OWNER_CHECK_MS = 5_000;

/**
 * Relays the owner's event stream of one series (`/events/stream` with tenant, host and metric). The
 * stream ends when the series moves to another agent (a rebalance; checked every 5 s): the client
 * reconnects (`retry:`) and is routed to the new owner. A 503 naming the owner when it does not answer.
 */
export async function forwardStream(
  c: Context,
  cluster: ClusterApi,
  owner: { url: string; partition: number },
  series: { tenant: string; host: string; metric: string },
): Promise<Response> {
  const upstream = new AbortController();
  const connecting = setTimeout(
    () => upstream.abort(new DOMException("timed out", "TimeoutError")),
    cluster.forwardTimeoutMs,
  );
  let response: Response;
  try {
    response = await fetch(targetOf(c, owner.url), { headers: forwardHeaders(c), signal: upstream.signal });
  } catch (error) {
    void cluster.refresh();
    throw new ApiError(
      503,
      `the agent that owns this series (${owner.url}, partition ${owner.partition}) did not answer: ` +
        `${reasonOf(upstream.signal.reason ?? error)}; retry in a few seconds`,
      { unreachable: [owner.url], partition: owner.partition },
      { "Retry-After": "5", [PARTIAL_HEADER]: "true" },
    );
  } finally {
    clearTimeout(connecting);
  }
  const headers = new Headers({ [SERVED_BY_HEADER]: owner.url, "Cache-Control": "no-store" });
  const type = response.headers.get("Content-Type");
  if (type !== null) headers.set("Content-Type", type);
  if (!response.ok || response.body === null) {
    return new Response(await response.arrayBuffer(), { status: response.status, headers });
  }
  const moved = setInterval(() => {
    const now = cluster.ownerOf(series);
    if (now.kind !== "peer" || now.url !== owner.url) upstream.abort();
  }, STREAM_OWNER_CHECK_MS);
  const body = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({ flush: () => clearInterval(moved) }),
    { signal: upstream.signal },
  );
  c.req.raw.signal.addEventListener("abort", () => upstream.abort(), { once: true });
  upstream.signal.addEventListener("abort", () => clearInterval(moved), { once: true });
  return new Response(body, { status: response.status, headers });
}

/** Carries the id a replicated silence gets on the other agents (with {@link FORWARDED_HEADER}). */
export const SILENCE_ID_HEADER = "X-EventOps-Silence-Id";

/**
 * The same write (`method`, JSON `body`) on every other agent, in parallel, each bounded by
 * `http.forward_timeout`, with the caller's token and `headers`: each one's JSON answer, or why it gave
 * none (a non-2xx answer's status and text, a timeout, a refused connection).
 */
export async function fanOutWrite<T>(
  c: Context,
  cluster: ClusterApi,
  method: "POST" | "DELETE",
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<(PeerAnswer<T> & { status?: number })[]> {
  const answers = await Promise.all(
    cluster.peers().map(async (url): Promise<PeerAnswer<T> & { status?: number }> => {
      const sent = forwardHeaders(c);
      for (const [name, value] of Object.entries(headers)) sent.set(name, value);
      if (body !== undefined) sent.set("Content-Type", "application/json");
      try {
        const response = await fetch(targetOf(c, url), {
          method,
          headers: sent,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(cluster.forwardTimeoutMs),
        });
        if (!response.ok) {
          const text = await response.text();
          return {
            url,
            ok: false,
            status: response.status,
            error: `HTTP ${response.status}: ${text.slice(0, 200)}`,
          };
        }
        return { url, ok: true, body: await response.json() as T };
      } catch (error) {
        return { url, ok: false, error: reasonOf(error) };
      }
    }),
  );
  if (answers.some((answer) => !answer.ok && answer.status === undefined)) void cluster.refresh();
  return answers;
}
