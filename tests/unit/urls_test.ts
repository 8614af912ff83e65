/** `eventops urls`: the LAN addresses the agent listens on, and the warning without a token. */
import assert from "node:assert/strict";
import { ConfigSchema } from "../../config/schema.ts";
import { type InterfaceAddress, urlsReport } from "../../cli/urls.ts";

const INTERFACES: InterfaceAddress[] = [
  { family: "IPv4", address: "127.0.0.1" },
  { family: "IPv6", address: "::1" },
  { family: "IPv4", address: "192.168.1.23" },
  { family: "IPv6", address: "fe80::1" },
  { family: "IPv6", address: "2001:db8::23" },
];

function config(http: Record<string, unknown>) {
  return ConfigSchema.parse({ http });
}

Deno.test("urls: on all interfaces, the LAN addresses are printed, and a warning without a token", () => {
  const report = urlsReport(config({ host: "0.0.0.0", port: 8088 }), INTERFACES);
  assert.equal(report.local.ui, "http://localhost:8088/");
  assert.deepEqual(report.network.map((urls) => urls.ui), ["http://192.168.1.23:8088/"]);
  assert.equal(report.network[0].api, "http://192.168.1.23:8088/metrics/cpu?tenant=acme&host=host-a");
  assert.match(
    report.warning ?? "",
    /listens on all interfaces \(http\.host 0\.0\.0\.0\) without an API token/,
  );
});

Deno.test("urls: with a token, no warning; on :: the IPv6 addresses too (not link-local)", () => {
  const report = urlsReport(config({ host: "::", port: 9000, token: "t" }), INTERFACES);
  assert.equal(report.warning, undefined);
  assert.deepEqual(report.network.map((urls) => urls.ui), [
    "http://192.168.1.23:9000/",
    "http://[2001:db8::23]:9000/",
  ]);
});

Deno.test("urls: on loopback or one address, only that address and no warning", () => {
  const loopback = urlsReport(config({ host: "127.0.0.1" }), INTERFACES);
  assert.equal(loopback.local.ui, "http://localhost:8088/");
  assert.deepEqual(loopback.network, []);
  assert.equal(loopback.warning, undefined);
  const lan = urlsReport(config({ host: "192.168.1.23" }), INTERFACES);
  assert.equal(lan.local.ui, "http://192.168.1.23:8088/");
  assert.deepEqual(lan.network, []);
});
