/**
 * The dispatcher (pure): Alertmanager's group timers, notification-log dedup, send_resolved,
 * inhibition, silences, acknowledgements, Alertmanager pushes and what a restart restores.
 */
import assert from "node:assert/strict";
import type { StoredAlert } from "../../../model/query.ts";
import { Dispatcher, type MuteState, needsUpdate, trackAlert } from "../../../notify/dispatch.ts";
import { parseNotifyFile } from "../../../notify/load.ts";
import { compilePlan, type NotifyPlan } from "../../../notify/plan.ts";
import type { Silence } from "../../../notify/silences.ts";
import { labelMatcher } from "../../../config/notify_matchers.ts";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const S = 1_000;

function plan(yaml: string): NotifyPlan {
  return compilePlan(parseNotifyFile(yaml, "notify.yaml"), "http://agent:8088");
}

const WEBHOOK = `
route:
  receiver: hook
  group_by: [alertname, tenant]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs: [{ url: "http://127.0.0.1:1/hook" }]
`;

let seq = 0;
function alert(
  host: string,
  state: "firing" | "resolved",
  severity: "warning" | "critical",
  ts: number,
  extra: Partial<StoredAlert> = {},
): StoredAlert {
  const fingerprint = extra.fingerprint ??
    `${host.padEnd(12, "0").slice(0, 12)}0000`.replace(/[^0-9a-f]/g, "a");
  return {
    seq: ++seq,
    id: `${fingerprint}:${ts}:${state}:${severity}`,
    fingerprint,
    rule: "cpu_high",
    tenant: "acme",
    host,
    metric: "cpu_load",
    severity,
    state,
    value: severity === "critical" ? 97 : 85,
    threshold: 80,
    starts_at: extra.starts_at ?? ts,
    ends_at: state === "resolved" ? ts : null,
    ts,
    labels: { category: "cpu" },
    annotations: { summary: `${host} cpu` },
    ...extra,
  };
}

const noMutes: MuteState = { silences: [], acked: () => false };

function tracked(a: StoredAlert, ctx: Record<string, string> = {}) {
  return trackAlert(a, ctx, "http://agent:8088");
}

Deno.test("group_wait, then group_interval: one notification per group with every alert, none when nothing changed", () => {
  const d = new Dispatcher(plan(WEBHOOK));
  d.apply(tracked(alert("host-a", "firing", "warning", T0)), T0, noMutes);
  d.apply(tracked(alert("host-b", "firing", "warning", T0 + S)), T0 + S, noMutes);
  assert.equal(d.nextFlushAt(), T0 + 30 * S, "group_wait from the group's first alert");
  assert.equal(d.flush(T0 + 29 * S, noMutes).notifications.length, 0);
  const first = d.flush(T0 + 30 * S, noMutes);
  assert.equal(first.notifications.length, 1);
  const data = first.notifications[0].data;
  assert.equal(data.groupKey, '{}:{alertname="cpu_high", tenant="acme"}');
  assert.deepEqual(data.groupLabels, { alertname: "cpu_high", tenant: "acme" });
  assert.deepEqual(data.alerts.map((a) => a.labels.host), ["host-a", "host-b"]);
  assert.equal(data.status, "firing");
  assert.deepEqual(first.logged.map((e) => e.firing.length), [2]);
  assert.equal(d.nextFlushAt(), T0 + 330 * S, "then every group_interval");
  // Nothing changed: no notification at the next interval.
  assert.equal(d.flush(T0 + 330 * S, noMutes).notifications.length, 0);
  // Escalation is a new alert to the log (fingerprint:severity).
  d.apply(
    tracked(alert("host-a", "firing", "critical", T0 + 400 * S, { starts_at: T0 })),
    T0 + 400 * S,
    noMutes,
  );
  assert.equal(d.flush(T0 + 500 * S, noMutes).notifications.length, 0, "waits for the group interval");
  const escalated = d.flush(T0 + 630 * S, noMutes).notifications;
  assert.equal(escalated.length, 1);
  assert.deepEqual(escalated[0].data.alerts.map((a) => `${a.labels.host}:${a.labels.severity}`), [
    "host-a:critical",
    "host-b:warning",
  ]);
});

Deno.test("an alert older than group_wait flushes its new group at once (Alertmanager's insert)", () => {
  const d = new Dispatcher(plan(WEBHOOK));
  const now = T0 + 3_600 * S;
  d.apply(tracked(alert("host-a", "firing", "warning", T0)), now, noMutes);
  assert.equal(d.nextFlushAt(), now);
  assert.equal(d.flush(now, noMutes).notifications.length, 1);
});

Deno.test("resolved: notified with send_resolved, then the alert leaves the group; fired and resolved unseen: nothing", () => {
  const d = new Dispatcher(plan(WEBHOOK));
  d.apply(tracked(alert("host-a", "firing", "warning", T0)), T0, noMutes);
  d.flush(T0 + 30 * S, noMutes);
  d.apply(
    tracked(alert("host-a", "resolved", "warning", T0 + 60 * S, { starts_at: T0 })),
    T0 + 60 * S,
    noMutes,
  );
  const resolved = d.flush(T0 + 330 * S, noMutes);
  assert.equal(resolved.notifications.length, 1);
  assert.equal(resolved.notifications[0].data.status, "resolved");
  assert.equal(resolved.notifications[0].data.alerts[0].endsAt, T0 + 60 * S);
  assert.deepEqual(resolved.unlogged.length, 1, "nothing fires: the log entry goes");
  assert.equal(d.groupCount, 0);
  assert.equal(d.alerts.size, 0);
  // Fired and resolved within group_wait: the receiver never knew, nothing is sent.
  d.apply(tracked(alert("host-c", "firing", "warning", T0 + 1_000 * S)), T0 + 1_000 * S, noMutes);
  d.apply(tracked(alert("host-c", "resolved", "warning", T0 + 1_010 * S)), T0 + 1_010 * S, noMutes);
  assert.equal(d.flush(T0 + 1_030 * S, noMutes).notifications.length, 0);
});

Deno.test("send_resolved false: resolved alerts are left out; all resolved sends nothing but clears the log", () => {
  const d = new Dispatcher(
    plan(
      WEBHOOK.replace(
        'url: "http://127.0.0.1:1/hook"',
        'url: "http://127.0.0.1:1/hook", send_resolved: false',
      ),
    ),
  );
  d.apply(tracked(alert("host-a", "firing", "warning", T0)), T0, noMutes);
  d.apply(tracked(alert("host-b", "firing", "warning", T0)), T0, noMutes);
  d.flush(T0 + 30 * S, noMutes);
  d.apply(tracked(alert("host-b", "resolved", "warning", T0 + 60 * S)), T0 + 60 * S, noMutes);
  assert.equal(d.flush(T0 + 330 * S, noMutes).notifications.length, 0, "firing set shrank only");
  d.apply(tracked(alert("host-a", "resolved", "warning", T0 + 400 * S)), T0 + 400 * S, noMutes);
  const last = d.flush(T0 + 630 * S, noMutes);
  assert.equal(last.notifications.length, 0);
  assert.equal(last.unlogged.length, 1);
});

Deno.test("repeat_interval re-sends an unchanged group, unless every firing alert is acknowledged", () => {
  const d = new Dispatcher(plan(WEBHOOK.replace("repeat_interval: 4h", "repeat_interval: 10m")));
  const a = alert("host-a", "firing", "warning", T0);
  d.apply(tracked(a), T0, noMutes);
  assert.equal(d.flush(T0 + 30 * S, noMutes).notifications.length, 1);
  assert.equal(d.flush(T0 + 330 * S, noMutes).notifications.length, 0);
  assert.equal(d.flush(T0 + 630 * S, noMutes).notifications.length, 0, "10m not yet passed since 30s");
  assert.equal(d.flush(T0 + 930 * S, noMutes).notifications.length, 1, "repeat");
  const acked: MuteState = {
    silences: [],
    acked: (x) => x.fingerprint === a.fingerprint && x.starts_at === T0,
  };
  assert.equal(d.flush(T0 + 1_530 * S, acked).notifications.length, 0, "acknowledged: no repeat");
  assert.equal(d.flush(T0 + 1_530 * S + 300 * S, noMutes).notifications.length, 1, "ack gone: repeats");
});

Deno.test("needsUpdate is Alertmanager's DedupStage decision", () => {
  const entry = { firing: ["a:warning"], resolved: [], notified_at: T0 };
  assert.equal(needsUpdate(undefined, [], ["a:warning"], true, 60_000, T0), false);
  assert.equal(needsUpdate(undefined, ["a:warning"], [], true, 60_000, T0), true);
  assert.equal(needsUpdate(entry, ["a:warning", "b:warning"], [], true, 60_000, T0), true);
  assert.equal(needsUpdate(entry, [], ["a:warning"], false, 60_000, T0), true, "all resolved, always");
  assert.equal(needsUpdate(entry, ["a:warning"], ["b:warning"], true, 60_000, T0), true);
  assert.equal(needsUpdate(entry, ["a:warning"], ["b:warning"], false, 60_000, T0), false);
  assert.equal(needsUpdate(entry, ["a:warning"], [], true, 60_000, T0 + 60_001), true);
  assert.equal(needsUpdate(entry, ["a:warning"], [], true, 60_000, T0 + 60_001, true), false);
});

Deno.test("silences mute matching alerts only; when the silence ends, the next flush notifies them", () => {
  const d = new Dispatcher(plan(WEBHOOK.replace("group_by: [alertname, tenant]", "group_by: [host]")));
  const silence: Silence = {
    id: "s1",
    matchers: [labelMatcher("host", "=", "host-a")],
    startsAt: T0,
    endsAt: T0 + 600 * S,
    createdBy: "ops",
    comment: "maintenance",
    updatedAt: T0,
  };
  const muted: MuteState = { silences: [silence], acked: () => false };
  d.apply(tracked(alert("host-a", "firing", "warning", T0)), T0, muted);
  d.apply(tracked(alert("host-b", "firing", "warning", T0)), T0, muted);
  const during = d.flush(T0 + 30 * S, muted).notifications;
  assert.deepEqual(during.map((n) => n.data.alerts.map((a) => a.labels.host).join()), ["host-b"]);
  const tracked_a = d.alerts.get(alert("host-a", "firing", "warning", T0).fingerprint)!;
  assert.deepEqual(d.mute(tracked_a, muted, T0 + 60 * S)?.silencedBy, ["s1"]);
  assert.equal(d.mute(tracked_a, muted, T0 + 601 * S), undefined, "expired");
  const after = d.flush(T0 + 630 * S, muted).notifications;
  assert.deepEqual(after.map((n) => n.data.alerts.map((a) => a.labels.host).join()), ["host-a"]);
});

Deno.test("inhibition: a firing critical mutes warnings with the same equal labels, not others", () => {
  const p = plan(`
route: { receiver: hook, group_by: ['...'], group_wait: 0s, group_interval: 1m }
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [tenant, host]
receivers: [{ name: hook, webhook_configs: [{ url: "http://127.0.0.1:1/hook" }] }]
`);
  const d = new Dispatcher(p);
  const down = alert("host-a", "firing", "critical", T0, {
    rule: "host_down",
    fingerprint: "aaaaaaaaaaaaaaa1",
  });
  const cpuA = alert("host-a", "firing", "warning", T0, { fingerprint: "aaaaaaaaaaaaaaa2" });
  const cpuB = alert("host-b", "firing", "warning", T0, { fingerprint: "bbbbbbbbbbbbbbb2" });
  for (const a of [down, cpuA, cpuB]) d.apply(tracked(a), T0, noMutes);
  const sent = d.flush(T0 + S, noMutes).notifications.map((n) => n.data.alerts[0].fingerprint).sort();
  assert.deepEqual(sent, [down.fingerprint, cpuB.fingerprint].sort());
  assert.equal(d.mute(d.alerts.get(cpuA.fingerprint)!, noMutes, T0 + S)?.inhibitedBy, down.fingerprint);
  // The source resolves: the inhibited warning is notified at its group's next flush.
  d.apply(
    tracked(
      alert("host-a", "resolved", "critical", T0 + 10 * S, {
        rule: "host_down",
        fingerprint: down.fingerprint,
      }),
    ),
    T0 + 10 * S,
    noMutes,
  );
  const next = d.flush(T0 + 61 * S, noMutes).notifications.map((n) =>
    `${n.data.alerts[0].fingerprint}:${n.data.status}`
  );
  assert.deepEqual(next.sort(), [`${cpuA.fingerprint}:firing`, `${down.fingerprint}:resolved`].sort());
});

Deno.test("Alertmanager integrations: every transition pushed at once; escalation ends the old severity; resends", () => {
  const d = new Dispatcher(plan(`
route: { receiver: am, group_wait: 10m }
receivers: [{ name: am, alertmanager_configs: [{ url: "http://127.0.0.1:9093", resend_interval: 1m }] }]
`));
  const warn = d.apply(tracked(alert("host-a", "firing", "warning", T0)), T0, noMutes);
  assert.equal(warn.length, 1);
  assert.deepEqual(warn[0].data.alerts.map((a) => `${a.labels.severity}:${a.status}`), ["warning:firing"]);
  const crit = d.apply(
    tracked(alert("host-a", "firing", "critical", T0 + 5 * S, { starts_at: T0 })),
    T0 + 5 * S,
    noMutes,
  );
  assert.deepEqual(crit[0].data.alerts.map((a) => `${a.labels.severity}:${a.status}:${a.endsAt}`), [
    `warning:resolved:${T0 + 5 * S}`,
    "critical:firing:null",
  ]);
  assert.equal(
    d.flush(T0 + 600 * S, noMutes).notifications.length,
    0,
    "no grouped notification for Alertmanager",
  );
  assert.equal(d.resendDue(T0 + 5 * S, noMutes).length, 0, "the first call schedules");
  const resend = d.resendDue(T0 + 66 * S, noMutes);
  assert.deepEqual(resend[0].data.alerts.map((a) => a.labels.severity), ["critical"]);
  const resolved = d.apply(
    tracked(alert("host-a", "resolved", "critical", T0 + 70 * S, { starts_at: T0 })),
    T0 + 70 * S,
    noMutes,
  );
  assert.deepEqual(resolved[0].data.alerts.map((a) => `${a.status}:${a.endsAt}`), [
    `resolved:${T0 + 70 * S}`,
  ]);
});

Deno.test("restore: firing alerts and owed resolutions come back; the log keeps old news from repeating", () => {
  const p = plan(WEBHOOK);
  const first = new Dispatcher(p);
  const a = alert("host-a", "firing", "warning", T0);
  const b = alert("host-b", "firing", "warning", T0);
  first.apply(tracked(a), T0, noMutes);
  first.apply(tracked(b), T0, noMutes);
  const flushed = first.flush(T0 + 30 * S, noMutes);
  // Crash; b resolves meanwhile; c fired and resolved without ever being notified.
  const bResolved = alert("host-b", "resolved", "warning", T0 + 60 * S, { starts_at: T0 });
  const cResolved = alert("host-c", "resolved", "warning", T0 + 60 * S);
  const second = new Dispatcher(p, flushed.logged);
  second.restore([a, bResolved, cResolved].map((x) => tracked(x)), T0 + 100 * S);
  assert.deepEqual([...second.alerts.keys()].sort(), [a.fingerprint, b.fingerprint].sort());
  const after = second.flush(T0 + 130 * S, noMutes).notifications;
  assert.equal(after.length, 1, "b's resolution is owed");
  assert.deepEqual(after[0].data.alerts.map((x) => `${x.labels.host}:${x.status}`), [
    "host-a:firing",
    "host-b:resolved",
  ]);
  // Without a change, a restored group sends nothing (the log has it).
  const third = new Dispatcher(p, flushed.logged);
  third.restore([tracked(a), tracked(b)], T0 + 100 * S);
  assert.equal(third.flush(T0 + 130 * S, noMutes).notifications.length, 0);
});

Deno.test("labels: alertname, severity, tenant, host, metric, inventory context and rule labels", () => {
  const t = tracked(alert("host-a", "firing", "warning", T0), {
    site: "par-1",
    "rack.row": "r1",
    severity: "x",
  });
  assert.deepEqual(t.labels, {
    site: "par-1",
    rack_row: "r1",
    severity: "warning",
    category: "cpu",
    alertname: "cpu_high",
    tenant: "acme",
    host: "host-a",
    metric: "cpu_load",
  });
  assert.equal(t.notification.generatorURL, "http://agent:8088/alerts?rule=cpu_high&tenant=acme&host=host-a");
});

Deno.test("adopt: a departed agent's firing alerts are taken over: tracked, notified once in their group, resolved here", () => {
  const d = new Dispatcher(plan(WEBHOOK));
  const own = alert("host-a", "firing", "warning", T0);
  d.apply(tracked(own), T0, noMutes);
  d.flush(T0 + 30 * S, noMutes);
  // Restored from the departed agent: b firing, c resolved (history only), and an older a (ours is newer).
  const theirs = alert("host-b", "firing", "critical", T0 + 40 * S);
  const gone = alert("host-c", "resolved", "warning", T0 + 40 * S);
  const olderA = alert("host-a", "firing", "critical", T0 - 60 * S, { fingerprint: own.fingerprint });
  d.adopt([tracked(theirs), tracked(gone), tracked(olderA)], T0 + 50 * S);
  assert.deepEqual([...d.alerts.keys()].sort(), [own.fingerprint, theirs.fingerprint].sort());
  assert.equal(d.alerts.get(own.fingerprint)?.alert.id, own.id, "ours is newer: kept");
  const next = d.flush(T0 + 30 * S + 5 * 60 * S, noMutes).notifications;
  assert.equal(next.length, 1, "the group changed: notified once (at least once: their log is gone)");
  assert.deepEqual(next[0].data.alerts.map((x) => `${x.labels.host}:${x.status}`), [
    "host-a:firing",
    "host-b:firing",
  ]);
  // Its resolution, found here, is notified here.
  d.apply(
    tracked(alert("host-b", "resolved", "critical", T0 + 400 * S, { starts_at: theirs.starts_at })),
    T0 + 400 * S,
    noMutes,
  );
  const resolved = d.flush(T0 + 30 * S + 10 * 60 * S, noMutes).notifications;
  assert.equal(resolved.length, 1);
  assert.ok(resolved[0].data.alerts.some((x) => x.labels.host === "host-b" && x.status === "resolved"));
});
