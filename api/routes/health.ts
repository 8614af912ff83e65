/**
 * `GET /healthz` (the process answers), `GET /readyz` (broker reachable, store writable and readable,
 * consumer lag within bounds, every consumer group consuming and making progress; 503 with reasons
 * otherwise; ready but `degraded`, with `warnings`, while Parquet parts are missing or damaged).
 *
 * @module
 */
import type { Hono } from "hono";
import type { RouteContext } from "../context.ts";
import type { ConsumerHealth, Health, StoreReadable } from "../deps.ts";
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

/** The `store_readable` check as reported. */
interface ReadableCheck {
  ok: boolean;
  error?: string;
  ms: number;
  damaged_parts: number;
  unreadable_rows: number;
  damaged: { path: string; problem: string; rows: number; quarantine: string | null }[];
}

/** Runs the store-readable probe with a timeout; undefined when the agent has none. Never throws. */
async function readableProbe(health: Health, timeoutMs: number): Promise<ReadableCheck | undefined> {
  const check = health.storeReadable?.bind(health);
  if (check === undefined) return undefined;
  const started = performance.now();
  let found: StoreReadable | undefined;
  const result = await probe(async () => {
    found = await check();
    return found.ok;
  }, timeoutMs);
  return {
    ok: result.ok,
    ...(result.error ?? found?.error ? { error: result.error ?? found?.error } : {}),
    ms: found?.ms ?? Math.round(performance.now() - started),
    damaged_parts: found?.damagedParts ?? 0,
    unreadable_rows: found?.unreadableRows ?? 0,
    damaged: found?.damaged ?? [],
  };
}

/** The warning of a store whose Parquet parts are partly unreadable: which, and what to do. */
function damagedWarning(check: ReadableCheck): string {
  const list = check.damaged.map((part) => `${part.path} (${part.problem})`).join("; ");
  const more = check.damaged_parts > check.damaged.length
    ? `; and ${check.damaged_parts - check.damaged.length} more`
    : "";
  return `${check.damaged_parts} Parquet part(s) missing or damaged, ${check.unreadable_rows} rows unreadable ` +
    `and left out of the queries: ${list}${more}. Put a backup of a part back at data_dir/parquet/<path> to ` +
    "restore it (damaged files were moved to data_dir/quarantine/); they are reported until then or until " +
    "retention removes their day";
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
    const [broker, store, readable] = await Promise.all([
      probe(() => deps.health.brokerReachable(), timeoutMs),
      probe(() => deps.health.storeWritable(), timeoutMs),
      readableProbe(deps.health, timeoutMs),
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
    const warnings: string[] = [];
    if (readable !== undefined) {
      if (!readable.ok) {
        reasons.push(
          `store not readable${
            readable.error ? ` (${readable.error})` : ""
          }: check data_dir and the agent's log`,
        );
      } else if (readable.damaged_parts > 0) warnings.push(damagedWarning(readable));
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
          ...(readable === undefined ? {} : { store_readable: readable }),
        },
        reasons,
        degraded: warnings.length > 0,
        warnings,
      },
      ready ? 200 : 503,
      noStore,
    );
  });
}
