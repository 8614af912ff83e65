/** The rule engine: fingerprints, the state machine, matchers, feature rules, templates, restore, reload. */
import assert from "node:assert/strict";
import { type Alert, AlertSchema } from "../../../model/alert.ts";
import type { Envelope } from "../../../model/envelope.ts";
import { FeatureCursor, FeatureEngine } from "../../../stages/features.ts";
import {
  alertFingerprint,
  checkRuleWindows,
  defaultRules,
  fnv1a64,
  parseRules,
  RuleEngine,
} from "../../../stages/rules.ts";
import { envelope, featureOptions, min, sec, T0 } from "./helpers.ts";

const cpu = (ts: number, value: number, extra: Partial<Envelope> = {}): Envelope =>
  envelope({ ts, value, tags: { env: "prod" }, ...extra });

/** Feeds raw-value events; returns `state/severity@value` per emitted alert. */
function feed(engine: RuleEngine, events: Envelope[]): string[] {
  return events.flatMap((event) => engine.evaluate(event, undefined)).map((a) =>
    `${a.state}/${a.severity}@${a.value}`
  );
}

function rules(yaml: string) {
  return parseRules(yaml, "rules.yaml");
}

const RULE = (extra = "") => `
rules:
  - name: cpu_high
    metric: cpu_load
    warning: 80
    critical: 95
    clear: 75
${extra}`;

Deno.test("fingerprints: FNV-1a 64", async (t) => {
  const vectors: [string, string][] = [["", "cbf29ce484222325"], ["a", "af63dc4c8601ec8c"], [
    "foobar",
    "85944171f73967e8",
  ]];
  for (const [text, hash] of vectors) {
    await t.step(JSON.stringify(text), () => assert.equal(fnv1a64(text), hash));
  }
  await t.step("fingerprint separates its parts", () => {
    assert.notEqual(alertFingerprint("r", "a", "bc", "m"), alertFingerprint("r", "ab", "c", "m"));
    assert.match(alertFingerprint("r", "a", "b", "m"), /^[0-9a-f]{16}$/);
  });
});

Deno.test("the seed: 85 -> warning, 97 -> critical, 70 -> resolved", async (t) => {
  const engine = new RuleEngine(defaultRules());
  const warning = engine.evaluate(cpu(T0, 85), undefined);
  const critical = engine.evaluate(cpu(min(5), 97), undefined);
  const resolved = engine.evaluate(cpu(min(10), 70), undefined);
  const fp = alertFingerprint("cpu_high", "acme", "host-a", "cpu_load");
  await t.step("warning alert, every field", () => {
    assert.deepEqual(warning, [{
      id: `${fp}:${T0}:firing:warning`,
      fingerprint: fp,
      rule: "cpu_high",
      tenant: "acme",
      host: "host-a",
      metric: "cpu_load",
      severity: "warning",
      state: "firing",
      value: 85,
      threshold: 80,
      starts_at: T0,
      ends_at: null,
      ts: T0,
      labels: { category: "cpu" },
      annotations: { summary: "acme/host-a cpu_load 85% (warning, threshold 80%)" },
    }]);
    assert.ok(AlertSchema.safeParse(warning[0]).success);
  });
  await t.step("critical keeps fingerprint and starts_at", () => {
    assert.equal(critical.length, 1);
    assert.deepEqual(
      [
        critical[0].id,
        critical[0].severity,
        critical[0].threshold,
        critical[0].starts_at,
        critical[0].ends_at,
      ],
      [`${fp}:${min(5)}:firing:critical`, "critical", 95, T0, null],
    );
  });
  await t.step("resolved at the clear level", () => {
    assert.deepEqual(
      [
        resolved[0].state,
        resolved[0].severity,
        resolved[0].threshold,
        resolved[0].starts_at,
        resolved[0].ends_at,
      ],
      ["resolved", "critical", 75, T0, min(10)],
    );
    assert.equal(resolved[0].id, `${fp}:${min(10)}:resolved:critical`);
  });
  await t.step("nothing firing afterwards", () => assert.deepEqual(engine.firing(), []));
});

Deno.test("state machine (raw value rules)", async (t) => {
  const cases: [string, string, [number, number][], string[]][] = [
    ["no repeats while the severity holds", RULE(), [[0, 85], [1, 86], [2, 90], [3, 81]], [
      "firing/warning@85",
    ]],
    [
      "hysteresis: between clear and warning keeps firing; no flapping around warning",
      RULE(),
      [[0, 81], [1, 79], [2, 81], [3, 79], [4, 76], [5, 74], [6, 79], [7, 81]],
      ["firing/warning@81", "resolved/warning@74", "firing/warning@81"],
    ],
    [
      "escalation and de-escalation",
      RULE(),
      [[0, 97], [1, 90], [2, 96], [3, 78], [4, 99], [5, 74]],
      [
        "firing/critical@97",
        "firing/warning@90",
        "firing/critical@96",
        "firing/warning@78",
        "firing/critical@99",
        "resolved/critical@74",
      ],
    ],
    ["exactly at a level does not pass with >", RULE(), [[0, 80], [1, 95.0001], [2, 95]], [
      "firing/critical@95.0001",
      "firing/warning@95",
    ]],
    ["exactly at clear resolves with > (clear not passed)", RULE(), [[0, 85], [1, 75]], [
      "firing/warning@85",
      "resolved/warning@75",
    ]],
    [
      ">= passes at the level",
      `rules:\n  - { name: r, metric: cpu_load, warning: 80, critical: 95, op: ">=" }`,
      [[0, 80], [1, 95], [2, 79.9]],
      ["firing/warning@80", "firing/critical@95", "resolved/critical@79.9"],
    ],
    [
      "op < for too-low metrics (clear above warning)",
      `rules:\n  - { name: r, metric: cpu_load, warning: 20, critical: 10, clear: 25, op: "<" }`,
      [[0, 30], [1, 15], [2, 5], [3, 22], [4, 24], [5, 26]],
      ["firing/warning@15", "firing/critical@5", "firing/warning@22", "resolved/warning@26"],
    ],
    [
      "<= passes at the level",
      `rules:\n  - { name: r, metric: cpu_load, warning: 20, op: "<=" }`,
      [[0, 20], [1, 21]],
      ["firing/warning@20", "resolved/warning@21"],
    ],
    [
      "critical only: stays critical inside the hysteresis band",
      `rules:\n  - { name: r, metric: cpu_load, critical: 90, clear: 70 }`,
      [[0, 91], [1, 80], [2, 69]],
      ["firing/critical@91", "resolved/critical@69"],
    ],
    [
      "warning only",
      `rules:\n  - { name: r, metric: cpu_load, warning: 50 }`,
      [[0, 99], [1, 51], [2, 50]],
      ["firing/warning@99", "resolved/warning@50"],
    ],
    [
      "default clear is the lowest level",
      `rules:\n  - { name: r, metric: cpu_load, warning: 80, critical: 95 }`,
      [[0, 85], [1, 80]],
      ["firing/warning@85", "resolved/warning@80"],
    ],
    [
      "for: the condition must hold for the duration (event time)",
      RULE("    for: 1m"),
      [[0, 85], [30, 85], [60, 97], [90, 85]],
      ["firing/critical@97", "firing/warning@85"],
    ],
    [
      "for: a dip below warning resets the pending timer",
      RULE("    for: 1m"),
      [[0, 85], [30, 79], [60, 85], [90, 85], [119, 85], [120, 85]],
      ["firing/warning@85"],
    ],
    [
      "for: 0 fires at once",
      RULE("    for: 0"),
      [[0, 85]],
      ["firing/warning@85"],
    ],
  ];
  for (const [name, yaml, points, expected] of cases) {
    await t.step(name, () => {
      const engine = new RuleEngine(rules(yaml));
      assert.deepEqual(feed(engine, points.map(([s, value]) => cpu(sec(s), value))), expected);
    });
  }
  await t.step("for: starts_at is when firing began", () => {
    const engine = new RuleEngine(rules(RULE("    for: 1m")));
    const alerts = [cpu(sec(0), 85), cpu(sec(30), 85), cpu(sec(60), 85)].flatMap((e) =>
      engine.evaluate(e, undefined)
    );
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0].starts_at, sec(60));
  });
  await t.step("late events (older than the last evaluated) are ignored per series", () => {
    const engine = new RuleEngine(defaultRules());
    assert.deepEqual(feed(engine, [cpu(sec(10), 85), cpu(sec(5), 60), cpu(sec(5), 99), cpu(sec(10), 60)]), [
      "firing/warning@85",
      "resolved/warning@60",
    ]);
  });
  await t.step("several transitions at one event time get distinct ids", () => {
    const engine = new RuleEngine(defaultRules());
    const alerts = [97, 85, 97, 85].flatMap((value) => engine.evaluate(cpu(T0, value), undefined));
    const ids = alerts.map((a) => a.id.split(":").slice(1).join(":"));
    assert.deepEqual(ids, [
      `${T0}:firing:critical`,
      `${T0}:firing:warning`,
      `${T0}:firing:critical:2`,
      `${T0}:firing:warning:2`,
    ]);
  });
  await t.step("series are independent; other metrics are not evaluated", () => {
    const engine = new RuleEngine(defaultRules());
    assert.deepEqual(
      feed(engine, [cpu(T0, 85), cpu(T0, 85, { host: "host-b" }), cpu(T0, 99, { metric: "mem_used" })]),
      ["firing/warning@85", "firing/warning@85"],
    );
    assert.deepEqual(engine.firing().map((a) => a.host), ["host-a", "host-b"]);
  });
});

Deno.test("matchers: tenant, host, tags, ctx (exact or glob)", async (t) => {
  const compiled = rules(`
rules:
  - name: r
    metric: cpu_load
    warning: 80
    match:
      tenant: "ac*"
      host: "host-?"
      tags: { env: prod, region: "eu-*" }
      ctx: { role: web }
`);
  const base = { tags: { env: "prod", region: "eu-west" }, ctx: { role: "web" } };
  const cases: [string, Partial<Envelope>, boolean][] = [
    ["all match", base, true],
    ["tenant glob fails", { ...base, tenant: "other" }, false],
    ["host glob fails", { ...base, host: "host-10" }, false],
    ["tag value differs", { ...base, tags: { env: "dev", region: "eu-west" } }, false],
    ["tag glob fails", { ...base, tags: { env: "prod", region: "us-east" } }, false],
    ["tag missing", { ...base, tags: { env: "prod" } }, false],
    ["ctx differs", { ...base, ctx: { role: "db" } }, false],
    ["ctx missing", { ...base, ctx: {} }, false],
  ];
  for (const [name, extra, fires] of cases) {
    await t.step(name, () => {
      const engine = new RuleEngine(compiled);
      const alerts = engine.evaluate(envelope({ value: 90, ts: T0, host: "host-1", ...extra }), undefined);
      assert.equal(alerts.length, fires ? 1 : 0);
    });
  }
});

Deno.test("feature rules fire on the feature, not the raw value", async (t) => {
  const yaml = `
rules:
  - name: cpu_avg_high
    metric: cpu_load
    feature: { window: 1m, stat: avg }
    warning: 80
    annotations: { summary: "{{stat}} over {{window}} is {{value}}" }
`;
  await t.step("only when the 1m avg crosses", () => {
    const features = new FeatureEngine(featureOptions({ windows: ["1m", "5m"] }));
    const engine = new RuleEngine(rules(yaml));
    const out: Alert[] = [];
    for (
      const [s, value] of [[0, 70], [10, 70], [20, 70], [30, 95], [40, 95], [50, 95], [100, 40], [110, 40]]
    ) {
      const event = cpu(sec(s), value);
      out.push(...engine.evaluate(event, features.update(event)));
    }
    // avgs: 70, 70, 70, 76.25, 80 (not > 80), 82.5 -> fire; at 100s the window holds 40(s40..) -> 50s/95, 100s/40
    assert.deepEqual(out.map((a) => [a.state, a.value, a.ts]), [["firing", 82.5, sec(50)], [
      "resolved",
      67.5,
      sec(100),
    ]]);
    assert.equal(out[0].annotations.summary, "avg over 1m is 82.5");
  });

  await t.step("the same through a feature cursor (records built only when a rule asks)", () => {
    const features = new FeatureEngine(featureOptions({ windows: ["1m", "5m"] }));
    const cursor = new FeatureCursor(features);
    const engine = new RuleEngine(rules(yaml));
    const out: Alert[] = [];
    for (
      const [s, value] of [[0, 70], [10, 70], [20, 70], [30, 95], [40, 95], [50, 95], [100, 40], [110, 40]]
    ) {
      const event = cpu(sec(s), value);
      cursor.series = features.observe(event);
      out.push(...engine.evaluate(event, cursor.series ? cursor : undefined));
    }
    assert.deepEqual(out.map((a) => [a.state, a.value, a.ts]), [["firing", 82.5, sec(50)], [
      "resolved",
      67.5,
      sec(100),
    ]]);
  });
  await t.step("value: { feature } form and other stats", () => {
    const features = new FeatureEngine(featureOptions({ windows: ["1m"] }));
    const engine = new RuleEngine(rules(`
rules:
  - { name: spike, metric: cpu_load, value: { feature: { window: 1m, stat: max } }, warning: 90 }
  - { name: jump, metric: cpu_load, value: feature, feature: { window: 1m, stat: rate }, warning: 1 }
`));
    const out: string[] = [];
    for (const [s, value] of [[0, 10], [10, 20], [20, 95]]) {
      const event = cpu(sec(s), value);
      out.push(...engine.evaluate(event, features.update(event)).map((a) => `${a.rule}@${a.value}`));
    }
    assert.deepEqual(out, ["spike@95", "jump@4.25"]);
  });
  await t.step("skipped without features or when the window is not computed", () => {
    const engine = new RuleEngine(rules(yaml));
    assert.deepEqual(engine.evaluate(cpu(T0, 99), undefined), []);
    const features = new FeatureEngine(featureOptions({ windows: ["5m"] }));
    const event = cpu(T0, 99);
    assert.deepEqual(engine.evaluate(event, features.update(event)), []);
  });
  await t.step("checkRuleWindows reports windows that are not configured", () => {
    assert.deepEqual(checkRuleWindows(rules(yaml), [60_000]), []);
    assert.deepEqual(checkRuleWindows(rules(yaml), [300_000, 30_000]), [
      "rule cpu_avg_high: feature window 1m is not a configured window (5m, 30s); the rule would never fire",
    ]);
  });
});

Deno.test("annotation templates", () => {
  const engine = new RuleEngine(rules(`
rules:
  - name: tpl
    metric: cpu_load
    warning: 80
    critical: 95
    labels: { team: ops, tier: 1 }
    annotations:
      all: "{{host}} {{tenant}} {{metric}} {{value}} {{threshold}} {{severity}} {{state}} {{rule}} {{unit}} {{window}} {{stat}}"
      maps: "{{ctx.site}}|{{tags.env}}|{{labels.team}}|{{ctx.nope}}|{{tags.nope}}|{{labels.tier}}"
      spaces: "{{ host }}-{{starts_at}}"
      plain: "no placeholders"
`));
  const [alert] = engine.evaluate(cpu(T0, 85.25, { ctx: { site: "par-1" } }), undefined);
  assert.deepEqual(alert.annotations, {
    all: "host-a acme cpu_load 85.25 80 warning firing tpl percent  raw",
    maps: "par-1|prod|ops|||1",
    spaces: `host-a-2025-10-21T10:00:00.000Z`,
    plain: "no placeholders",
  });
  assert.deepEqual(alert.labels, { team: "ops", tier: "1" });
  const [resolved] = engine.evaluate(cpu(sec(1), 10, { ctx: { site: "par-1" } }), undefined);
  assert.equal(resolved.annotations.all, "host-a acme cpu_load 10 80 warning resolved tpl percent  raw");
});

Deno.test("restore after a restart: no repeats, nothing lost", async (t) => {
  const first = new RuleEngine(defaultRules());
  const events = [
    cpu(T0, 85),
    cpu(min(5), 97),
    cpu(min(5), 85, { host: "host-b" }),
    cpu(min(6), 70, { host: "host-b" }),
  ];
  const stored = events.flatMap((e) => first.evaluate(e, undefined));
  assert.equal(stored.length, 4);
  const second = new RuleEngine(defaultRules());
  await t.step("firing state comes back from the latest alert per series", () => {
    assert.equal(second.restore(stored), 1);
    assert.deepEqual(second.firing(), first.firing());
  });
  await t.step("replaying the same events emits nothing", () => {
    assert.deepEqual(events.flatMap((e) => second.evaluate(e, undefined)), []);
  });
  await t.step("the next change continues the alert (same fingerprint, starts_at)", () => {
    const [resolved] = second.evaluate(cpu(min(10), 70), undefined);
    assert.equal(resolved.state, "resolved");
    assert.equal(resolved.fingerprint, stored[0].fingerprint);
    assert.equal(resolved.starts_at, T0);
    assert.equal(resolved.severity, "critical");
  });
  await t.step("the order of stored alerts does not matter; unknown rules are skipped", () => {
    const third = new RuleEngine(defaultRules());
    const foreign = { ...stored[0], rule: "gone", id: "x" };
    assert.equal(third.restore([...stored].reverse().concat(foreign)), 1);
    assert.deepEqual(third.firing().map((a) => a.id), [stored[1].id]);
  });
  await t.step("a resolved latest alert restores ok; older events stay ignored", () => {
    const fourth = new RuleEngine(defaultRules());
    fourth.restore(stored);
    assert.deepEqual(
      feed(fourth, [cpu(min(6), 99, { host: "host-b" }), cpu(min(5), 99, { host: "host-b" })]),
      [
        "firing/critical@99",
      ],
    );
  });
});

Deno.test("replaceRules (hot reload)", async (t) => {
  await t.step("state is kept for unchanged names; new levels apply", () => {
    const engine = new RuleEngine(defaultRules());
    assert.deepEqual(feed(engine, [cpu(T0, 97)]), ["firing/critical@97"]);
    engine.replaceRules(rules(RULE().replace("critical: 95", "critical: 99")));
    assert.deepEqual(feed(engine, [cpu(sec(1), 97), cpu(sec(2), 98)]), ["firing/warning@97"]);
    assert.equal(engine.firing().length, 1);
  });
  await t.step("removed rules: firing alerts resolved at nowMs", () => {
    const engine = new RuleEngine(defaultRules());
    feed(engine, [cpu(T0, 97)]);
    const resolved = engine.replaceRules(rules(RULE().replace("cpu_high", "cpu_other")), min(1));
    assert.deepEqual(resolved.map((a) => [a.rule, a.state, a.severity, a.ts, a.ends_at, a.value]), [[
      "cpu_high",
      "resolved",
      "critical",
      min(1),
      min(1),
      97,
    ]]);
    assert.deepEqual(engine.firing(), []);
    assert.deepEqual(feed(engine, [cpu(min(2), 97)]), ["firing/critical@97"], "the new rule starts from ok");
  });
  await t.step("removed rules without nowMs: state dropped silently", () => {
    const engine = new RuleEngine(defaultRules());
    feed(engine, [cpu(T0, 97)]);
    assert.deepEqual(engine.replaceRules([]), []);
    assert.deepEqual(engine.firing(), []);
    assert.deepEqual(feed(engine, [cpu(sec(1), 97)]), []);
  });
});

Deno.test("evictIdle drops idle non-firing states only", () => {
  const engine = new RuleEngine(defaultRules());
  feed(engine, [cpu(T0, 50), cpu(T0, 90, { host: "host-b" })]);
  assert.equal(engine.stateCount, 2);
  assert.equal(engine.evictIdle(T0 + 3_600_000, 3_600_000), 0);
  assert.equal(engine.evictIdle(T0 + 3_600_001, 3_600_000), 1);
  assert.equal(engine.stateCount, 1);
  assert.equal(engine.firing()[0].host, "host-b");
});

Deno.test("expire: a firing alert whose series has no data since the retention cutoff resolves", () => {
  const engine = new RuleEngine(defaultRules());
  feed(engine, [cpu(T0, 97), cpu(T0, 85, { host: "host-b" })]);
  feed(engine, [cpu(min(30), 96, { host: "host-b" })]); // host-b has newer data
  const expired = engine.expire(min(10), "no data since the store's retention (30d)");
  assert.equal(expired.length, 1);
  const alert = expired[0];
  assert.equal(alert.host, "host-a");
  assert.equal(alert.state, "resolved");
  assert.equal(alert.severity, "critical");
  assert.equal(alert.value, 97);
  assert.equal(alert.ts, min(10));
  assert.equal(alert.ends_at, min(10));
  assert.equal(alert.annotations.expired, "no data since the store's retention (30d)");
  assert.ok(AlertSchema.safeParse(alert).success);
  assert.deepEqual(engine.firing().map((a) => a.host), ["host-b"]);
  assert.deepEqual(engine.expire(min(10), "again"), [], "once only");
  // the series fires again on new data
  assert.deepEqual(feed(engine, [cpu(min(40), 90)]), ["firing/warning@90"]);
});
