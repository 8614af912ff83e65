import assert from "node:assert/strict";
import avro from "avsc";
import { alertDecoder, peerAlertsOf } from "../../../agent/peer_alerts.ts";
import { ConfigSchema } from "../../../config/schema.ts";
import {
  alertOriginHeaders,
  ORIGIN_AGENT_HEADER,
  ORIGIN_INSTANCE_HEADER,
} from "../../../kafka/alert_origin.ts";
import { AGENT_INSTANCE } from "../../../kafka/membership.ts";
import type { Alert } from "../../../model/alert.ts";
import { producedSubjects } from "../../../registry/subjects.ts";
import { frame } from "../../../registry/wire.ts";

function alert(id: string): Alert {
  return {
    id,
    fingerprint: "fp",
    rule: "cpu_high",
    tenant: "t",
    host: "h",
    metric: "cpu_load",
    severity: "critical",
    state: "firing",
    value: 99,
    threshold: 90,
    starts_at: 1,
    ends_at: null,
    ts: 1,
    labels: {},
    annotations: {},
  };
}

function headersOf(instance: string, agent?: string): Map<Buffer, Buffer> {
  const headers = new Map([[Buffer.from(ORIGIN_INSTANCE_HEADER), Buffer.from(instance)]]);
  if (agent !== undefined) headers.set(Buffer.from(ORIGIN_AGENT_HEADER), Buffer.from(agent));
  return headers;
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

Deno.test("peer alerts: another agent's alert once, with its address; own, origin-less and invalid ones left out", () => {
  const decode = alertDecoder(ConfigSchema.parse({}));
  const seen = new Set<string>();
  const peer = headersOf("other-instance", "http://10.0.0.2:8088");
  const { alerts, invalid } = peerAlertsOf(
    [
      { value: json(alert("a")), headers: peer },
      { value: json(alert("a")), headers: peer }, // produced twice (a retried batch)
      { value: json(alert("own")), headers: alertOriginHeaders("http://10.0.0.1:8088") },
      { value: json(alert("foreign")) }, // another producer's record, no origin
      { value: json({ id: "broken" }), headers: peer },
      { value: Buffer.from("not json"), headers: peer },
      { value: json(alert("b")), headers: headersOf("third-instance") },
    ],
    AGENT_INSTANCE,
    decode,
    seen,
  );
  assert.deepEqual(alerts.map((a) => [a.id, a.agent]), [
    ["a", "http://10.0.0.2:8088"],
    ["b", "third-instance"],
  ]);
  assert.equal(invalid, 2);
  // A later batch with the same alert again: still once.
  assert.equal(
    peerAlertsOf([{ value: json(alert("a")), headers: peer }], AGENT_INSTANCE, decode, seen).alerts.length,
    0,
  );
});

Deno.test("peer alerts: framed JSON and framed Avro records are decoded", () => {
  const peer = headersOf("other-instance", "http://peer");
  const jsonDecode = alertDecoder(ConfigSchema.parse({}));
  const framedJson = Buffer.from(frame(7, json(alert("j"))));
  assert.deepEqual(
    peerAlertsOf([{ value: framedJson, headers: peer }], "me", jsonDecode, new Set()).alerts[0].id,
    "j",
  );

  const config = ConfigSchema.parse({ schema_registry: { url: "http://registry:8081", produce: "avro" } });
  const [subject] = producedSubjects(config);
  const type = avro.Type.forSchema(JSON.parse(subject.schema.schema), { wrapUnions: false });
  const framedAvro = Buffer.from(frame(8, type.toBuffer(alert("v"))));
  const decoded = peerAlertsOf([{ value: framedAvro, headers: peer }], "me", alertDecoder(config), new Set());
  assert.deepEqual(decoded.alerts.map((a) => a.id), ["v"]);
});
