/**
 * The OpenAPI 3.1 document, generated from the route table (`route_docs.ts`) and the zod schemas the
 * routes validate with (`z.toJSONSchema`).
 *
 * @module
 */
import { z } from "zod";
import {
  type ResponseDoc,
  ROUTE_DOCS,
  type RouteDoc,
  serverBusy,
  type SseEventDoc,
  tooManyRequests,
} from "./route_docs.ts";

type JsonObject = { [key: string]: unknown };

/** Removes `$schema` and moves `$defs` into `components`, rewriting references. */
function hoist(schema: JsonObject, components: JsonObject): JsonObject {
  const { $schema: _ignored, $defs, ...rest } = schema;
  const rewrite = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/'));
  if ($defs && typeof $defs === "object") {
    for (const [name, def] of Object.entries($defs as JsonObject)) components[name] = rewrite(def);
  }
  return rewrite(rest) as JsonObject;
}

function toSchema(schema: z.ZodType, io: "input" | "output", components: JsonObject): JsonObject {
  return hoist(z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonObject, components);
}

function parameters(doc: RouteDoc, components: JsonObject): JsonObject[] {
  const out: JsonObject[] = [];
  for (const p of doc.pathParams ?? []) {
    out.push({
      name: p.name,
      in: "path",
      required: true,
      description: p.description,
      schema: {
        type: "string",
        minLength: 1,
        ...(p.maxLength ? { maxLength: p.maxLength } : {}),
        ...(p.pattern ? { pattern: p.pattern } : {}),
      },
      ...(p.example ? { example: p.example } : {}),
    });
  }
  for (const h of doc.headers ?? []) {
    out.push({
      name: h.name,
      in: "header",
      required: false,
      description: h.description,
      schema: { type: "string", ...(h.pattern ? { pattern: h.pattern } : {}) },
    });
  }
  if (doc.query) {
    for (const [name, field] of Object.entries(doc.query.shape)) {
      const schema = toSchema(field as z.ZodType, "input", components);
      const { description, ...rest } = schema;
      const absent = (field as z.ZodType).safeParse(undefined);
      out.push({
        name,
        in: "query",
        required: !absent.success,
        ...(description ? { description } : {}),
        schema: absent.success && absent.data !== undefined ? { ...rest, default: absent.data } : rest,
      });
    }
  }
  const named = doc.patternParams;
  if (named) {
    out.push({
      name: named.name,
      in: "query",
      required: false,
      description: named.description,
      style: "form",
      explode: true,
      schema: {
        type: "object",
        maxProperties: named.maxCount,
        propertyNames: { pattern: named.pattern },
        additionalProperties: { type: "string", minLength: 1, maxLength: named.maxValueLength },
      },
    });
  }
  return out;
}

/** The schema of one event of a stream (an SSE event: `event`, `id`, `data`). */
function sseSchema(events: SseEventDoc[], components: JsonObject): JsonObject {
  const schemas = events.map((e): JsonObject => ({
    type: "object",
    description: e.description,
    required: ["event", "data", ...(e.id ? ["id"] : [])],
    properties: {
      event: { const: e.event },
      ...(e.id ? { id: { type: "string", pattern: "^[0-9]+$", description: e.id } } : {}),
      data: {
        type: "string",
        contentMediaType: "application/json",
        contentSchema: toSchema(e.data, "output", components),
      },
    },
  }));
  return schemas.length === 1 ? schemas[0] : { oneOf: schemas };
}

/** Responses every route can give: limits of the TCP front and of the app (`http.max_*`). */
const COMMON_RESPONSES: Record<string, ResponseDoc> = { "429": tooManyRequests, "503": serverBusy };

/** Options of the generated document. */
export interface OpenApiOptions {
  version: string;
  /** Whether reads need the token (`http.token_for_reads`). */
  readsNeedToken: boolean;
}

/** Builds the OpenAPI 3.1 document. */
export function openApiDocument(options: OpenApiOptions): JsonObject {
  const components: JsonObject = {};
  const paths: Record<string, JsonObject> = {};
  for (const doc of ROUTE_DOCS) {
    const responses: JsonObject = {};
    for (const [status, r] of Object.entries({ ...COMMON_RESPONSES, ...doc.responses })) {
      if (r.noContent) {
        responses[status] = { description: r.description };
        continue;
      }
      const content: JsonObject = {};
      const type = r.contentType ?? "application/json";
      if (r.sseEvents) content[type] = { schema: sseSchema(r.sseEvents, components) };
      else content[type] = r.schema ? { schema: toSchema(r.schema, "output", components) } : {};
      for (const alt of r.alternatives ?? []) content[alt] = { schema: { type: "string" } };
      responses[status] = { description: r.description, content };
    }
    // Writes take the token in the Authorization header only; reads also as ?access_token= (EventSource).
    const security = doc.auth === "write"
      ? [{ bearer: [] }]
      : doc.auth === "read" && options.readsNeedToken
      ? [{ bearer: [] }, { accessToken: [] }]
      : undefined;
    const op: JsonObject = {
      operationId: `${doc.method}${
        doc.path.replace(/[^a-zA-Z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? "").toUpperCase())
      }`,
      summary: doc.summary,
      ...(doc.description ? { description: doc.description } : {}),
      tags: [doc.tag],
      parameters: parameters(doc, components),
      responses,
      ...(security ? { security } : {}),
    };
    if (doc.requestBody) {
      const content: JsonObject = {};
      for (const type of doc.requestBody.contentTypes) {
        const requestSchema = doc.requestBody.schema;
        content[type] = type !== "application/json"
          ? { schema: { type: "string" } }
          : { schema: requestSchema ? toSchema(requestSchema, "input", components) : {} };
      }
      op.requestBody = {
        required: !doc.requestBody.optional,
        description: doc.requestBody.description,
        content,
      };
    }
    paths[doc.path] ??= {};
    paths[doc.path][doc.method] = op;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "EventOps Flow agent API",
      version: options.version,
      description:
        "Query stored telemetry and alerts, stream live alerts and events, ingest raw events. Errors are " +
        "`{error: {status, message, details?}}`. Times accept ISO 8601, relative (`-1h`, `now-15m`), `now` or epoch.",
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "The value of EVENTOPS_HTTP_TOKEN (http.token).",
        },
        accessToken: {
          type: "apiKey",
          in: "query",
          name: "access_token",
          description: "For reads from browsers' EventSource, which cannot send headers.",
        },
      },
    },
  };
}
