/**
 * The protocol receivers (Collect): Influx line protocol (`POST /write`, `POST /api/v2/write`),
 * Prometheus remote write 1.0 (`POST /api/v1/write`) and OTLP/HTTP metrics (`POST /v1/metrics`).
 * Each handler is thin: read the body (within `http.max_body_bytes`, also once decompressed), let
 * the protocol's pure parser (`sources/`) convert it to raw events, produce them to the raw topic
 * as `POST /ingest` does (so everything after Collect is unchanged), and dead-letter what it could
 * not convert, with the reason. Token rules as for `/ingest`; the Influx routes also take the
 * InfluxDB clients' ways of sending it.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { RouteContext } from "../context.ts";
import { requireWriteToken } from "../auth.ts";
import { ApiError, errorBody, wellFormed } from "../errors.ts";
import { decodeContent, readBody } from "../body.ts";
import { produceOrUnavailable, shortError } from "./ingest.ts";
import {
  type Conversion,
  MAX_LISTED_REJECTIONS,
  type RequestDefaults,
  UnreadableBody,
} from "../../sources/convert.ts";
import { INFLUX_PRECISIONS, parseInfluxLines, precisionNs } from "../../sources/influx.ts";
import { decodeRemoteWrite } from "../../sources/prometheus.ts";
import { decodeOtlpMetrics, encodeOtlpResponse, type OtlpEncoding } from "../../sources/otlp.ts";
import { decodeUtf8 } from "../../lib/utf8.ts";
import { parseQuery } from "../params.ts";
import { CollectQuerySchema, InfluxWriteQuerySchema } from "../schemas.ts";

/** What a receiver tells the client about one request. */
export interface CollectSummary {
  accepted: number;
  rejected: number;
  /** The first {@link MAX_LISTED_REJECTIONS} reasons. */
  errors: string[];
}

type Protocol = "influx" | "prometheus" | "otlp";

interface Receiver {
  path: string;
  /** Its query parameters (unknown ones are ignored, as the protocols' servers do). */
  query: typeof CollectQuerySchema | typeof InfluxWriteQuerySchema;
  protocol: Protocol;
  /** Also accept the InfluxDB clients' token forms. */
  influxAuth: boolean;
  /** A `Content-Encoding` the protocol decodes itself (remote write's `snappy`), not the route. */
  ownEncoding?: string;
  /** Converts the (decompressed) body; throws an `ApiError` for a body it cannot read at all. */
  convert(body: Uint8Array, c: Context, defaults: RequestDefaults): Conversion;
  respond(c: Context, summary: CollectSummary): Response;
}

function text(body: Uint8Array, what: string): string {
  const decoded = decodeUtf8(body);
  if (decoded === undefined) throw new ApiError(400, `body is not valid UTF-8; send ${what} as UTF-8 text`);
  return decoded;
}

/** Influx answers: 204 when every line was taken; else 400 with what was taken and why not. */
function influxRespond(c: Context, summary: CollectSummary): Response {
  if (summary.rejected === 0) return c.body(null, 204);
  const message = `partial write: ${summary.rejected} item(s) not taken (first: ${summary.errors[0]}); ` +
    `${summary.accepted} taken`;
  return c.json({ ...errorBody(400, message), ...wellFormed(summary) }, 400);
}

function influxReceiver(path: string, tenantParams: readonly string[]): Receiver {
  return {
    path,
    query: InfluxWriteQuerySchema,
    protocol: "influx",
    influxAuth: true,
    convert(body, c, defaults) {
      const precision = c.req.query("precision");
      const ns = precisionNs(precision);
      if (ns === undefined) {
        throw new ApiError(
          400,
          `precision ${JSON.stringify(precision)} is not one of ${INFLUX_PRECISIONS.join(", ")}`,
        );
      }
      const tenant = defaults.tenant ?? tenantParams.map((p) => c.req.query(p)).find((v) => v);
      const lines = text(body, "line protocol");
      if (lines.trim() === "") {
        throw new ApiError(
          400,
          "body is empty; send line protocol: measurement,tag=value field=1.5 <timestamp>",
        );
      }
      return parseInfluxLines(lines, ns, { ...defaults, tenant });
    },
    respond: influxRespond,
  };
}

const RECEIVERS: readonly Receiver[] = [
  influxReceiver("/write", ["db"]),
  influxReceiver("/api/v2/write", ["org", "bucket"]),
  {
    path: "/api/v1/write",
    query: CollectQuerySchema,
    protocol: "prometheus",
    influxAuth: false,
    ownEncoding: "snappy",
    convert: (body, _c, defaults) => decodeRemoteWrite(body, defaults),
    respond: (c, summary) => {
      if (summary.rejected === 0) return c.body(null, 204);
      const message = `${summary.rejected} sample(s) not taken (first: ${summary.errors[0]}); ` +
        `${summary.accepted} taken`;
      return c.json({ ...errorBody(400, message), ...wellFormed(summary) }, 400);
    },
  },
  {
    path: "/v1/metrics",
    query: CollectQuerySchema,
    protocol: "otlp",
    influxAuth: false,
    convert: (body, c, defaults) => decodeOtlpMetrics(body, otlpEncoding(c), defaults),
    respond: (c, summary) => {
      const encoding = otlpEncoding(c);
      const payload = new Uint8Array(encodeOtlpResponse(summary, encoding));
      return encoding === "json"
        ? c.body(payload, 200, { "Content-Type": "application/json" })
        : c.body(payload, 200, { "Content-Type": "application/x-protobuf" });
    },
  },
];

function otlpEncoding(c: Context): OtlpEncoding {
  const type = (c.req.header("content-type") ?? "").toLowerCase();
  if (type.includes("json")) return "json";
  if (type.includes("protobuf")) return "protobuf";
  throw new ApiError(
    415,
    `Content-Type ${JSON.stringify(type)} is not OTLP: send application/x-protobuf or application/json`,
  );
}

/** Registers the protocol receivers. */
export function registerCollectRoutes(app: Hono, ctx: RouteContext): void {
  const max = ctx.http.max_body_bytes;
  const encoder = new TextEncoder();
  for (const receiver of RECEIVERS) {
    const accepted = ctx.metrics.collectItems.labels(receiver.protocol, "accepted");
    const rejected = ctx.metrics.collectItems.labels(receiver.protocol, "rejected");
    const route = `POST ${receiver.path}`;
    app.post(receiver.path, requireWriteToken(ctx.auth, receiver.influxAuth), async (c) => {
      const query = parseQuery(c, receiver.query);
      const raw = await readBody(c, {
        maxBytes: max,
        timeoutMs: ctx.http.body_timeout,
        tooLarge: `body is larger than ${max} bytes (http.max_body_bytes); split it into smaller requests`,
      });
      const encoding = c.req.header("content-encoding");
      const body =
        receiver.ownEncoding !== undefined && encoding?.trim().toLowerCase() === receiver.ownEncoding
          ? raw
          : await decodeContent(raw, encoding, max);
      const defaults: RequestDefaults = {
        tenant: query.tenant,
        host: query.host,
        nowMs: ctx.now(),
      };
      let conversion: Conversion;
      try {
        conversion = receiver.convert(body, c, defaults);
      } catch (err) {
        if (err instanceof UnreadableBody) throw new ApiError(err.status, err.message);
        throw err;
      }
      const { events } = conversion;
      const rejects = [...conversion.rejected];
      let taken = 0;
      if (events.length > 0) {
        const messages = events.map((event) => encoder.encode(JSON.stringify(event)));
        const outcomes = await produceOrUnavailable(ctx, messages, route);
        events.forEach((event, k) => {
          const outcome = outcomes[k];
          if (!("error" in outcome)) {
            taken++;
            return;
          }
          rejects.push({
            where: `event ${k}`,
            reason: `${event.metric}: ${outcome.error}`,
            original: JSON.stringify(event),
          });
        });
      }
      if (rejects.length > 0 && ctx.deps.ingestor.deadLetter !== undefined) {
        try {
          await ctx.deps.ingestor.deadLetter(
            route,
            rejects.map(({ reason, original }) => ({ reason, original })),
          );
        } catch (err) {
          ctx.log({ level: "error", msg: "collect dead-letter failed", route, error: shortError(err) });
        }
      }
      accepted.inc(taken);
      rejected.inc(rejects.length);
      return receiver.respond(c, {
        accepted: taken,
        rejected: rejects.length,
        errors: rejects.slice(0, MAX_LISTED_REJECTIONS).map((r) => r.reason),
      });
    });
  }
}
