/**
 * The rebuild of the stateful stages' memory from stored events (`stages/rebuild.ts`): an agent that
 * restarts and rebuilds takes the same decisions as one that never stopped.
 */
import assert from "node:assert/strict";
import type { Alert } from "../../../model/alert.ts";
import type { Envelope } from "../../../model/envelope.ts";
import type { StoredHistory, StoredSeries } from "../../../model/history.ts";
import { FeatureCursor, FeatureEngine } from "../../../stages/features.ts";
import {
  chunkPlan,
  planRebuild,
  replayHistory,
  resetSeries,
  type SeriesReplay,
} from "../../../stages/rebuild.ts";
import { parseRules, RuleEngine } from "../../../stages/rules.ts";
import { envelope, featureOptions, min, sec, T0 } from "./helpers.ts";

const RAW_RULE = `
rules:
  - { name: cpu_high, metric: cpu_load, warning: 80, critical: 95, clear: 75 }
`;
const FOR_RULE = `
rules:
  - { name: cpu_hot, metric: cpu_load, warning: 80, clear: 75, for: 2m }
`;
const FEATURE_RULE = `
rules:
  - { name: cpu_avg, metric: cpu_load, value: { feature: { window: 1m, stat: avg } }, warning: 80, clear: 75 }
`;

/** An agent's stateful memory: both engines, what it stored, and the alerts it emitted. */
class Agent {
  readonly features: FeatureEngine;
  readonly rules: RuleEngine;
  readonly stored: Envelope[] = [];
  readonly alerts: Alert[] = [];
  readonly #cursor: FeatureCursor;

  constructor(rulesYaml: string, features = featureOptions({ windows: ["1m", "5m"] })) {
    this.features = new FeatureEngine(features);
    this.rules = new RuleEngine(parseRules(rulesYaml, "rules.yaml"));
    this.#cursor = new FeatureCursor(this.features);
  }

  /** Handles events as the stateful group does; returns `state/severity@value` of the alerts emitted. */
  handle(events: Envelope[]): string[] {
    const out: Alert[] = [];
    for (const event of events) {
      this.#cursor.series = this.features.observe(event);
      out.push(...this.rules.evaluate(event, this.#cursor.series ? this.#cursor : undefined));
      this.stored.push(event);
    }
    this.alerts.push(...out);
    return out.map((alert) => `${alert.rule}:${alert.state}/${alert.severity}@${alert.value}`);
  }

  /** A new agent over the same store: alert state restored (as at start), then rebuilt when asked. */
  restart(rulesYaml: string, rebuild: boolean): Agent {
    const next = new Agent(rulesYaml);
    next.stored.push(...this.stored);
    next.alerts.push(...this.alerts);
    next.rules.restore(latestPerFingerprint(this.alerts));
    if (rebuild) {
      const plan = planRebuild(
        storedSeries(this.stored),
        featureOptions({ windows: ["1m", "5m"] }),
        next.rules.longestForMs,
      );
      resetSeries(plan.series, next, latestPerFingerprint(this.alerts));
      const stats = replayHistory(historyOf(this.stored, plan.series), plan.series, next);
      assert.equal(stats.transitions, 0, "the replay repeats no stored transition");
    }
    return next;
  }
}

function latestPerFingerprint(alerts: readonly Alert[]): Alert[] {
  const latest = new Map<string, Alert>();
  for (const alert of alerts) latest.set(alert.fingerprint, alert);
  return [...latest.values()];
}

function storedSeries(events: readonly Envelope[]): StoredSeries[] {
  const series = new Map<
    string,
    { tenant: string; host: string; metric: string; newest: number; rows: number }
  >();
  for (const event of events) {
    const key = `${event.tenant}|${event.host}|${event.metric}`;
    const entry = series.get(key) ??
      { tenant: event.tenant, host: event.host, metric: event.metric, newest: event.ts, rows: 0 };
    entry.newest = Math.max(entry.newest, event.ts);
    entry.rows++;
    series.set(key, entry);
  }
  return [...series.values()];
}

/** What the store gives back for a plan (the SQL of `store/history.ts`): its series' events after `since`, in arrival order. */
function historyOf(events: readonly Envelope[], plan: readonly SeriesReplay[]): StoredHistory {
  const variants: StoredHistory["variants"][number][] = [];
  const keys: string[] = [];
  const history = { variants, variant: [] as number[], ts: [] as number[], value: [] as number[] };
  for (const event of events) {
    const wanted = plan.find((s) =>
      s.tenant === event.tenant && s.host === event.host && s.metric === event.metric
    );
    if (wanted === undefined || event.ts <= wanted.since) continue;
    const key = JSON.stringify([event.tenant, event.host, event.metric, event.unit, event.tags, event.ctx]);
    let k = keys.indexOf(key);
    if (k < 0) {
      k = keys.push(key) - 1;
      variants.push({ ...event });
    }
    history.variant.push(k);
    history.ts.push(event.ts);
    history.value.push(event.value);
  }
  return history;
}

const cpu = (ts: number, value: number, extra: Partial<Envelope> = {}): Envelope =>
  envelope({ ts, value, tags: { env: "prod" }, ...extra });

Deno.test("a late event: ignored before a restart, and after a rebuild (it fired without one)", () => {
  const before = new Agent(RAW_RULE);
  assert.deepEqual(before.handle([cpu(min(0), 50), cpu(min(60), 50)]), []);
  const late = [cpu(min(0), 99)];
  const rebuilt = before.restart(RAW_RULE, true);
  const notRebuilt = before.restart(RAW_RULE, false);
  assert.deepEqual(before.handle(late), [], "no restart: late, ignored");
  assert.deepEqual(rebuilt.handle(late), [], "restart with the rebuild: the same");
  assert.deepEqual(notRebuilt.handle(late), ["cpu_high:firing/critical@99"], "what a restart did before");
  assert.equal(rebuilt.features.stats().lateDropped, 1);
});

Deno.test("a `for` still pending at the restart fires when it would have", () => {
  const before = new Agent(FOR_RULE);
  assert.deepEqual(before.handle([cpu(sec(0), 70), cpu(sec(30), 85), cpu(sec(90), 86)]), []);
  const rebuilt = before.restart(FOR_RULE, true);
  const notRebuilt = before.restart(FOR_RULE, false);
  const next = [cpu(sec(150), 87), cpu(sec(160), 88)];
  assert.deepEqual(before.handle(next), ["cpu_hot:firing/warning@87"]);
  assert.deepEqual(rebuilt.handle(next), ["cpu_hot:firing/warning@87"]);
  assert.deepEqual(rebuilt.alerts.at(-1), before.alerts.at(-1), "the same alert, id included");
  assert.deepEqual(notRebuilt.handle(next), [], "pending restarted at 150 s without the rebuild");
});

Deno.test("feature windows and feature rules continue as without a restart", () => {
  const before = new Agent(FEATURE_RULE);
  const first: Envelope[] = [];
  for (let i = 0; i < 40; i++) first.push(cpu(sec(i * 10), 60 + (i % 7) * 5));
  before.handle(first);
  const rebuilt = before.restart(FEATURE_RULE, true);
  const notRebuilt = before.restart(FEATURE_RULE, false);
  const next = [cpu(sec(400), 95), cpu(sec(410), 96), cpu(sec(405), 97), cpu(sec(420), 40)];
  const expected = before.handle(next);
  assert.ok(expected.length > 0, "the continuation changes an alert");
  assert.deepEqual(rebuilt.handle(next), expected);
  assert.notDeepEqual(notRebuilt.handle(next), expected);
  const strip = (records: ReturnType<FeatureEngine["recordsOf"]>) =>
    records.map(({ ewma: _, ...rest }) => rest);
  const live = before.features.update(cpu(sec(425), 50))!;
  const again = rebuilt.features.update(cpu(sec(425), 50))!;
  assert.deepEqual(strip(again), strip(live), "count, avg, min, max, last, rate, zscore: equal");
  for (const [k, record] of again.entries()) {
    assert.ok(Math.abs(record.ewma - live[k].ewma) < 1e-3, "ewma converged");
  }
  assert.equal(rebuilt.features.seriesCount, 1);
});

Deno.test("planRebuild: owned, recent and at most max_series series, from the largest window plus the longest for", () => {
  const stored: StoredSeries[] = [
    { tenant: "a", host: "h1", metric: "m", newest: min(120), rows: 10 },
    { tenant: "a", host: "h2", metric: "m", newest: min(100), rows: 20 },
    { tenant: "a", host: "h3", metric: "m", newest: min(30), rows: 30 }, // idle 90 min > 1h
    { tenant: "b", host: "h1", metric: "m", newest: min(110), rows: 40 },
  ];
  const options = featureOptions({ windows: ["1m", "5m"], idle_eviction: "1h", max_series: 2 });
  const plan = planRebuild(stored, options, 120_000);
  assert.deepEqual(plan.series.map((s) => `${s.tenant}/${s.host}`), ["a/h1", "b/h1"]);
  assert.equal(plan.skipped, 2);
  assert.equal(plan.series[0].since, min(120) - 300_000 - 120_000);
  assert.equal(plan.series[0].decideFrom, min(120) - 120_000);
  const owned = planRebuild(stored, { ...options, max_series: 10 }, 0, (s) => s.tenant === "a");
  assert.deepEqual(owned.series.map((s) => s.host), ["h1", "h2"]);
  assert.equal(owned.skipped, 1);
  assert.deepEqual(planRebuild([], options, 0), { series: [], skipped: 0 });
});

Deno.test("chunkPlan: reads of at most about maxRows rows, at least one series each", () => {
  const series = (rows: number): SeriesReplay => ({
    tenant: "a",
    host: `h${rows}`,
    metric: "m",
    newest: T0,
    rows,
    since: T0,
    decideFrom: T0,
  });
  const chunks = chunkPlan([series(5), series(4), series(20), series(1)], 10);
  assert.deepEqual(chunks.map((chunk) => chunk.map((s) => s.rows)), [[5, 4], [20], [1]]);
  assert.deepEqual(chunkPlan([], 10), []);
});
