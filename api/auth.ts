/**
 * Bearer-token checks with a constant-time comparison.
 *
 * Writes always need `http.token`; with no token configured they are refused (403). Reads need it
 * too when `http.token_for_reads` is set; browsers' `EventSource` cannot send headers, so reads
 * also accept `?access_token=`. SQL queries (`POST /query`, a read of every stored row) need a
 * credential too: `http.token`, or, from a loopback client only, the agent's local credential
 * (`lib/local_credential.ts`, a file only the agent's user can read), which `eventops query` on the
 * same machine sends. A request from any other address is never accepted with the local credential.
 *
 * Wrong tokens are rate-limited per client address (`AuthThrottle`): after `http.auth_failure_burst`
 * of them, the client gets 429 with `Retry-After` until its bucket refills, whatever token it sends.
 * Clients sending the right token never touch the bucket and are not slowed down.
 *
 * @module
 */
import type { Context, MiddlewareHandler } from "hono";
import { requestClient } from "./client.ts";
import { ApiError } from "./errors.ts";
import type { AuthThrottle } from "./limits.ts";
import { requestAddress } from "./client.ts";
import { isLoopbackAddress } from "../lib/local_credential.ts";

const encoder = new TextEncoder();

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/** Compares two strings in time independent of where they differ (both are hashed first). */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([digest(a), digest(b)]);
  let diff = 0;
  for (let i = 0; i < da.length; i++) diff |= da[i] ^ db[i];
  return diff === 0;
}

/**
 * The token from `Authorization: Bearer <token>`, or (when `allowQuery`) `?access_token=`. With
 * `influx`, also the InfluxDB clients' ways: `Authorization: Token <token>` (2.x), HTTP Basic with the
 * token as the password, and `?p=<token>` (1.x).
 */
export function presentedToken(req: Request, allowQuery: boolean, influx = false): string | undefined {
  const header = req.headers.get("authorization");
  if (header !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match) return match[1];
    if (!influx) return "";
    const token = /^Token\s+(\S+)\s*$/i.exec(header);
    if (token) return token[1];
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (basic === null) return "";
    let decoded: string;
    try {
      decoded = atob(basic[1]);
    } catch {
      return "";
    }
    const colon = decoded.indexOf(":");
    return colon < 0 ? "" : decoded.slice(colon + 1);
  }
  if (influx) {
    const password = new URL(req.url).searchParams.get("p");
    if (password !== null) return password;
  }
  if (allowQuery) {
    const value = new URL(req.url).searchParams.get("access_token");
    if (value !== null) return value;
  }
  return undefined;
}

const HOW_TO_SET =
  "set the EVENTOPS_HTTP_TOKEN environment variable (or http.token in eventops.yaml) and restart the agent";

/** The configured token, the wrong-token throttle, and a hook counting refusals. */
export interface TokenCheck {
  /** `http.token`; empty refuses every request that needs it (but SQL queries from loopback, below). */
  token: string;
  /** The agent's local credential: accepted for SQL queries from a loopback client only. */
  localCredential?: string;
  throttle?: AuthThrottle;
  onRefused?: (reason: "wrong_token" | "auth_throttled") => void;
}

/** What a protected route needs, for the messages. */
interface Need {
  /** Plural subject of the messages: "writes", "reads", "SQL queries". */
  what: string;
  /** Also accept `?access_token=`. */
  allowQuery: boolean;
  /** Also accept the agent's local credential from a loopback client. */
  acceptLocal: boolean;
  /** Also accept the InfluxDB clients' ways (`Token <token>`, the token as the password). */
  influx?: boolean;
}

async function check(c: Context, gate: TokenCheck, need: Need): Promise<void> {
  const { what, allowQuery, influx = false } = need;
  const local = need.acceptLocal && gate.localCredential ? gate.localCredential : undefined;
  const loopback = isLoopbackAddress(requestAddress(c));
  if (gate.token === "" && (local === undefined || !loopback)) {
    const onlyLocal = local === undefined ? "" : " (eventops query on the agent's machine needs none)";
    throw new ApiError(
      403,
      `${what} are disabled because no API token is configured${onlyLocal}: ${HOW_TO_SET}`,
    );
  }
  const client = requestClient(c);
  const waitMs = gate.throttle?.blockedFor(client) ?? 0;
  if (waitMs > 0) {
    gate.onRefused?.("auth_throttled");
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new ApiError(
      429,
      `too many wrong API tokens from your address; retry in ${seconds} s with the value of ` +
        "EVENTOPS_HTTP_TOKEN (http.token)",
      undefined,
      { "Retry-After": String(seconds) },
    );
  }
  const token = presentedToken(c.req.raw, allowQuery, influx);
  const where = allowQuery
    ? "an Authorization: Bearer <token> header or ?access_token="
    : influx
    ? "an Authorization: Bearer <token> or Token <token> header, or the token as the password"
    : "an Authorization: Bearer <token> header";
  if (token === undefined) {
    const viaCli = local !== undefined ? " (eventops query on the agent's machine sends one by itself)" : "";
    throw new ApiError(401, `${what} need the API token: send ${where}${viaCli}`, undefined, {
      "WWW-Authenticate": 'Bearer realm="eventops"',
    });
  }
  const [configured, localMatch] = await Promise.all([
    gate.token === "" ? false : constantTimeEqual(token, gate.token),
    local === undefined || !loopback ? false : constantTimeEqual(token, local),
  ]);
  if (!configured && !localMatch) {
    gate.throttle?.fail(client);
    gate.onRefused?.("wrong_token");
    throw new ApiError(
      401,
      `the API token is wrong: ${what} need the value of EVENTOPS_HTTP_TOKEN (http.token)`,
      undefined,
      {
        "WWW-Authenticate": 'Bearer realm="eventops", error="invalid_token"',
      },
    );
  }
}

/**
 * Middleware: requires the token for writes; `influx` also accepts the InfluxDB clients' ways of
 * sending it (see {@link presentedToken}).
 */
export function requireWriteToken(gate: TokenCheck, influx = false): MiddlewareHandler {
  return async (c, next) => {
    await check(c, gate, { what: "writes", allowQuery: false, acceptLocal: false, influx });
    await next();
  };
}

/** Middleware: requires the token for reads when `enabled`; otherwise passes through. */
export function requireReadToken(gate: TokenCheck, enabled: boolean): MiddlewareHandler {
  return async (c, next) => {
    if (enabled) await check(c, gate, { what: "reads", allowQuery: true, acceptLocal: false });
    await next();
  };
}

/**
 * Middleware: SQL queries (a read of every stored row, and of the agent's CPU and memory) need the
 * token, or the local credential from a loopback client.
 */
export function requireQueryCredential(gate: TokenCheck): MiddlewareHandler {
  return async (c, next) => {
    await check(c, gate, { what: "SQL queries", allowQuery: false, acceptLocal: true });
    await next();
  };
}
