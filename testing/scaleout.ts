/**
 * Scale-out tests (issue 24): several real agents in the same consumer groups on one broker, the events
 * they are fed, and the reads they are asked. Shared by the two- and three-agent end-to-end tests.
 *
 * @module
 */
import {
  BROKERS,
  eventually,
  freePort,
  type RunningAgent,
  startAgent,
  uniqueName,
  writeTestConfig,
} from "./agent.ts";
import { kcatProduce } from "./kcat.ts";

/** Reads need the token (`http.token_for_reads`): a forwarded read passes the caller's on. */
export const AUTH = { Authorization: "Bearer test-token" };

/** Hosts whose alert stays firing (their last event is critical too); the others resolve. */
export const STILL_FIRING = (index: number): boolean => index % 2 === 0;
/** A host's 5 values: minute 3 is critical; minute 4 too for {@link STILL_FIRING}. */
export const valuesOf = (index: number): number[] => [20, 20, 20, 99, STILL_FIRING(index) ? 99 : 20];
/** The sum of a host's values. */
export const sumOf = (index: number): number => valuesOf(index).reduce((sum, value) => sum + value, 0);
/** The 24 hosts of tenant `so`. */
export const HOSTS: string[] = Array.from(
  { length: 24 },
  (_, index) => `so-h${String(index).padStart(2, "0")}`,
);
/** One critical firing per host, one resolution per host that does not stay firing. */
export const CRITICAL_TRANSITIONS: number = HOSTS.length +
  HOSTS.filter((_, index) => !STILL_FIRING(index)).length;

/** One raw event of `host` at minute `minute` of the test's hour. */
function raw(host: string, minute: number, value: number): string {
  const ts = new Date(Date.UTC(2025, 9, 21, 10, minute, 0)).toISOString();
  return JSON.stringify({ tenant_id: "so", host, metric: "cpu_load", value, ts_event: ts, unit: "percent" });
}

/** Produces the 5 events of every host of {@link HOSTS} to `topic` (keyed by host). */
export async function produceHosts(topic: string): Promise<void> {
  for (const [index, host] of HOSTS.entries()) {
    await kcatProduce(topic, valuesOf(index).map((value, minute) => raw(host, minute, value)), host);
  }
}

/** A JSON answer: status, headers and body. */
export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** GETs `url` with the token; `headers` added. */
export async function getJson(url: string, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const response = await fetch(url, { headers: { ...AUTH, ...headers } });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** `GET /cluster` as the tests read it. */
export interface ClusterAnswer {
  self: string;
  view: { members: { url: string; self: boolean; partitions: number[] }[]; partitions: number } | null;
  unowned_partitions: number[];
  peer_alerts: string;
}

/** How {@link startAgents} configures the agents. */
export interface ScaleOutOptions {
  /** Whether reads need the token (`http.token_for_reads`, default true; the token is `test-token`). */
  tokenForReads?: boolean;
  /** `kafka.session_timeout` in seconds (default 10): how long a killed agent stays in the group. */
  sessionTimeoutS?: number;
  /** How many of the agents (the last ones) are configured but not started: `startLater` starts them. */
  later?: number;
}

/** Agents started by {@link startAgents}: the same topics and groups. */
export interface ScaleOutRun {
  name: string;
  topics: Record<string, string>;
  agents: RunningAgent[];
  urls: string[];
  /** Starts the agents held back by `later` (appended to `agents` and `urls`). */
  startLater: () => Promise<RunningAgent[]>;
  /** Starts agent `index` again on its config, store and port (after it was stopped or killed). */
  restart: (index: number) => Promise<RunningAgent>;
}

/**
 * Starts `count` agents in the same groups on the same topics (the first one's), each with its own
 * store and port; `count` 1 is a single agent on topics of its own.
 */
export async function startAgents(
  prefix: string,
  count: number,
  options: ScaleOutOptions = {},
): Promise<ScaleOutRun> {
  const name = uniqueName(prefix);
  const ports = Array.from({ length: count }, () => freePort());
  const httpOn = (port: number) => ({
    host: "127.0.0.1",
    port,
    token: "test-token",
    token_for_reads: options.tokenForReads ?? true,
  });
  const sessionTimeout = `${options.sessionTimeoutS ?? 10}s`;
  const first = await writeTestConfig(name, {
    data_dir: `data/test/${name}/a`,
    http: httpOn(ports[0]),
    kafka: { session_timeout: sessionTimeout },
  });
  const files = [first.file];
  for (let index = 1; index < count; index++) {
    const letter = String.fromCharCode(97 + index);
    const config = await writeTestConfig(`${name}-${letter}`, {
      data_dir: `data/test/${name}/${letter}`,
      http: httpOn(ports[index]),
      topics: first.topics,
      kafka: {
        brokers: [BROKERS],
        client_id: `${name}-${letter}`,
        group_stateless: `${name}-stateless`,
        group_stateful: `${name}-stateful`,
        batch_max_wait: "50ms",
        session_timeout: sessionTimeout,
      },
    });
    files.push(config.file);
  }
  const agents: RunningAgent[] = [];
  const urls: string[] = [];
  const startFrom = async (from: number, to: number): Promise<RunningAgent[]> => {
    const started: RunningAgent[] = [];
    try {
      for (let index = from; index < to; index++) started.push(await startAgent(files[index], ports[index]));
    } catch (error) {
      await Promise.all([...agents, ...started].map((agent) => agent.stop()));
      throw error;
    }
    agents.push(...started);
    urls.push(...started.map((agent) => agent.baseUrl));
    return started;
  };
  const now = count - (options.later ?? 0);
  await startFrom(0, now);
  const restart = async (index: number) => {
    const agent = await startAgent(files[index], ports[index]);
    agents[index] = agent;
    return agent;
  };
  return { name, topics: first.topics, agents, urls, startLater: () => startFrom(now, count), restart };
}

/**
 * Waits until every agent of `urls` sees all of them in the stateful group, each owning partitions,
 * none unowned, and each reading the others' alerts; returns their `/cluster` answers.
 */
export async function clusterSettled(urls: readonly string[], timeoutMs = 60_000): Promise<ClusterAnswer[]> {
  return await eventually(
    async () => {
      const views = await Promise.all(
        urls.map(async (url) => (await getJson(`${url}/cluster`)).body as unknown as ClusterAnswer),
      );
      const settled = views.every((view) =>
        view.view?.members.length === urls.length &&
        view.view.members.every((member) => member.partitions.length > 0 && urls.includes(member.url)) &&
        view.unowned_partitions.length === 0 && view.peer_alerts === "consuming"
      );
      return settled ? views : undefined;
    },
    timeoutMs,
    `${urls.length} agents in the cluster map, each reading the others' alerts`,
  );
}

/** Stops the agents still running (SIGTERM); returns their exit codes. */
export async function stopAll(agents: readonly (RunningAgent | undefined)[]): Promise<number[]> {
  return await Promise.all(agents.map((agent) => agent?.stop() ?? Promise.resolve(0)));
}
