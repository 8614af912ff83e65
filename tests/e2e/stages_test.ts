/**
 * The stream stages end to end through the real broker: alerts lifecycle, feature rules, every kind
 * of malformed input on the DLQ, inventory and rule reloads, and two agents splitting the work.
 */
import assert from "node:assert/strict";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce, kcatProduceRaw } from "../../testing/kcat.ts";
import { FeatureRecordSchema } from "../../model/feature.ts";

type AlertRecord = {
  rule: string;
  host: string;
  severity: string;
  state: string;
  value: number;
  fingerprint: string;
};

function raw(host: string, value: number, minute: number, extra: Record<string, unknown> = {}): string {
  const ts = new Date(Date.UTC(2025, 9, 21, 10, minute, 0)).toISOString();
  return JSON.stringify({
    tenant_id: "acme",
    host,
    metric: "cpu_load",
    value,
    ts_event: ts,
    unit: "percent",
    ...extra,
  });
}

/** How many times an agent logged a reload of a file named `name`. */
function reloadsOf(logs: string, name: string): number {
  return logs.split("\n").filter((line) => {
    if (!line.startsWith("{")) return false;
    const record = JSON.parse(line) as { msg?: string; file?: string };
    return record.msg === "reloaded" && record.file?.split("/").pop() === name;
  }).length;
}

async function alertsOn(topic: string, count: number): Promise<AlertRecord[]> {
  return await eventually(
    async () => {
      const found = (await kcatConsumeAll(topic)).map((text) => JSON.parse(text) as AlertRecord);
      return found.length >= count ? found : undefined;
    },
    30_000,
    `${count} alerts on ${topic}`,
  );
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`alerts: warning -> critical -> resolved below the clear level, each once (topology ${topology})`, async () => {
    const name = uniqueName("lifecycle");
    const { file, port, topics } = await writeTestConfig(name, { topology });
    const agent = await startAgent(file, port);
    try {
      // Keyed by host (as a real producer would), so the series stays in order on one partition.
      await kcatProduce(
        topics.raw,
        [raw("host-a", 85, 0), raw("host-a", 97, 5), raw("host-a", 96, 6)],
        "host-a",
      );
      await kcatProduce(
        topics.raw,
        [raw("host-a", 78, 7), raw("host-a", 70, 8), raw("host-a", 60, 9)],
        "host-a",
      );
      const alerts = await alertsOn(topics.alerts, 4);
      assert.deepEqual(alerts.map((alert) => [alert.severity, alert.state, alert.value]), [
        ["warning", "firing", 85],
        ["critical", "firing", 97],
        ["warning", "firing", 78],
        ["warning", "resolved", 70],
      ]);
      assert.equal(new Set(alerts.map((alert) => alert.fingerprint)).size, 1);
      const listed = await (await fetch(`${agent.baseUrl}/alerts?state=resolved`)).json();
      assert.equal(listed.alerts.length, 1);
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`a rule on the 1m average fires only when the window's average crosses the threshold (topology ${topology})`, async () => {
    const name = uniqueName("feature");
    const { file, port, topics } = await writeTestConfig(name, {
      topology,
      rules: `data/test/${name}/rules.yaml`,
    });
    await Deno.writeTextFile(
      `data/test/${name}/rules.yaml`,
      "rules:\n  - name: cpu_avg_high\n    metric: cpu_load\n    value: { feature: { window: 1m, stat: avg } }\n" +
        "    warning: 80\n    clear: 70\n",
    );
    const agent = await startAgent(file, port);
    try {
      const at = (second: number, value: number) =>
        JSON.stringify({
          tenant_id: "acme",
          host: "h1",
          metric: "cpu_load",
          value,
          ts_event: 1_761_040_800 + second,
        });
      // 95 alone is a spike: the average with the earlier 50s stays below 80.
      await kcatProduce(topics.raw, [at(0, 50), at(10, 50), at(20, 95)], "h1");
      await eventually(
        async () => {
          const body = await (await fetch(`${agent.baseUrl}/metrics/cpu_load?host=h1`)).json();
          return body.points.length === 3 ? true : undefined;
        },
        30_000,
        "three points stored",
      );
      assert.deepEqual(await kcatConsumeAll(topics.alerts), []);
      // Sustained load: the 1m average crosses 80 at the fifth event (50,50,95,100,100 -> 79; then 95 -> 81.67).
      await kcatProduce(topics.raw, [at(30, 100), at(40, 100), at(50, 95)], "h1");
      const alerts = await alertsOn(topics.alerts, 1);
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0].rule, "cpu_avg_high");
      assert.equal(alerts[0].state, "firing");
      assert.ok(Math.abs(alerts[0].value - 490 / 6) < 1e-9, `avg ${alerts[0].value}`);
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`features topic: a series' latest records, at most once per publish_every, and its final state (topology ${topology})`, async () => {
    const name = uniqueName("features");
    const { file, port, topics } = await writeTestConfig(name, { topology }); // features.publish_every: 1s (default)
    const agent = await startAgent(file, port);
    try {
      const start = Date.UTC(2025, 9, 21, 10);
      const at = (host: string, ms: number, value: number) =>
        JSON.stringify({
          tenant_id: "acme",
          host,
          metric: "cpu_load",
          value,
          ts_event: new Date(start + ms).toISOString(),
        });
      const stored = async (host: string) =>
        (await (await fetch(`${agent.baseUrl}/metrics/cpu_load?host=${host}`)).json()).points.length;
      // host-a: 20 events, in four produce calls, each stored before the next is produced (separate
      // batches: a record per batch would be four records).
      const partsStarted = Date.now();
      for (let part = 0; part < 4; part++) {
        const lines = Array.from({ length: 5 }, (_, i) => at("host-a", (part * 5 + i) * 100, part * 5 + i));
        await kcatProduce(topics.raw, lines, "host-a");
        await eventually(
          async () => await stored("host-a") === (part + 1) * 5,
          30_000,
          `part ${part} stored`,
        );
      }
      const partsMs = Date.now() - partsStarted;
      // host-a goes quiet; the first batch (of host-b) a second or more after host-a's last
      // publication carries host-a's final state out: host-b events until it is on the topic.
      let hostBEvents = 0;
      const records = await eventually(
        async () => {
          await kcatProduce(topics.raw, [at("host-b", 5_000 + hostBEvents++ * 100, 1)], "host-b");
          const found = (await kcatConsumeAll(topics.features))
            .flatMap((text) => JSON.parse(text) as unknown[])
            .map((record) => FeatureRecordSchema.parse(record));
          const final = found.some((r) => r.host === "host-a" && r.window === "1m" && r.count === 20);
          return final && found.some((r) => r.host === "host-b") ? found : undefined;
        },
        30_000,
        "host-a's final state and host-b's records",
      );
      const hostA = records.filter((r) => r.host === "host-a" && r.window === "1m");
      // The first batch's state, at most one more per second the parts took (publish_every), and the
      // final state.
      const most = 2 + Math.ceil(partsMs / 1_000);
      assert.ok(
        hostA.length >= 1 && hostA.length <= most,
        `host-a 1m records: ${hostA.map((r) => r.count)} (at most ${most} in ${partsMs} ms)`,
      );
      const final = hostA.at(-1)!;
      assert.deepEqual([final.count, final.ts, final.min, final.max, final.last], [
        20,
        start + 1_900,
        0,
        19,
        19,
      ]);
      assert.deepEqual(
        records.filter((r) => r.host === "host-a").map((r) => r.window).slice(-2),
        ["1m", "5m"],
        "every window of a published series",
      );
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });
}

/** A valid envelope written straight to the enriched topic (as another agent's stateless group would). */
const DIRECT_ENVELOPE = {
  v: 1,
  id: "direct:0:0:0",
  tenant: "t",
  host: "direct",
  metric: "cpu_load",
  value: 42,
  unit: "percent",
  ts: Date.parse("2025-10-21T10:00:00Z"),
  ts_ingest: Date.parse("2025-10-21T10:00:01Z"),
  tags: {},
  ctx: { inventory: "unknown" },
  source: { topic: "direct", partition: 0, offset: "0", index: 0 },
};

/** An envelope whose id is not `eventId(source)`. */
const WRONG_ID_ENVELOPE = JSON.stringify({ ...DIRECT_ENVELOPE, id: "direct:0:0:7", host: "wrong-id" });

/** An enriched batch (`kafka.enriched_encoding: columns`) with a row pointing beyond its series. */
const BROKEN_COLUMNS_BATCH = JSON.stringify({
  format: "eventops.enriched.batch",
  v: 1,
  series: [{ tenant: "t", host: "columns", metric: "cpu_load", unit: "percent" }],
  tags: [{}],
  ctx: [{}],
  topics: ["direct"],
  rows: {
    series: [3],
    tags: [0],
    ctx: [0],
    value: [1],
    ts: [DIRECT_ENVELOPE.ts],
    ts_ingest: [DIRECT_ENVELOPE.ts_ingest],
    topic: [0],
    partition: [0],
    offset: [1],
    index: [0],
  },
});

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`every kind of malformed input lands on the DLQ with its reason; good elements pass (topology ${topology})`, async () => {
    const name = uniqueName("dlq");
    const { file, port, topics } = await writeTestConfig(name, {
      topology,
      normalize: { max_message_bytes: 4096 },
    });
    const agent = await startAgent(file, port);
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const cases: [string, RegExp][] = [
      ["{not json", /JSON/i],
      ['{"host":"h","metric":"m","value":1,"ts_event":"2025-10-21T10:00:00Z"}', /tenant_id/],
      ['{"tenant_id":"t","host":"h","metric":"m","value":"abc","ts_event":"2025-10-21T10:00:00Z"}', /value/],
      ['{"tenant_id":"t","host":"h","metric":"m","value":1,"ts_event":"yesterday"}', /ts_event/],
      [
        '{"tenant_id":"t","host":"h","metric":"m","value":1,"ts_event":"2025-10-21T10:00:00"}',
        /offset|time zone|ambiguous/i,
      ],
      [`{"tenant_id":"t","host":"h","metric":"m","value":1,"ts_event":"${future}"}`, /future/],
      [
        '{"tenant_id":"t","host":"h","metric":"m","value":1e999,"ts_event":"2025-10-21T10:00:00Z"}',
        /finite|value/i,
      ],
      ['{"tenant_id":"t","host":"h","metric":"!!!","value":1,"ts_event":"2025-10-21T10:00:00Z"}', /metric/],
    ];
    try {
      await kcatProduce(topics.raw, cases.map(([line]) => line));
      // One message: an array with one bad element between two good ones.
      await kcatProduce(topics.raw, [`[${raw("arr", 1, 0)},{"tenant_id":"t"},${raw("arr", 2, 1)}]`]);
      // Oversized and non-UTF-8 messages.
      await kcatProduceRaw(topics.raw, new TextEncoder().encode(raw("big", 1, 0, { pad: "x".repeat(8000) })));
      await kcatProduceRaw(topics.raw, new Uint8Array([0xff, 0xfe, 0x00, 0x7b]));
      // The internal enriched topic is read in the partitioned topology only.
      const enriched = topology === "partitioned";
      if (enriched) {
        // Garbage written straight to the internal enriched topic is caught by the stateful group.
        await kcatProduce(topics.enriched, ['{"v":1,"id":"x"}']);
        // An enriched batch (a JSON array) with one bad element: only that element is rejected.
        await kcatProduce(topics.enriched, [JSON.stringify([DIRECT_ENVELOPE, { v: 1, id: "y" }])]);
        // A columns batch whose row points beyond the series dictionary: rejected whole.
        await kcatProduce(topics.enriched, [BROKEN_COLUMNS_BATCH]);
        // An envelope whose id is not its source's (the store derives ids from sources): rejected, not a stall.
        await kcatProduce(topics.enriched, [WRONG_ID_ENVELOPE]);
      }
      const records = await eventually(
        async () => {
          const found = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
          return found.length >= cases.length + (enriched ? 7 : 3) ? found : undefined;
        },
        30_000,
        "all DLQ records",
      );
      for (const [line, reason] of cases) {
        const record = records.find((candidate) => candidate.original === line);
        assert.ok(record, `no DLQ record for ${line}`);
        assert.match(record.reason, reason, `reason for ${line}: ${record.reason}`);
        assert.equal(record.stage, "normalize");
      }
      const element = records.find((record) => record.original === '{"tenant_id":"t"}');
      assert.ok(element, "the bad array element is on the DLQ");
      assert.equal(element.source.index, 1);
      assert.ok(records.some((record) => /bytes, over the 4096-byte limit/.test(record.reason)));
      assert.ok(records.some((record) => record.encoding === "base64"));
      if (enriched) {
        const stateful = records.find((record) =>
          record.stage === "stateful" && record.original === '{"v":1,"id":"x"}'
        );
        assert.ok(stateful, "the bad enriched message is on the DLQ");
        assert.match(stateful.reason, /^not an envelope v1: .*tenant/);
        const badElement = records.find((record) =>
          record.stage === "stateful" && record.original === '{"v":1,"id":"y"}'
        );
        assert.ok(badElement, "the bad element of the enriched batch is on the DLQ");
        assert.match(badElement.reason, /^element 1: not an envelope v1: .*tenant/);
        assert.equal(badElement.source.index, 1);
        const brokenBatch = records.find((record) => record.original === BROKEN_COLUMNS_BATCH);
        assert.ok(brokenBatch, "the broken columns batch is on the DLQ");
        assert.equal(brokenBatch.stage, "stateful");
        assert.equal(
          brokenBatch.reason,
          "not an enriched batch: rows.series.0: index 3 is beyond series (1 entries)",
        );
        const direct = await eventually(
          async () => {
            const body = await (await fetch(`${agent.baseUrl}/metrics/cpu_load?host=direct`)).json();
            return body.points.length === 1 ? body.points : undefined;
          },
          30_000,
          "the good element of the enriched batch stored",
        );
        assert.equal(direct[0].value, 42);
      }
      const arr = await eventually(
        async () => {
          const body = await (await fetch(`${agent.baseUrl}/metrics/cpu_load?host=arr`)).json();
          return body.points.length === 2 ? body.points : undefined;
        },
        30_000,
        "the two good array elements",
      );
      assert.deepEqual(arr.map((point: { value: number }) => point.value), [1, 2]);
      const health = await fetch(`${agent.baseUrl}/healthz`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`inventory and rule changes apply without a restart (topology ${topology})`, async () => {
    const name = uniqueName("reload");
    const dir = `data/test/${name}`;
    const { file, port, topics } = await writeTestConfig(name, {
      topology,
      inventory: `${dir}/inventory.yaml`,
      rules: `${dir}/rules.yaml`,
    });
    await Deno.writeTextFile(
      `${dir}/inventory.yaml`,
      "hosts:\n  - tenant: acme\n    host: 'web-*'\n    site: par-1\n",
    );
    await Deno.writeTextFile(
      `${dir}/rules.yaml`,
      "rules:\n  - name: cpu\n    metric: cpu_load\n    warning: 90\n",
    );
    const agent = await startAgent(file, port);
    const ctxOf = async (host: string, count: number) =>
      await eventually(
        async () => {
          const body = await (await fetch(`${agent.baseUrl}/metrics/cpu_load?host=${host}`)).json();
          return body.points.length >= count
            ? body.points.map((point: { ctx: Record<string, string> }) => point.ctx)
            : undefined;
        },
        30_000,
        `${count} points of ${host}`,
      );
    try {
      await kcatProduce(topics.raw, [raw("web-1", 85, 0), raw("db-1", 10, 0)]);
      assert.equal((await ctxOf("web-1", 1))[0].site, "par-1");
      assert.equal((await ctxOf("db-1", 1))[0].inventory, "unknown");
      assert.deepEqual(await kcatConsumeAll(topics.alerts), [], "85 is below the warning of 90");

      await Deno.writeTextFile(
        `${dir}/inventory.yaml`,
        "hosts:\n  - tenant: acme\n    host: 'web-*'\n    site: lyon-2\n",
      );
      await Deno.writeTextFile(
        `${dir}/rules.yaml`,
        "rules:\n  - name: cpu\n    metric: cpu_load\n    warning: 80\n",
      );
      // Both files reloaded (the agent logs each reload).
      await eventually(
        () => ["inventory.yaml", "rules.yaml"].every((file) => reloadsOf(agent.logs(), file) > 0),
        30_000,
        "both files reloaded",
      );
      await kcatProduce(topics.raw, [raw("web-1", 86, 1)]);
      assert.equal((await ctxOf("web-1", 2))[1].site, "lyon-2");
      const alerts = await alertsOn(topics.alerts, 1);
      assert.equal(alerts[0].value, 86);
      assert.match(agent.logs(), /reloaded/);
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });
}

for (const topology of ["partitioned", "auto"] as const) {
  Deno.test(`two agents in the same consumer groups split a keyed workload exactly once (topology ${topology})`, async () => {
    const name = uniqueName("scale");
    const first = await writeTestConfig(name, { topology, data_dir: `data/test/${name}/a` });
    // The second runs both groups on one thread (stateless_thread: false), the first on two; the first
    // writes columns batches to the enriched topic, the second arrays of envelopes: each stateful group
    // reads both (as during a rolling change of kafka.enriched_encoding).
    const second = await writeTestConfig(`${name}-b`, {
      data_dir: `data/test/${name}/b`,
      stateless_thread: false,
      topology,
      topics: first.topics,
      kafka: {
        brokers: [Deno.env.get("EVENTOPS_TEST_BROKERS") ?? "127.0.0.1:19092"],
        client_id: `${name}-b`,
        group_stateless: `${name}-stateless`,
        group_stateful: `${name}-stateful`,
        batch_max_wait: "50ms",
        session_timeout: "10s",
        enriched_encoding: "envelopes",
      },
    });
    const a = await startAgent(first.file, first.port);
    const b = await startAgent(second.file, second.port);
    const hosts = Array.from({ length: 24 }, (_, index) => `node-${index}`);
    const perHost = 50;
    try {
      // Let both members join before the workload arrives, so both get partitions: each group's
      // partitions split between the two, as /status reports them.
      await eventually(
        async () => {
          const statuses = await Promise.all(
            [a, b].map(async (agent) => (await fetch(`${agent.baseUrl}/status`)).json()),
          );
          return [first.topics.raw, first.topics.enriched].every((topic) => {
            const owned = statuses.map((status) =>
              (status.consumers as { topic: string; partitions: number[] | null }[])
                .find((consumer) => consumer.topic === topic)?.partitions ?? []
            );
            return owned.every((partitions) => partitions.length > 0) &&
              !owned[0].some((partition) => owned[1].includes(partition));
          });
        },
        60_000,
        "both agents' groups own partitions",
      );
      const lines: string[] = [];
      // Keyed by host: a host's events stay in order on one raw partition, and both stateless groups get some.
      for (const host of hosts) {
        const own = Array.from(
          { length: perHost },
          (_, minute) => raw(host, minute === 10 ? 99 : 20, minute),
        );
        await kcatProduce(first.topics.raw, own, host);
        lines.push(...own);
      }
      const catalogs = await eventually(
        async () => {
          const both = await Promise.all(
            // Each agent's own store (X-EventOps-Forwarded: no fan-out over the other agent).
            [a, b].map(async (agent) =>
              (await fetch(`${agent.baseUrl}/metrics`, { headers: { "X-EventOps-Forwarded": "1" } })).json()
            ),
          );
          const total = both.flatMap((catalog) => catalog.series).reduce(
            (sum: number, s: { rows: number }) => sum + s.rows,
            0,
          );
          return total >= lines.length ? both : undefined;
        },
        60_000,
        "every event stored",
      );
      const series = catalogs.map((catalog) =>
        catalog.series.map((s: { host: string; rows: number }) => [s.host, s.rows])
      );
      const all = series.flat() as [string, number][];
      assert.equal(all.length, hosts.length, "each series is stored by exactly one agent");
      assert.ok(all.every(([, rows]) => rows === perHost), "no lost or repeated event");
      assert.ok(series[0].length > 0 && series[1].length > 0, "both agents got partitions");
      const alerts = (await kcatConsumeAll(first.topics.alerts)).map((text) =>
        JSON.parse(text) as AlertRecord
      );
      const firing = alerts.filter((alert) => alert.state === "firing");
      assert.equal(firing.length, hosts.length, "one critical per host, no duplicate alert");
      assert.equal(new Set(firing.map((alert) => alert.fingerprint)).size, hosts.length);
      const enriched = (await kcatConsumeAll(first.topics.enriched)).map((text) => JSON.parse(text));
      assert.ok(enriched.some((message) => message.format === "eventops.enriched.batch"), "columns batches");
      assert.ok(enriched.some((message) => Array.isArray(message)), "arrays of envelopes");
    } finally {
      assert.deepEqual(await Promise.all([a.stop(), b.stop()]), [0, 0]);
    }
  });
}
