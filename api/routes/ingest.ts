/**
 * `POST /ingest`: raw events into the raw Kafka topic, one message per item.
 *
 * The body is a JSON object, a JSON array of objects, or NDJSON (one object per line), chosen by
 * `Content-Type` (`application/json`, `application/x-ndjson`/`application/jsonl`) or, for any other
 * type, by sniffing. Each item is validated here, synchronously, by the normalize stage that the
 * stateless group runs (`Ingestor.validate`): the answer says, per item, accepted or rejected with the
 * reason. A rejected JSON object is still produced to the raw topic, so that it lands on the DLQ with that
 * same reason and its source position, as from any other producer: nothing a client sent is lost, even if
 * it drops the answer (`dlq: true` in its result). An item that is not a JSON object (or not JSON) is
 * only answered. Status: 202 all accepted, 207 mixed, 400 none, 408 body slower than `http.body_timeout`, 413 body over `http.max_body_bytes`, 401/403 token
 * problems, 429 too many wrong tokens, 503 broker unavailable.
 *
 * @module
 */
import type { Hono } from "hono";
import type { RouteContext } from "../context.ts";
import { requireWriteToken } from "../auth.ts";
import { ApiError, errorBody, wellFormed } from "../errors.ts";
import { readBody } from "../body.ts";
import { decodeUtf8 } from "../../lib/utf8.ts";
import type { IngestOutcome } from "../deps.ts";

/** One item's outcome. */
export interface IngestResult {
  index: number;
  status: "accepted" | "rejected";
  partition?: number;
  offset?: string;
  error?: string;
  /** The rejected item goes to the DLQ with `error` as its reason. */
  dlq?: boolean;
}

type Parsed = { index: number; value?: Record<string, unknown>; error?: string };

const NDJSON_TYPES = ["ndjson", "jsonl", "json-seq", "jsonlines"];
const USAGE = "send a JSON object, a JSON array of objects, or NDJSON (one JSON object per line)";

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function item(index: number, value: unknown, where: string): Parsed {
  return isObject(value)
    ? { index, value }
    : { index, error: `${where} must be a JSON object, got ${describe(value)}` };
}

/** An error's message, at most 200 characters, never ending in half a surrogate pair. */
export function shortError(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.length > 200 ? text.slice(0, 200) : text).toWellFormed();
}

/**
 * Produces raw messages through the ingestor: one outcome per message, or a 503 (with Retry-After)
 * when the broker took none of them. `route` names the caller in the log line.
 */
export async function produceOrUnavailable(
  ctx: RouteContext,
  messages: Uint8Array[],
  route: string,
): Promise<IngestOutcome[]> {
  try {
    return await ctx.deps.ingestor.produce(messages);
  } catch (err) {
    ctx.log({ level: "error", msg: "produce failed", route, error: shortError(err) });
    throw new ApiError(
      503,
      `could not write to the broker (${shortError(err)}); nothing was accepted, retry later`,
      undefined,
      { "Retry-After": "5" },
    );
  }
}

/** Splits a body into items (exported for tests). */
export function parseIngestBody(text: string, contentType: string): Parsed[] {
  const ct = contentType.toLowerCase();
  const ndjson = NDJSON_TYPES.some((t) => ct.includes(t));
  if (!ndjson) {
    let whole: unknown;
    let parsed = false;
    try {
      whole = JSON.parse(text);
      parsed = true;
    } catch (err) {
      if (ct.includes("json")) {
        throw new ApiError(
          400,
          `body is not valid JSON (${
            shortError(err)
          }); for one object per line use Content-Type: application/x-ndjson`,
        );
      }
    }
    if (parsed) {
      if (Array.isArray(whole)) {
        if (whole.length === 0) throw new ApiError(400, `the JSON array is empty; ${USAGE}`);
        return whole.map((v, i) => item(i, v, `item ${i}`));
      }
      if (isObject(whole)) return [{ index: 0, value: whole }];
      throw new ApiError(400, `body is ${describe(whole)}; ${USAGE}`);
    }
  }
  const out: Parsed[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const index = out.length;
    try {
      out.push(item(index, JSON.parse(line), `line ${i + 1}`));
    } catch (err) {
      out.push({ index, error: `line ${i + 1} is not valid JSON: ${shortError(err)}` });
    }
  }
  return out;
}

/** Registers the ingest route. */
export function registerIngestRoutes(app: Hono, ctx: RouteContext): void {
  const max = ctx.http.max_body_bytes;
  const accepted = ctx.metrics.ingestItems.labels("accepted");
  const rejected = ctx.metrics.ingestItems.labels("rejected");
  const encoder = new TextEncoder();

  app.post(
    "/ingest",
    requireWriteToken(ctx.auth),
    async (c) => {
      const bytes = await readBody(c, {
        maxBytes: max,
        timeoutMs: ctx.http.body_timeout,
        tooLarge: `body is larger than ${max} bytes (http.max_body_bytes); split it into smaller requests`,
      });
      const text = decodeUtf8(bytes);
      if (text === undefined) {
        throw new ApiError(400, "body is not valid UTF-8 text; send JSON or NDJSON encoded as UTF-8");
      }
      if (text.trim() === "") throw new ApiError(400, `body is empty; ${USAGE}`);
      const items = parseIngestBody(text, c.req.header("content-type") ?? "");
      const now = ctx.now();
      const objects = items.flatMap((i) => {
        if (i.value === undefined) return [];
        const bytes = encoder.encode(JSON.stringify(i.value));
        return [{ index: i.index, bytes, reason: ctx.deps.ingestor.validate?.(bytes, now) }];
      });
      const results: IngestResult[] = items.map((i) => ({
        index: i.index,
        status: "rejected",
        error: i.error,
      }));
      if (objects.length > 0) {
        const produced = await produceOrUnavailable(ctx, objects.map((o) => o.bytes), "ingest");
        objects.forEach((o, k) => {
          const r = produced[k];
          results[o.index] = "error" in r // not written (e.g. larger than the topic takes): only answered
            ? { index: o.index, status: "rejected", error: r.error }
            : o.reason === undefined
            ? { index: o.index, status: "accepted", partition: r.partition, offset: r.offset }
            : {
              index: o.index,
              status: "rejected",
              error: o.reason,
              dlq: true,
              partition: r.partition,
              offset: r.offset,
            };
        });
      }
      const nAccepted = results.filter((r) => r.status === "accepted").length;
      const nRejected = results.length - nAccepted;
      accepted.inc(nAccepted);
      rejected.inc(nRejected);
      const body = { accepted: nAccepted, rejected: nRejected, results };
      if (nAccepted === 0) {
        const first = results.find((r) => r.error)?.error ?? "no items";
        const message = `no item was accepted (first problem: ${first}); ${USAGE}`;
        return c.json({ ...errorBody(400, message), ...wellFormed(body) }, 400);
      }
      return c.json(body, nRejected === 0 ? 202 : 207);
    },
  );
}
