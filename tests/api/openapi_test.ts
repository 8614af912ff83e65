import { equal, ok } from "node:assert/strict";
import { harness } from "./fakes.ts";

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
