/**
 * Bearer-token checks with a constant-time comparison.
 *
 * Writes always need `http.token`; with no token configured they are refused (403). Reads need it
 * too when `http.token_for_reads` is set; browsers' `EventSource` cannot send headers, so reads
 * also accept `?access_token=`.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";

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

/** The token from `Authorization: Bearer <token>`, or (when `allowQuery`) `?access_token=`. */
export function presentedToken(req: Request, allowQuery: boolean): string | undefined {
  const header = req.headers.get("authorization");
  if (header !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : "";
  }
  if (allowQuery) {
    const value = new URL(req.url).searchParams.get("access_token");
    if (value !== null) return value;
  }
  return undefined;
}

const HOW_TO_SET =
  "set the EVENTOPS_HTTP_TOKEN environment variable (or http.token in eventops.yaml) and restart the agent";

async function check(req: Request, configured: string, allowQuery: boolean, what: string): Promise<void> {
  if (configured === "") {
    throw new ApiError(403, `${what} are disabled because no API token is configured: ${HOW_TO_SET}`);
  }
  const token = presentedToken(req, allowQuery);
  const where = allowQuery
    ? "an Authorization: Bearer <token> header or ?access_token="
    : "an Authorization: Bearer <token> header";
  if (token === undefined) {
    throw new ApiError(401, `${what} need the API token: send ${where}`, undefined, {
      "WWW-Authenticate": 'Bearer realm="eventops"',
    });
  }
  if (!(await constantTimeEqual(token, configured))) {
    throw new ApiError(
      401,
      "the API token is wrong: send the value of EVENTOPS_HTTP_TOKEN (http.token)",
      undefined,
      {
        "WWW-Authenticate": 'Bearer realm="eventops", error="invalid_token"',
      },
    );
  }
}

/** Middleware: requires the token for writes. */
export function requireWriteToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    await check(c.req.raw, token, false, "writes");
    await next();
  };
}

/** Middleware: requires the token for reads when `enabled`; otherwise passes through. */
export function requireReadToken(token: string, enabled: boolean): MiddlewareHandler {
  return async (c, next) => {
    if (enabled) await check(c.req.raw, token, true, "reads");
    await next();
  };
}
