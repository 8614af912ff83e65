/**
 * `GET /healthz` (the process answers), `GET /readyz` (broker reachable, store writable, consumer
 * lag within bounds, every consumer group consuming and making progress; 503 with reasons otherwise).
 *
 * @module
 */
import type { Hono } from "hono";
import type { RouteContext } from "../context.ts";
import type { ConsumerHealth } from "../deps.ts";
import { parseQuery } from "../params.ts";
import { EmptyQuerySchema } from "../schemas.ts";

/** Runs an async probe with a timeout; never throws. */
export async function probe(
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<{ ok: boolean; error?: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const ok = await Promise.race([check(), timeout]);
    return ok ? { ok: true } : { ok: false };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Registers the health routes. */
export function registerHealthRoutes(app: Hono, ctx: RouteContext): void {
  const { deps } = ctx;
  const noStore = { "Cache-Control": "no-store" };

  app.get("/healthz", (c) => {
    parseQuery(c, EmptyQuerySchema);
    return c.json(
      {
        status: "ok" as const,
        version: deps.version ?? "dev",
        uptime_s: Math.round((Date.now() - ctx.startedAt) / 100) / 10,
      },
      200,
      noStore,
    );
  });

  app.get("/readyz", async (c) => {
    parseQuery(c, EmptyQuerySchema);
    const timeoutMs = deps.readiness?.probeTimeoutMs ?? 2_000;
    const maxLag = deps.readiness?.maxConsumerLag;
    const [broker, store] = await Promise.all([
      probe(() => deps.health.brokerReachable(), timeoutMs),
      probe(() => deps.health.storeWritable(), timeoutMs),
    ]);
    let lag: number | undefined;
    try {
      lag = deps.health.consumerLag();
    } catch {
      lag = undefined;
    }
    const lagOk = maxLag === undefined || lag === undefined || lag <= maxLag;
    const reasons: string[] = [];
    if (!broker.ok) {
      reasons.push(`broker not reachable${broker.error ? ` (${broker.error})` : ""}: check kafka.brokers`);
    }
    if (!store.ok) {
      reasons.push(
        `store not writable${store.error ? ` (${store.error})` : ""}: check data_dir and disk space`,
      );
    }
    if (!lagOk) reasons.push(`consumer lag ${lag} is above ${maxLag} messages`);
    let groups: ConsumerHealth[] = [];
    try {
      groups = deps.health.consumers?.() ?? [];
    } catch (err) {
      reasons.push(`consumer groups unknown (${err instanceof Error ? err.message : String(err)})`);
    }
    for (const group of groups) {
      if (!group.ok) reasons.push(group.reason ?? `consumer group ${group.group} not ok`);
    }
    const ready = reasons.length === 0;
    return c.json(
      {
        ready,
        checks: {
          broker,
          store,
          consumer_lag: { ok: lagOk, value: lag ?? null, max: maxLag ?? null },
          consumers: { ok: groups.every((group) => group.ok), groups },
        },
        reasons,
      },
      ready ? 200 : 503,
      noStore,
    );
  });
}
