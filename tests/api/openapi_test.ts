import { equal, ok } from "node:assert/strict";
import { harness } from "../../testing/api_fakes.ts";

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<string, { parameters: { name: string; in: string }[]; responses: Record<string, unknown> }>
  >;
  components: { schemas: Record<string, unknown> };
};

Deno.test("openapi.json describes every registered route", async () => {
  const { app } = harness();
  const res = await app.request("/openapi.json");
  equal(res.status, 200);
  const doc = await res.json() as Doc;
  equal(doc.openapi, "3.1.0");
  const routes = app.routes.filter((r) => r.method !== "ALL");
  ok(routes.length >= 15);
  for (const r of routes) {
    const path = r.path.replace(/:([a-zA-Z_]+)/g, "{$1}");
    const op = doc.paths[path]?.[r.method.toLowerCase()];
    ok(op, `${r.method} ${r.path} is not described in openapi.json`);
    ok(Object.keys(op.responses).length > 0);
  }
  // and nothing is described that is not served
  const served = new Set(
    routes.map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([a-zA-Z_]+)/g, "{$1}")}`),
  );
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const method of Object.keys(ops)) {
      ok(served.has(`${method} ${path}`), `${method} ${path} is not served`);
    }
  }
});

Deno.test("openapi parameters come from the zod query schemas; refs resolve", async () => {
  const { app } = harness();
  const text = await (await app.request("/openapi.json")).text();
  const doc = JSON.parse(text) as Doc;
  const params = doc.paths["/metrics/{metric}"].get.parameters;
  const names = params.map((p) => `${p.in}:${p.name}`);
  for (
    const n of [
      "path:metric",
      "query:tenant",
      "query:host",
      "query:from",
      "query:to",
      "query:step",
      "query:agg",
      "query:limit",
      "query:format",
    ]
  ) {
    ok(names.includes(n), n);
  }
  const limit = params.find((p) => p.name === "limit") as unknown as {
    schema: { maximum: number; default: number };
  };
  equal(limit.schema.maximum, 100_000);
  equal(limit.schema.default, 1_000);
  const stream = doc.paths["/alerts/stream"].get.parameters.map((p) => p.name);
  ok(stream.includes("Last-Event-ID") && stream.includes("since"));
  for (const m of text.matchAll(/"\$ref":\s*"#\/components\/schemas\/([^"]+)"/g)) {
    ok(doc.components.schemas[m[1]], `missing component ${m[1]}`);
  }
  ok(doc.components.schemas.Alert && doc.components.schemas.Envelope && doc.components.schemas.Error);
});

type Operation = {
  security?: Record<string, string[]>[];
  parameters: { name: string; in: string; schema: Record<string, unknown> }[];
  responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
};

async function operations(readsNeedToken = false): Promise<Record<string, Record<string, Operation>>> {
  const { app } = harness({ token_for_reads: readsNeedToken });
  return (await (await app.request("/openapi.json")).json()).paths;
}

Deno.test("openapi: every route documents 429 and 503 (the per-client limits and the connection cap)", async () => {
  for (const [path, ops] of Object.entries(await operations())) {
    for (const [method, op] of Object.entries(ops)) {
      ok(op.responses["429"], `${method} ${path}: 429`);
      ok(op.responses["503"], `${method} ${path}: 503`);
    }
  }
});

Deno.test("openapi: writes take the bearer header only; reads also ?access_token= when protected", async () => {
  let paths = await operations();
  equal(JSON.stringify(paths["/ingest"].post.security), JSON.stringify([{ bearer: [] }]));
  equal(JSON.stringify(paths["/query"].post.security), JSON.stringify([{ bearer: [] }]));
  equal(paths["/metrics"].get.security, undefined);
  paths = await operations(true);
  equal(
    JSON.stringify(paths["/alerts/stream"].get.security),
    JSON.stringify([{ bearer: [] }, { accessToken: [] }]),
  );
});

Deno.test("openapi: the ingest 400 body (error plus results) has its own schema (ST108)", async () => {
  const paths = await operations();
  const ref = paths["/ingest"].post.responses["400"].content?.["application/json"]?.schema?.$ref;
  equal(ref, "#/components/schemas/IngestError");
  const { app } = harness();
  const doc = await (await app.request("/openapi.json")).json();
  const documented = Object.keys(doc.components.schemas.IngestError.properties).sort();
  const res = await app.request("/ingest", {
    method: "POST",
    headers: { Authorization: "Bearer s3cret-token", "Content-Type": "application/json" },
    body: "[null, 1]",
  });
  equal(res.status, 400);
  for (const key of Object.keys(await res.json())) ok(documented.includes(key), `undocumented key ${key}`);
});

Deno.test("openapi: SSE responses describe each event (event, id, data as JSON of a component)", async () => {
  const paths = await operations();
  const alerts = paths["/alerts/stream"].get.responses["200"].content?.["text/event-stream"]?.schema as {
    oneOf: {
      required: string[];
      properties: { event: { const: string }; data: { contentSchema: { $ref: string } } };
    }[];
  };
  const [alert, peerAlert] = alerts.oneOf;
  equal(alert.properties.event.const, "alert");
  equal(alert.properties.data.contentSchema.$ref, "#/components/schemas/Alert");
  ok(alert.required.includes("id"));
  // Scale-out: another agent's alert, live, without an id (the id is this agent's seq).
  equal(peerAlert.properties.event.const, "alert");
  equal(peerAlert.properties.data.contentSchema.$ref, "#/components/schemas/PeerAlert");
  ok(!peerAlert.required.includes("id"));
  const events = paths["/events/stream"].get.responses["200"].content?.["text/event-stream"]?.schema as {
    oneOf: { properties: { event: { const: string } } }[];
  };
  equal(events.oneOf.map((e) => e.properties.event.const).join(","), "event,dropped,scope");
  const lastEventId = paths["/alerts/stream"].get.parameters.find((p) => p.name === "Last-Event-ID");
  equal(lastEventId?.schema.pattern, "^[0-9]{0,15}$");
});

Deno.test("openapi: time and step parameters carry the grammar the API reads (pattern)", async () => {
  const paths = await operations();
  const params = paths["/metrics/{metric}"].get.parameters;
  for (const name of ["from", "to", "step"]) {
    const pattern = params.find((p) => p.name === name)?.schema.pattern as string;
    ok(pattern?.startsWith("^") && pattern.endsWith("$"), name);
  }
  const metric = params.find((p) => p.name === "metric");
  equal(metric?.schema.maxLength, 128);
  const replay = paths["/alerts/stream"].get.parameters.find((p) => p.name === "replay");
  equal(replay?.schema.default, 10);
});
