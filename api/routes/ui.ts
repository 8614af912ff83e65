/**
 * The dashboard: `GET /` (HTML, revalidated) and `GET /assets/{name}` (content-hashed JS/CSS,
 * cached for a year). Everything is embedded from `ui/assets.gen.ts` (built by `ui/build.ts`).
 *
 * @module
 */
import type { Context, Hono } from "hono";
import { APP_CSS, APP_JS, CSS_NAME, INDEX_HTML, JS_NAME, UI_HASH } from "../../ui/assets.gen.ts";
import { sendError } from "../errors.ts";

/** Content Security Policy of the dashboard: everything from this origin, nothing else. */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

interface Asset {
  body: string;
  type: string;
  etag: string;
  cache: string;
}

const IMMUTABLE = "public, max-age=31536000, immutable";

/** Registers the UI routes. */
export function registerUiRoutes(app: Hono): void {
  const assets = new Map<string, Asset>([
    [JS_NAME, {
      body: APP_JS,
      type: "text/javascript; charset=utf-8",
      etag: `"${JS_NAME}"`,
      cache: IMMUTABLE,
    }],
    [CSS_NAME, { body: APP_CSS, type: "text/css; charset=utf-8", etag: `"${CSS_NAME}"`, cache: IMMUTABLE }],
  ]);
  const index: Asset = {
    body: INDEX_HTML,
    type: "text/html; charset=utf-8",
    etag: `"ui-${UI_HASH}"`,
    cache: "no-cache",
  };

  const serve = (c: Context, asset: Asset, extra: Record<string, string> = {}) => {
    const headers: Record<string, string> = {
      "Cache-Control": asset.cache,
      ETag: asset.etag,
      "X-Content-Type-Options": "nosniff",
      ...extra,
    };
    const inm = c.req.header("If-None-Match");
    if (inm !== undefined && inm.split(",").some((t) => t.trim() === asset.etag)) {
      return c.body(null, 304, headers);
    }
    return c.body(asset.body, 200, { ...headers, "Content-Type": asset.type });
  };

  app.get("/", (c) =>
    serve(c, index, {
      "Content-Security-Policy": UI_CSP,
      "Referrer-Policy": "no-referrer",
      "X-Frame-Options": "DENY",
    }));

  app.get("/assets/:name", (c) => {
    const asset = assets.get(c.req.param("name"));
    if (!asset) return sendError(c, 404, `no such asset "${c.req.param("name")}"; reload the page at /`);
    return serve(c, asset);
  });
}
