/**
 * Scale-out reads over HTTP: a read of one series forwarded to the agent that owns it, and a read
 * over many series fanned out to every other agent. A forwarded request carries
 * {@link FORWARDED_HEADER} and is always answered from the store of the agent it reaches (never
 * forwarded again: no loops); the caller's `Authorization` header and query string (`access_token`)
 * go with it. An agent that does not answer in `http.forward_timeout` is named in the response: a
 * 503 for a forwarded read, `partial: true` for a fan-out — never a plain empty 200.
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
 * Forwards the request to `baseUrl` and relays its answer (status, body, content type); a 503 naming
 * the agent when it does not answer (the map is read again for the next request).
 */
export async function forwardRead(
  c: Context,
  cluster: ClusterApi,
  owner: { url: string; partition: number },
): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(targetOf(c, owner.url), {
      headers: forwardHeaders(c),
      signal: AbortSignal.timeout(cluster.forwardTimeoutMs),
    });
  } catch (error) {
    void cluster.refresh();
    throw new ApiError(
      503,
      `the agent that owns this series (${owner.url}, partition ${owner.partition}) did not answer: ` +
        `${reasonOf(error)}; retry in a few seconds (the group moves its partitions to the other agents ` +
        "once it is gone)",
      { unreachable: [owner.url], partition: owner.partition },
      { "Retry-After": "5", [PARTIAL_HEADER]: "true" },
    );
  }
  const headers = new Headers({ [SERVED_BY_HEADER]: owner.url, "Cache-Control": "no-store" });
  for (const name of ["Content-Type", "Content-Disposition", "X-Truncated", "Retry-After"]) {
    const value = response.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Response(await response.arrayBuffer(), { status: response.status, headers });
}

/** One agent's answer to a fanned-out read (`body` undefined: a 404 taken as "nothing here"). */
export type PeerAnswer<T> = { url: string; ok: true; body: T } | { url: string; ok: false; error: string };

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
        if (response.status === 404 && options.notFoundIsEmpty) {
          await response.body?.cancel();
          return { url, ok: true, body: undefined };
        }
        if (!response.ok) {
          const text = await response.text();
          return { url, ok: false, error: `HTTP ${response.status}: ${text.slice(0, 200)}` };
        }
        return { url, ok: true, body: await response.json() as T };
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
  /** Some agent did not answer: the answer lacks its series. */
  partial: boolean;
  /** The agents that did not answer, and why. */
  unreachable: { url: string; error: string }[];
}

/** The coverage of a fan-out (pure). */
export function coverageOf(self: string, answers: readonly PeerAnswer<unknown>[]): Coverage {
  const unreachable = answers.flatMap((answer) =>
    answer.ok ? [] : [{ url: answer.url, error: answer.error }]
  );
  return {
    agents: [self, ...answers.filter((answer) => answer.ok).map((answer) => answer.url)],
    partial: unreachable.length > 0,
    unreachable,
  };
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
