/**
 * Collect end to end with a REAL Telegraf (v1.37.2, built from the Go module proxy by
 * scripts/install-telegraf.sh): `outputs.influxdb` (POST /write), `outputs.influxdb_v2`
 * (POST /api/v2/write, gzip) and `outputs.http` with the `prometheusremotewrite` serializer
 * (POST /api/v1/write, Snappy protobuf) send one gather of `inputs.mem` and `inputs.cpu` to the real agent, broker
 * and DuckDB; `outputs.file` records what Telegraf sent, and every value must be stored exactly once.
 */
import assert from "node:assert/strict";
import { eventually, freePort, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";
import { telegrafOnce } from "../../testing/telegraf.ts";
import { parseLine } from "../../sources/influx.ts";

const TOKEN = "test-token";
const ROOT = new URL("../../", import.meta.url).pathname;

type Row = [string, string, number];

async function storedRows(base: string, tenant: string): Promise<Row[]> {
  const response = await fetch(`${base}/query`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      sql: `SELECT metric, host, "value" FROM metrics WHERE tenant = '${tenant}' ORDER BY metric, host`,
      max_rows: 10_000,
    }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.rows as Row[];
}

function telegrafConfig(base: string, tenant: string, sentFile: string): string {
  return `
[agent]
  hostname = "telegraf-e2e"
  omit_hostname = false
  quiet = false

[[inputs.mem]]
  name_override = "memv1"
[[inputs.mem]]
  name_override = "memv2"
[[inputs.mem]]
  name_override = "memrw"
# The CPU's cumulative times: a first gather has them (usage_* need two).
[[inputs.cpu]]
  name_override = "cpuv2"
  percpu = false
  totalcpu = true
  collect_cpu_time = true
  report_active = false

[[outputs.influxdb]]
  namepass = ["memv1"]
  urls = ["${base}"]
  database = "${tenant}"
  username = "telegraf"
  password = "${TOKEN}"

[[outputs.influxdb_v2]]
  namepass = ["memv2", "cpuv2"]
  urls = ["${base}"]
  token = "${TOKEN}"
  organization = "${tenant}"
  bucket = "telegraf"

[[outputs.http]]
  namepass = ["memrw"]
  url = "${base}/api/v1/write?tenant=${tenant}"
  data_format = "prometheusremotewrite"
  [outputs.http.headers]
    Authorization = "Bearer ${TOKEN}"
    Content-Type = "application/x-protobuf"
    Content-Encoding = "snappy"
    X-Prometheus-Remote-Write-Version = "0.1.0"

[[outputs.file]]
  files = ["${sentFile}"]
  data_format = "influx"
`;
}

Deno.test("collect: a real Telegraf writes through /write, /api/v2/write and /api/v1/write, each value stored once", async () => {
  const name = uniqueName("collect-telegraf");
  const port = await freePort();
  const { file, topics } = await writeTestConfig(name, { http: { host: "127.0.0.1", port, token: TOKEN } });
  const dir = `${ROOT}data/test/${name}`;
  const agent = await startAgent(file, port);
  const tenant = "acme-telegraf";
  try {
    const sentFile = `${dir}/sent.influx`;
    const log = await telegrafOnce(telegrafConfig(agent.baseUrl, tenant, sentFile), dir);
    assert.doesNotMatch(log, /E! \[outputs/, `Telegraf reported an output error:\n${log}`);

    // What Telegraf sent: one line per input; each numeric field is one expected row.
    const sent = (await Deno.readTextFile(sentFile)).split("\n").filter((line) => line !== "").map(parseLine);
    assert.deepEqual([...new Set(sent.map((p) => p.measurement))].sort(), [
      "cpuv2",
      "memrw",
      "memv1",
      "memv2",
    ]);
    const expected: Row[] = [];
    for (const point of sent) {
      for (const [field, value] of Object.entries(point.fields)) {
        // Remote write: Telegraf names the series <measurement>_<field>, as the Influx routes do.
        expected.push([`${point.measurement}_${field}`, "telegraf-e2e", Number(value)]);
      }
    }
    expected.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    assert.ok(expected.length >= 30, `inputs.mem gave ${expected.length} fields`);
    assert.ok(expected.some(([metric]) => metric === "cpuv2_time_user"), "inputs.cpu's times are sent");

    const rows = await eventually(
      async () => {
        const stored = await storedRows(agent.baseUrl, tenant);
        return stored.length >= expected.length ? stored : undefined;
      },
      30_000,
      `${expected.length} rows stored`,
    );
    assert.deepEqual(rows, expected);

    // Nothing Telegraf sent was dead-lettered.
    assert.deepEqual(await kcatConsumeAll(topics.dlq), []);

    // What cannot be converted goes to the real DLQ topic with its reason; the rest is stored.
    const response = await fetch(`${agent.baseUrl}/write?db=${tenant}&precision=s`, {
      method: "POST",
      headers: { Authorization: `Token ${TOKEN}` },
      body: 'bad,host=telegraf-e2e msg="text",n=5 1700000000\nnot a line',
    });
    const answer = await response.json();
    assert.equal(response.status, 400, JSON.stringify(answer));
    assert.deepEqual([answer.accepted, answer.rejected], [1, 2]);
    const letters = await eventually(
      async () => {
        const records = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
        return records.length >= 2 ? records : undefined;
      },
      30_000,
      "2 dead letters",
    );
    assert.deepEqual(
      letters.map((l) => [l.stage, l.source.topic, l.original]),
      [
        ["collect", "POST /write", 'bad,host=telegraf-e2e msg="text",n=5 1700000000'],
        ["collect", "POST /write", "not a line"],
      ],
    );
    assert.match(letters[0].reason, /line 1: field "msg" is a string/);
    await eventually(
      async () => {
        const stored = await storedRows(agent.baseUrl, tenant);
        return stored.some(([metric, , value]) => metric === "bad_n" && value === 5) || undefined;
      },
      30_000,
      "bad_n stored",
    );
  } finally {
    await agent.stop();
  }
});
