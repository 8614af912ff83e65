/**
 * Added latency of scale-out reads (issue 24), through two REAL agents (their sandbox flags, a broker,
 * DuckDB) in the same consumer groups, each storing half of the series:
 *
 * - a read of one series from this agent's store only (`X-EventOps-Forwarded`) vs as users read it (every
 *   agent asked: a series' rows stay with a former owner after a live rebalance);
 * - the catalog and a tenant's points from this agent's store only (`X-EventOps-Forwarded`) vs fanned
 *   out over both agents and merged;
 * - after the other agent is killed: how long until reads of its series answer whole again (503 until the
 *   group's session timeout lets this agent take its partitions over, then partial until it restored
 *   their rows from `events.enriched`).
 *
 * Sequential requests, the two kinds compared alternating, after a warm-up; p50/p95/max in ms. Not a test.
 *
 * ```sh
 * EVENTOPS_TEST_BROKERS=127.0.0.1:19092 deno run -P=bench bench/scaleout_reads.ts [--requests 200] [--series 200]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { eventually, type RunningAgent } from "../testing/agent.ts";
import { kcatProduce } from "../testing/kcat.ts";
import { startAgents } from "../testing/scaleout.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { requests: { type: "string", default: "200" }, series: { type: "string", default: "200" } },
});
const REQUESTS = Number(flags.requests);
const SERIES = Number(flags.series);
const EVENTS = 60;
const SESSION_TIMEOUT_S = 10;

function quantiles(samples: number[]): { p50: number; p95: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { p50: round(at(0.5)), p95: round(at(0.95)), max: round(sorted[sorted.length - 1]) };
}

/** One timed GET (ms); throws on a status other than 200. */
async function timed(url: string, headers: Record<string, string>): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  return performance.now() - started;
}

/**
 * Two kinds of request timed alternately (after 20 warm-up pairs), so both see the same load of the
 * shared machine: `[first's samples, second's samples]`.
 */
async function timePairs(
  first: [string, Record<string, string>],
  second: [string, Record<string, string>],
): Promise<[ReturnType<typeof quantiles>, ReturnType<typeof quantiles>]> {
  const samples: [number[], number[]] = [[], []];
  for (let index = 0; index < REQUESTS + 20; index++) {
    const one = await timed(...first);
    const two = await timed(...second);
    if (index >= 20) {
      samples[0].push(one);
      samples[1].push(two);
    }
  }
  return [quantiles(samples[0]), quantiles(samples[1])];
}

const run = await startAgents("bench-scaleout", 2, {
  tokenForReads: false,
  sessionTimeoutS: SESSION_TIMEOUT_S,
});
const a = run.agents[0];
let b: RunningAgent | undefined = run.agents[1];
try {
  await eventually(
    async () => {
      const cluster = await (await fetch(`${a.baseUrl}/cluster`)).json();
      return cluster.view?.members.length === 2 && cluster.unowned_partitions.length === 0;
    },
    60_000,
    "both agents in the group",
  );
  const hosts = Array.from({ length: SERIES }, (_, index) => `bench-h${index}`);
  for (const host of hosts) {
    const lines = Array.from({ length: EVENTS }, (_, minute) =>
      JSON.stringify({
        tenant_id: "bench",
        host,
        metric: "cpu_load",
        value: 20 + (minute % 7),
        ts_event: new Date(Date.UTC(2025, 9, 21, 10, minute)).toISOString(),
      }));
    await kcatProduce(run.topics.raw, lines, host);
  }
  await eventually(
    async () => {
      const catalog = await (await fetch(`${a.baseUrl}/metrics`)).json();
      const rows = (catalog.series as { rows: number }[]).reduce((sum, series) => sum + series.rows, 0);
      return rows === SERIES * EVENTS;
    },
    120_000,
    "every event stored",
  );
  const local = { "X-EventOps-Forwarded": "1" };
  // A series this agent stores: read from its own store alone, and as a user reads it (every agent asked).
  const owned = await (await fetch(`${a.baseUrl}/metrics`, { headers: local })).json();
  const own = (owned.series as { host: string }[])[0].host;
  const theirs = await (await fetch(`${b!.baseUrl}/metrics`, { headers: local })).json();
  const other = (theirs.series as { host: string }[])[0].host;
  const single = await timePairs(
    [`${a.baseUrl}/metrics/cpu?tenant=bench&host=${own}`, local],
    [`${a.baseUrl}/metrics/cpu?tenant=bench&host=${own}`, {}],
  );
  const catalog = await timePairs([`${a.baseUrl}/metrics`, local], [`${a.baseUrl}/metrics`, {}]);
  const points = await timePairs(
    [`${a.baseUrl}/metrics/cpu?tenant=bench&limit=100000`, local],
    [`${a.baseUrl}/metrics/cpu?tenant=bench&limit=100000`, {}],
  );
  const buckets = await timePairs(
    [`${a.baseUrl}/metrics/cpu?tenant=bench&step=10m&agg=max`, local],
    [`${a.baseUrl}/metrics/cpu?tenant=bench&step=10m&agg=max`, {}],
  );
  const results = {
    machine_note: "shared 2-core VM, other helpers' brokers and tests running: noisy",
    series: SERIES,
    events_per_series: EVENTS,
    requests: REQUESTS,
    single_series_own_store: single[0],
    single_series_fan_out: single[1],
    catalog_own_store: catalog[0],
    catalog_fan_out: catalog[1],
    tenant_points_own_store: points[0],
    tenant_points_fan_out: points[1],
    tenant_buckets_own_store: buckets[0],
    tenant_buckets_fan_out: buckets[1],
    complete_again_after_kill_ms: 0,
    session_timeout_s: SESSION_TIMEOUT_S,
  };
  // The other agent dies: its series answer 503 until this agent owns their partitions, then partial
  // until it restored their rows from events.enriched.
  await b.kill();
  b = undefined;
  const killed = performance.now();
  await eventually(
    async () => {
      const response = await fetch(`${a.baseUrl}/metrics/cpu?tenant=bench&host=${other}&limit=1000`);
      if (response.status !== 200) {
        await response.arrayBuffer();
        return false;
      }
      const body = await response.json();
      return body.partial !== true && body.count === EVENTS;
    },
    120_000,
    "the dead agent's partitions taken over",
  );
  results.complete_again_after_kill_ms = Math.round(performance.now() - killed);
  console.log(JSON.stringify(results, null, 2));
} finally {
  await b?.stop();
  await a.stop();
}
