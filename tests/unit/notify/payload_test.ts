/** Payloads (webhook v4, body templates, Alertmanager's postable alerts), requests, backoff, silences. */
import assert from "node:assert/strict";
import { labelMatcher } from "../../../config/notify_matchers.ts";
import { WebhookConfigSchema } from "../../../config/notify.ts";
import {
  type NotificationAlert,
  notificationData,
  postableAlerts,
  quoteMeta,
  renderBody,
  webhookMessage,
} from "../../../notify/payload.ts";
import { backoff, classifyStatus, deliveryRequest } from "../../../notify/request.ts";
import type { Integration } from "../../../notify/plan.ts";
import {
  expireSilence,
  setSilence,
  type Silence,
  silencedBy,
  type SilenceError,
} from "../../../notify/silences.ts";
import { compareAlertLabels, formatLabelSet } from "../../../notify/labels.ts";

const T0 = Date.UTC(2025, 9, 21, 10, 0, 0);

const firing: NotificationAlert = {
  status: "firing",
  labels: { severity: "warning", alertname: "cpu_high", host: "host-a" },
  annotations: { summary: "cpu 85%" },
  startsAt: T0,
  endsAt: null,
  generatorURL: "http://agent:8088/alerts?rule=cpu_high",
  fingerprint: "7fb9243e1d30c68b",
};
const resolved: NotificationAlert = {
  ...firing,
  status: "resolved",
  labels: { severity: "critical", alertname: "cpu_high", host: "host-b" },
  annotations: { summary: "cpu 50%", runbook: "r" },
  startsAt: T0 + 1_500,
  endsAt: T0 + 600_000,
  fingerprint: "0000000000000001",
};

Deno.test("webhook payload version 4: Alertmanager's fields, key order, sorted maps, Go times", () => {
  const data = notificationData(
    "ops.team",
    '{}:{alertname="cpu_high"}',
    { alertname: "cpu_high" },
    [firing, resolved],
    "http://agent:8088",
  );
  assert.equal(
    JSON.stringify(webhookMessage(data)),
    JSON.stringify({
      receiver: "ops\\.team",
      status: "firing",
      alerts: [
        {
          status: "firing",
          labels: { alertname: "cpu_high", host: "host-a", severity: "warning" },
          annotations: { summary: "cpu 85%" },
          startsAt: "2025-10-21T10:00:00Z",
          endsAt: "0001-01-01T00:00:00Z",
          generatorURL: "http://agent:8088/alerts?rule=cpu_high",
          fingerprint: "7fb9243e1d30c68b",
        },
        {
          status: "resolved",
          labels: { alertname: "cpu_high", host: "host-b", severity: "critical" },
          annotations: { runbook: "r", summary: "cpu 50%" },
          startsAt: "2025-10-21T10:00:01.500Z",
          endsAt: "2025-10-21T10:10:00Z",
          generatorURL: "http://agent:8088/alerts?rule=cpu_high",
          fingerprint: "0000000000000001",
        },
      ],
      groupLabels: { alertname: "cpu_high" },
      commonLabels: { alertname: "cpu_high" },
      commonAnnotations: {},
      externalURL: "http://agent:8088",
      version: "4",
      groupKey: '{}:{alertname="cpu_high"}',
      truncatedAlerts: 0,
    }),
  );
  const truncated = notificationData("r", "k", {}, [firing, resolved], "http://x", 1);
  assert.equal(truncated.alerts.length, 1);
  assert.equal(truncated.truncatedAlerts, 1);
  assert.equal(quoteMeta("a.b*c"), "a\\.b\\*c");
});

Deno.test("labels: Prometheus' label set text and Alertmanager's alert order", () => {
  assert.equal(formatLabelSet({ b: 'x"y', a: "1\n" }), '{a="1\\n", b="x\\"y"}');
  const sets: Record<string, string>[] = [{ a: "2" }, { instance: "z" }, { a: "1" }, { a: "1", b: "0" }];
  const sorted = sets.sort(compareAlertLabels);
  assert.deepEqual(sorted, [{ instance: "z" }, { a: "1" }, { a: "2" }, { a: "1", b: "0" }]);
});

Deno.test("body template: placeholders, JSON escaping, the whole payload; bad templates refused at load", () => {
  const data = notificationData("ops", "k", { host: "host-a" }, [
    { ...firing, annotations: { summary: 'say "hi"\nnow' } },
  ], "http://agent");
  const body = renderBody(
    '{"text": "{{status}}: {{commonAnnotations.summary}} on {{groupLabels.host}} ({{alerts.firing}}/{{alerts.count}})", "raw": {{payload}}}',
    data,
    true,
  );
  const parsed = JSON.parse(body);
  assert.equal(parsed.text, 'firing: say "hi"\nnow on host-a (1/1)');
  assert.equal(parsed.raw.version, "4");
  assert.equal(renderBody("{{status}} {{commonLabels.missing}}!", data, false), "firing !");
  const bad = WebhookConfigSchema.safeParse({ url: "http://x", body_template: "{{nope}}" });
  assert.match(bad.error?.issues[0].message ?? "", /unknown placeholder \{\{nope\}\}/);
  const notJson = WebhookConfigSchema.safeParse({ url: "http://x", body_template: '{"a": {{status}}}' });
  assert.match(notJson.error?.issues[0].message ?? "", /must be JSON/);
  assert.ok(
    WebhookConfigSchema.safeParse({
      url: "http://x",
      body_template: "{{status}}",
      content_type: "text/plain",
    }).success,
  );
});

Deno.test("Alertmanager alerts: a firing alert ends 4 resend intervals after it is sent, a resolved one at its end", () => {
  const sentAt = T0 + 3_600_000;
  assert.deepEqual(postableAlerts([firing, resolved], sentAt, 60_000).map((a) => [a.startsAt, a.endsAt]), [
    ["2025-10-21T10:00:00Z", "2025-10-21T11:04:00Z"],
    ["2025-10-21T10:00:01.500Z", "2025-10-21T10:10:00Z"],
  ]);
});

Deno.test("requests: idempotency key, user agent, headers, authorization, HMAC of the exact body", async () => {
  const integration: Integration = {
    kind: "webhook",
    id: "ops/webhook/0",
    receiver: "ops",
    config: WebhookConfigSchema.parse({
      url: "http://127.0.0.1:5678/hook",
      headers: { "X-Team": "ops" },
      hmac: { secret_env: "EVENTOPS_NOTIFY_HMAC" },
      timeout: "3s",
    }),
  };
  const data = notificationData("ops", "k", {}, [firing], "http://agent");
  const request = await deliveryRequest(
    integration,
    "id-1",
    data,
    { authorization: "Bearer s3cret", hmacKey: "key" },
    10_000,
    T0,
    "EventOps/test",
  );
  assert.equal(request.url, "http://127.0.0.1:5678/hook");
  assert.equal(request.timeoutMs, 3_000);
  assert.equal(request.headers["Idempotency-Key"], "id-1");
  assert.equal(request.headers["User-Agent"], "EventOps/test");
  assert.equal(request.headers["X-Team"], "ops");
  assert.equal(request.headers.Authorization, "Bearer s3cret");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode("key"),
    {
      name: "HMAC",
      hash: "SHA-256",
    },
    false,
    ["verify"],
  );
  const hex = request.headers["X-EventOps-Signature-256"].replace(/^sha256=/, "");
  const signature = new Uint8Array(hex.match(/../g)!.map((byte) => parseInt(byte, 16)));
  assert.ok(await crypto.subtle.verify("HMAC", key, signature, new TextEncoder().encode(request.body)));
});

Deno.test("answers: 2xx delivered, 5xx/408/429 retried, other 4xx failed; backoff doubles with jitter, capped", () => {
  assert.equal(classifyStatus(204, "").kind, "delivered");
  assert.equal(classifyStatus(503, "busy").kind, "retry");
  assert.equal(classifyStatus(429, "").kind, "retry");
  assert.equal(classifyStatus(408, "").kind, "retry");
  const refused = classifyStatus(400, "bad payload");
  assert.deepEqual(refused, { kind: "failed", error: "HTTP 400: bad payload" });
  assert.equal(backoff(1, 1_000, 60_000, () => 0), 500);
  assert.equal(backoff(1, 1_000, 60_000, () => 0.999_999), 1_000);
  assert.equal(backoff(4, 1_000, 60_000, () => 0.5), 6_000);
  assert.equal(backoff(30, 1_000, 60_000, () => 1), 60_000);
});

Deno.test("silences: Alertmanager's validation, update in place, replace, expire", () => {
  const now = T0;
  const post = {
    matchers: [{ name: "host", value: "host-a", isRegex: false, isEqual: true }],
    startsAt: new Date(now - 60_000).toISOString(),
    endsAt: new Date(now + 3_600_000).toISOString(),
    createdBy: "ops",
    comment: "maintenance",
  };
  const created = setSilence(post, undefined, now, "s1").silence;
  assert.equal(created.startsAt, now, "a start in the past becomes now");
  assert.deepEqual(silencedBy([created], { host: "host-a" }, now + 1), ["s1"]);
  assert.deepEqual(silencedBy([created], { host: "host-b" }, now + 1), []);
  const extended = setSilence(
    {
      ...post,
      id: "s1",
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 7_200_000).toISOString(),
    },
    created,
    now + 10,
    "s2",
  );
  assert.equal(extended.silence.id, "s1", "only the end changed: in place");
  assert.equal(extended.expired, undefined);
  const replaced = setSilence(
    { ...post, id: "s1", matchers: [{ name: "host", value: "host-b", isRegex: false, isEqual: true }] },
    created,
    now + 10,
    "s3",
  );
  assert.equal(replaced.silence.id, "s3");
  assert.equal(replaced.expired?.endsAt, now + 10);
  assert.throws(
    () => setSilence({ ...post, id: "nope" }, undefined, now, "x"),
    (e: SilenceError) => e.status === 404,
  );
  assert.throws(
    () =>
      setSilence(
        { ...post, matchers: [{ name: "host", value: ".*", isRegex: true, isEqual: true }] },
        undefined,
        now,
        "x",
      ),
    /must not match the empty string/,
  );
  assert.throws(
    () => setSilence({ ...post, endsAt: post.startsAt }, undefined, now, "x"),
    /start time must be before end time/,
  );
  const pending: Silence = {
    ...created,
    startsAt: now + 1_000,
    endsAt: now + 2_000,
    matchers: [labelMatcher("a", "=", "b")],
  };
  assert.deepEqual([expireSilence(pending, now).startsAt, expireSilence(pending, now).endsAt], [now, now]);
});
