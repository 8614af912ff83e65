/**
 * Shared by the alert-delivery end-to-end tests: an agent with a notification file, events produced
 * with `kcat`, the agent's API (token writes), and Prometheus samples.
 *
 * @module
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import {
  eventually,
  type RunningAgent,
  startAgent,
  uniqueName,
  writeTestConfig,
} from "../../testing/agent.ts";
import { kcatProduce } from "../../testing/kcat.ts";

/** The token the test configs set. */
export const TOKEN = "test-token";

/** A test agent's files and settings. */
export interface NotifySetup {
  name: string;
  file: string;
  port: number;
  topics: Record<string, string>;
  dir: string;
  notifyFile: string;
}

/** Writes a test config with a notification file (and rules, when given) under data/test/<name>/. */
export async function notifySetup(
  prefix: string,
  notify: Record<string, unknown>,
  rules?: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<NotifySetup> {
  const name = uniqueName(prefix);
  const dir = `data/test/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const notifyFile = `${dir}/notify.yaml`;
  await Deno.writeTextFile(notifyFile, stringify(notify));
  const settings: Record<string, unknown> = { notify: notifyFile, ...extra };
  if (rules) {
    await Deno.writeTextFile(`${dir}/rules.yaml`, stringify(rules));
    settings.rules = `${dir}/rules.yaml`;
  }
  const config = await writeTestConfig(name, settings);
  return { name, file: config.file, port: config.port, topics: config.topics, dir, notifyFile };
}

/** Starts the agent of `setup`. */
export function startNotifyAgent(setup: NotifySetup): Promise<RunningAgent> {
  return startAgent(setup.file, setup.port);
}

/** One raw event line. */
export function event(host: string, value: number, ts: string, metric = "cpu_load"): string {
  return JSON.stringify({ tenant_id: "acme", host, metric, value, ts_event: ts, unit: "percent" });
}

/** Produces lines with one key (one partition: the agent sees them in order). */
export function produce(setup: NotifySetup, lines: readonly string[]): Promise<void> {
  return kcatProduce(setup.topics.raw, lines, "notify-e2e");
}

/** GET returning parsed JSON; asserts 200. */
export async function getJson<T>(agent: RunningAgent, path: string): Promise<T> {
  const response = await fetch(`${agent.baseUrl}${path}`);
  const text = await response.text();
  assert.equal(response.status, 200, `GET ${path}: ${text}`);
  return JSON.parse(text) as T;
}

/** A write with the token; returns status and parsed body. */
export async function write(
  agent: RunningAgent,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${agent.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** A notification as `/notifications` lists it. */
export interface NotificationRow {
  id: string;
  receiver: string;
  group_key: string;
  status: string;
  attempts: number;
  firing: number;
  resolved: number;
  last_error: string | null;
}

/** The agent's notifications, oldest first. */
export async function notifications(agent: RunningAgent): Promise<NotificationRow[]> {
  const body = await getJson<{ notifications: NotificationRow[] }>(agent, "/notifications?limit=1000");
  return body.notifications.reverse();
}

/** Waits until `count` notifications exist (any status). */
export function notificationsReach(
  agent: RunningAgent,
  count: number,
  what: string,
): Promise<NotificationRow[]> {
  return eventually(
    async () => {
      const rows = await notifications(agent);
      return rows.length >= count ? rows : undefined;
    },
    30_000,
    what,
  );
}

/** Sum of a Prometheus family's samples whose labels include `labels`. */
export async function promValue(
  agent: RunningAgent,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${agent.baseUrl}/prometheus`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const set = match[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) sum += Number(match[3]);
  }
  return sum;
}

/** The keys of Alertmanager's webhook payload version 4, in its order. */
export const PAYLOAD_KEYS = [
  "receiver",
  "status",
  "alerts",
  "groupLabels",
  "commonLabels",
  "commonAnnotations",
  "externalURL",
  "version",
  "groupKey",
  "truncatedAlerts",
];

/** The keys of one alert of the payload, in Alertmanager's order. */
export const ALERT_KEYS = [
  "status",
  "labels",
  "annotations",
  "startsAt",
  "endsAt",
  "generatorURL",
  "fingerprint",
];

/** A webhook payload (version 4). */
export interface Payload {
  receiver: string;
  status: string;
  alerts: {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: string;
  groupKey: string;
  truncatedAlerts: number;
}

/** Asserts `body` is a version 4 payload as Alertmanager writes it, and returns it typed. */
export function assertPayload(body: unknown): Payload {
  const payload = body as Payload;
  assert.deepEqual(Object.keys(payload), PAYLOAD_KEYS);
  assert.equal(payload.version, "4");
  assert.ok(payload.status === "firing" || payload.status === "resolved");
  for (const alert of payload.alerts) {
    assert.deepEqual(Object.keys(alert), ALERT_KEYS);
    assert.match(alert.fingerprint, /^[0-9a-f]{16}$/);
    assert.match(alert.startsAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    if (alert.status === "firing") assert.equal(alert.endsAt, "0001-01-01T00:00:00Z");
    else assert.ok(Date.parse(alert.endsAt) >= Date.parse(alert.startsAt));
    for (const map of [alert.labels, alert.annotations]) {
      assert.deepEqual(
        Object.keys(map),
        Object.keys(map).sort(),
        "maps with sorted keys, as Go encodes them",
      );
    }
  }
  return payload;
}

/** Waits until `check` (synchronous, e.g. over a receiver's requests) returns a value. */
export function until<T>(check: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  return eventually(() => Promise.resolve(check()), timeoutMs, what);
}
