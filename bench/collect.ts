/**
 * Throughput of Collect (`deno task bench:collect`; issue 19): the same events through each HTTP
 * receiver (`POST /write` Influx line protocol, `/api/v1/write` remote write, `/v1/metrics` OTLP
 * protobuf and JSON) next to the JSON path (`POST /ingest`), and through each `inputs` format on a
 * Kafka topic next to JSON on the raw topic, into one REAL agent (its sandbox, a broker, DuckDB).
 *
 * For each path in turn: `--events` events (200,000; `--per-request` 1,000 a request or message, 100
 * series x 10 points) are encoded beforehand, then sent (HTTP: `--clients` 4 concurrent requests;
 * Kafka: produced at once), and the run waits until the store holds every one (its own tenant). Per
 * path: events/s answered (HTTP) or produced, events/s stored end to end, and the agent's CPU µs per
 * event (user + system, all threads, from send to stored: receiver + pipeline + store, so the paths
 * differ by their receiver's cost). Not a test; results printed and written to
 * `bench/results/collect/<time>.json`.
 *
 * ```sh
 * EVENTOPS_BROKER_PORT=29092 deno task broker:start
 * deno task bench:collect [--brokers 127.0.0.1:29092] [--events 200000] [--per-request 1000] [--clients 4]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Admin, Producer } from "@platformatic/kafka";
import { eventually, uniqueName } from "../testing/agent.ts";
import { encodeRemoteWrite } from "../sources/prometheus.ts";
import { encodeOtlpMetricsRequest } from "../sources/otlp.ts";
import { catalogRows, cpuSeconds, startBenchAgent, writeBenchConfig } from "./agent.ts";
import { benchTopics } from "./kafka.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    brokers: { type: "string", default: Deno.env.get("EVENTOPS_BENCH_BROKERS") ?? "127.0.0.1:29092" },
    events: { type: "string", default: "200000" },
    "per-request": { type: "string", default: "1000" },
    clients: { type: "string", default: "4" },
    rounds: { type: "string", default: "2" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  console.log(
    `deno task bench:collect [--brokers 127.0.0.1:29092] [--events 200000] [--per-request 1000] [--clients 4] [--rounds 2]`,
  );
  Deno.exit(0);
}
const BROKERS = flags.brokers;
const PER_REQUEST = Math.max(10, Number(flags["per-request"]));
const REQUESTS = Math.max(1, Math.round(Number(flags.events) / PER_REQUEST));
const EVENTS = REQUESTS * PER_REQUEST;
const CLIENTS = Math.max(1, Number(flags.clients));
const TOKEN = "bench-token";
const HOSTS = 10;
const METRICS = 10;
const SERIES = HOSTS * METRICS;
const POINTS = PER_REQUEST / SERIES;
const ROOT = new URL("../", import.meta.url).pathname;
/** Bodies of each path in the warm-up round. */
const WARM_UP = 20;
const ROUNDS = Math.max(1, Number(flags.rounds));

/** One request's (or message's) events: series x points, a minute before `t0` onwards. */
interface Sample {
  host: string;
  metric: string;
  points: { ms: number; value: number }[];
}

function samples(request: number, t0: number): Sample[] {
  const out: Sample[] = [];
  for (let h = 0; h < HOSTS; h++) {
    for (let m = 0; m < METRICS; m++) {
      const points = [];
      for (let p = 0; p < POINTS; p++) {
        const ms = t0 + request * POINTS + p;
        points.push({ ms, value: ((request * 7919 + h * 104_729 + m * 31 + p) % 10_000) / 100 });
      }
      out.push({ host: `host-${h}`, metric: `bench_m${m}`, points });
    }
  }
  return out;
}

/** How one path's bodies are encoded (for `tenant`) and where they go. */
interface Path {
  name: string;
  encode(batch: Sample[], tenant: string): Uint8Array;
}

const encoder = new TextEncoder();

function otlpRequest(batch: Sample[], tenant: string) {
  const byHost = new Map<string, Sample[]>();
  for (const sample of batch) byHost.set(sample.host, [...byHost.get(sample.host) ?? [], sample]);
  return {
    resourceMetrics: [...byHost].map(([host, series]) => ({
      resource: {
        attributes: [
          { key: "host.name", value: { stringValue: host } },
          { key: "tenant_id", value: { stringValue: tenant } },
        ],
      },
      scopeMetrics: [{
        metrics: series.map((s) => ({
          name: s.metric,
          gauge: {
            dataPoints: s.points.map((p) => ({
              timeUnixNano: String(BigInt(p.ms) * 1_000_000n),
              asDouble: p.value,
            })),
          },
        })),
      }],
    })),
  };
}

const ENCODINGS = {
  json: (batch: Sample[], tenant: string) =>
    encoder.encode(
      JSON.stringify(batch.flatMap((s) =>
        s.points.map((p) => ({
          tenant_id: tenant,
          host: s.host,
          metric: s.metric,
          value: p.value,
          ts_event: p.ms,
        }))
      )),
    ),
  influx: (batch: Sample[], tenant: string) =>
    encoder.encode(
      batch.flatMap((s) =>
        s.points.map((p) => `${s.metric},host=${s.host},tenant_id=${tenant} value=${p.value} ${p.ms}`)
      ).join("\n"),
    ),
  remoteWrite: (batch: Sample[], tenant: string) =>
    encodeRemoteWrite(batch.map((s) => ({
      labels: [
        { name: "__name__", value: s.metric },
        { name: "host", value: s.host },
        { name: "tenant_id", value: tenant },
      ],
      samples: s.points.map((p) => ({ value: p.value, timestamp: String(p.ms) })),
    }))),
  otlpProto: (batch: Sample[], tenant: string) => encodeOtlpMetricsRequest(otlpRequest(batch, tenant)),
  otlpJson: (batch: Sample[], tenant: string) => encoder.encode(JSON.stringify(otlpRequest(batch, tenant))),
};

/** An HTTP path: the URL (for `tenant`) and headers of its requests. */
interface HttpPath extends Path {
  url(base: string, tenant: string): string;
  headers: Record<string, string>;
}

const BEARER = { Authorization: `Bearer ${TOKEN}` };
const HTTP_PATHS: HttpPath[] = [
  {
    name: "POST /ingest (JSON)",
    encode: ENCODINGS.json,
    url: (base) => `${base}/ingest`,
    headers: { ...BEARER, "Content-Type": "application/json" },
  },
  {
    name: "POST /write (Influx)",
    encode: ENCODINGS.influx,
    url: (base, tenant) => `${base}/write?db=${tenant}&precision=ms`,
    headers: BEARER,
  },
  {
    name: "POST /api/v1/write (remote write)",
    encode: ENCODINGS.remoteWrite,
    url: (base, tenant) => `${base}/api/v1/write?tenant=${tenant}`,
    headers: { ...BEARER, "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy" },
  },
  {
    name: "POST /v1/metrics (OTLP protobuf)",
    encode: ENCODINGS.otlpProto,
    url: (base, tenant) => `${base}/v1/metrics?tenant=${tenant}`,
    headers: { ...BEARER, "Content-Type": "application/x-protobuf" },
  },
  {
    name: "POST /v1/metrics (OTLP JSON)",
    encode: ENCODINGS.otlpJson,
    url: (base, tenant) => `${base}/v1/metrics?tenant=${tenant}`,
    headers: { ...BEARER, "Content-Type": "application/json" },
  },
];

/** A Kafka path: the input's format (`raw`: JSON on the raw topic, no input). */
interface KafkaPath extends Path {
  format: "raw" | "influx" | "prometheus-remote-write" | "otlp-proto" | "otlp-json";
}

const KAFKA_PATHS: KafkaPath[] = [
  { name: "raw topic (JSON)", format: "raw", encode: ENCODINGS.json },
  { name: "inputs: influx", format: "influx", encode: ENCODINGS.influx },
  {
    name: "inputs: prometheus-remote-write",
    format: "prometheus-remote-write",
    encode: ENCODINGS.remoteWrite,
  },
  { name: "inputs: otlp-proto", format: "otlp-proto", encode: ENCODINGS.otlpProto },
  { name: "inputs: otlp-json", format: "otlp-json", encode: ENCODINGS.otlpJson },
];

/** One path's figures. */
interface PathResult {
  path: string;
  events: number;
  bytes_per_event: number;
  sent_events_per_s: number;
  stored_events_per_s: number;
  cpu_us_per_event: number;
}

function bodies(path: Path, tenant: string, t0: number): Uint8Array[] {
  return Array.from({ length: REQUESTS }, (_, r) => path.encode(samples(r, t0), tenant));
}

/** Sends, waits until stored, and measures one path; `send` resolves when everything was sent. */
async function measure(
  pid: number,
  base: string,
  path: Path,
  tenant: string,
  payloads: Uint8Array[],
  send: () => Promise<void>,
  quiet = false,
): Promise<PathResult> {
  const events = payloads.length * PER_REQUEST;
  const cpuBefore = await cpuSeconds(pid);
  const started = performance.now();
  await send();
  const sent = performance.now();
  await eventually(
    async () => (await catalogRows(base, tenant)) >= events || undefined,
    600_000,
    `${events} events of ${path.name} stored`,
  );
  const stored = performance.now();
  const cpu = (await cpuSeconds(pid)) - cpuBefore;
  const bytes = payloads.reduce((sum, body) => sum + body.length, 0);
  const result = {
    path: path.name,
    events,
    bytes_per_event: Math.round(bytes / events * 10) / 10,
    sent_events_per_s: Math.round(events / ((sent - started) / 1000)),
    stored_events_per_s: Math.round(events / ((stored - started) / 1000)),
    cpu_us_per_event: Math.round(cpu * 1e6 / events * 10) / 10,
  };
  if (!quiet) {
    console.log(
      `${path.name.padEnd(36)} ${String(result.sent_events_per_s).padStart(9)} ${
        String(result.stored_events_per_s).padStart(9)
      } ${String(result.cpu_us_per_event).padStart(7)} ${String(result.bytes_per_event).padStart(6)}`,
    );
  }
  return result;
}

/** POSTs `payloads` with {@link CLIENTS} requests in flight; throws on any answer but 2xx. */
async function postAll(url: string, headers: Record<string, string>, payloads: Uint8Array[]): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < payloads.length) {
      const body = payloads[next++];
      const response = await fetch(url, { method: "POST", headers, body: body as Uint8Array<ArrayBuffer> });
      const text = await response.text();
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
}

const name = uniqueName("bench-collect");
const topics = benchTopics(name);
const inputTopic = (format: string) => `${name}.in-${format}`;
const tenantOf = (path: Path) => `${name}-${path.name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}`;
const inputs = KAFKA_PATHS.filter((p) => p.format !== "raw").map((p) => ({
  topic: inputTopic(p.format),
  format: p.format,
  tenant: "bench", // the bodies name their tenant
  precision: "ms",
}));

const admin = new Admin({ clientId: "eventops-bench", bootstrapBrokers: [BROKERS], strict: false });
const producer = new Producer({ clientId: "eventops-bench", bootstrapBrokers: [BROKERS], strict: false });
try {
  await admin.createTopics({
    topics: [...Object.values(topics), ...inputs.map((i) => i.topic)],
    partitions: 3,
    replicas: 1,
  });
} catch (error) {
  console.error(
    `cannot create topics on ${BROKERS} (${error}); start a broker for the bench with ` +
      `EVENTOPS_BROKER_PORT=${BROKERS.split(":").pop()} deno task broker:start`,
  );
  Deno.exit(1);
}
const { dir, file, port } = await writeBenchConfig(name, BROKERS, topics, {
  extra: { inputs, http: { max_body_bytes: 16 * 1024 * 1024 } },
});
const agent = await startBenchAgent(file, dir, port);
const t0 = Date.now() - 10 * 60_000;
const results: PathResult[] = [];
console.log(
  `bench collect: ${EVENTS.toLocaleString("en-US")} events a path, ${PER_REQUEST} a request or message ` +
    `(${SERIES} series x ${POINTS} points), ${CLIENTS} HTTP clients, broker ${BROKERS}, load ${
      Deno.loadavg().join(" ")
    }`,
);
console.log(
  `${"path".padEnd(36)} ${"sent/s".padStart(9)} ${"stored/s".padStart(9)} ${"µs/ev".padStart(7)} ${
    "B/ev".padStart(6)
  }`,
);
/** Produces `payloads` to `topic`, 20 a request. */
async function produceAll(topic: string, payloads: Uint8Array[]): Promise<void> {
  for (let i = 0; i < payloads.length; i += 20) {
    const chunk = payloads.slice(i, i + 20);
    await producer.send({ messages: chunk.map((value) => ({ topic, value: Buffer.from(value) })) });
  }
}

/** Sends and measures every path once, under tenants of `round`. */
async function runRound(round: string, count: number, quiet = false): Promise<PathResult[]> {
  const out: PathResult[] = [];
  for (const path of [...HTTP_PATHS, ...KAFKA_PATHS]) {
    const tenant = `${round}-${tenantOf(path)}`;
    const payloads = bodies(path, tenant, t0).slice(0, count);
    const send = "url" in path
      ? () => postAll(path.url(agent.baseUrl, tenant), path.headers, payloads)
      : () => {
        const format = (path as KafkaPath).format;
        return produceAll(format === "raw" ? topics.raw : inputTopic(format), payloads);
      };
    out.push(await measure(agent.pid, agent.baseUrl, path, tenant, payloads, send, quiet));
  }
  return out;
}

try {
  // A warm-up round (JIT, first batches), not reported.
  await runRound("warm", WARM_UP, true);
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round}`);
    results.push(...await runRound(`r${round}`, REQUESTS));
  }
} finally {
  const warnings = agent.logs().split("\n").filter((line) => /"level":"(warn|error)"/.test(line));
  console.log(`agent warnings and errors: ${warnings.length}`);
  for (const line of warnings.slice(0, 5)) console.log(`  ${line.slice(0, 300)}`);
  await agent.stop();
  await producer.close();
  await admin.deleteTopics({ topics: [...Object.values(topics), ...inputs.map((i) => i.topic)] })
    .catch((error) => console.error(`warning: could not delete topics: ${error}`));
  await admin.close();
  await Deno.remove(`${ROOT}data/bench/${name}`, { recursive: true }).catch(() => undefined);
}

const at = new Date().toISOString();
const report = {
  mode: "collect",
  at,
  machine: { cores: navigator.hardwareConcurrency, loadavg_at_end: Deno.loadavg() },
  deno: Deno.version.deno,
  config: {
    rounds: ROUNDS,
    events_per_path: EVENTS,
    per_request: PER_REQUEST,
    series: SERIES,
    clients: CLIENTS,
    brokers: BROKERS,
  },
  results,
};
// Beside the backlog and live results, not among them (`bench/summarize.ts` folds those).
await Deno.mkdir(`${ROOT}bench/results/collect`, { recursive: true });
const path = `bench/results/collect/${at.replace(/[:.]/g, "-")}.json`;
await Deno.writeTextFile(`${ROOT}${path}`, JSON.stringify(report, null, 2) + "\n");
console.log(`\nresults: ${path}`);
