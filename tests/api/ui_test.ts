import { equal, match, ok } from "node:assert/strict";
import { CSS_NAME, JS_NAME } from "../../ui/assets.gen.ts";
import { buildAssets } from "../../ui/build.ts";
import { harness } from "../../testing/api_fakes.ts";

Deno.test("GET / serves the dashboard with revalidation and a strict CSP", async () => {
  const { app } = harness();
  const res = await app.request("/");
  equal(res.status, 200);
  equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  equal(res.headers.get("cache-control"), "no-cache");
  match(res.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  const html = await res.text();
  ok(html.includes(`/assets/${JS_NAME}`) && html.includes(`/assets/${CSS_NAME}`));
  ok(!/https?:\/\//.test(html.replace(/<a [^>]*>/g, "")), "no external URLs (devices are offline)");
  const etag = res.headers.get("etag") ?? "";
  const again = await app.request("/", { headers: { "If-None-Match": etag } });
  equal(again.status, 304);
});

Deno.test("assets are content-hashed, typed and cached immutably", async () => {
  const { app } = harness();
  const js = await app.request(`/assets/${JS_NAME}`);
  equal(js.status, 200);
  equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
  equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const code = await js.text();
  ok(code.includes("uPlot") || code.length > 30_000, "uPlot is bundled");
  const css = await app.request(`/assets/${CSS_NAME}`);
  equal(css.headers.get("content-type"), "text/css; charset=utf-8");
  match(await css.text(), /\.uplot/);
  const missing = await app.request("/assets/app-000000000000.js");
  equal(missing.status, 404);
  match((await missing.json()).error.message, /no such asset/);
});

Deno.test({
  name: "ui/assets.gen.ts is up to date and the build is deterministic",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const a = await buildAssets();
    const b = await buildAssets();
    equal(a, b, "two builds differ");
    const current = await Deno.readTextFile(new URL("../../ui/assets.gen.ts", import.meta.url));
    equal(a, current, "ui/assets.gen.ts is stale: run `deno run -A ui/build.ts`");
  },
});
