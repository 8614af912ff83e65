/**
 * Who may run SQL (`POST /query`): the configured token from anywhere; the agent's local credential
 * only from a loopback client; nobody else. The messages call a query a query, not a write.
 */
import { equal, match } from "node:assert/strict";
import { harness } from "../../testing/api_fakes.ts";

const LOCAL = "a".repeat(64);
const RESULT = { columns: [{ name: "x", type: "INTEGER" }], rows: [[1]], truncated: false };

function request(token?: string): Request {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  return new Request("http://agent/query", {
    method: "POST",
    headers,
    body: JSON.stringify({ sql: "SELECT 1" }),
  });
}

function from(hostname: string) {
  return { remoteAddr: { hostname } };
}

function app(token: string) {
  return harness({ token }, { localCredential: LOCAL, query: () => Promise.resolve(RESULT) }).app;
}

Deno.test("query: no token configured: the local credential from loopback runs it, as a read", async () => {
  const api = app("");
  for (const address of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
    const res = await api.request(request(LOCAL), undefined, from(address));
    equal(res.status, 200, `${address}: ${await res.clone().text()}`);
  }
  const missing = await api.request(request(), undefined, from("127.0.0.1"));
  equal(missing.status, 401);
  const message = (await missing.json()).error.message;
  match(message, /^SQL queries need the API token/);
  match(message, /eventops query on the agent's machine sends one by itself/);
});

Deno.test("query: the local credential is never accepted from another machine", async () => {
  for (const token of ["", "s3cret-token"]) {
    const api = app(token);
    for (const address of ["192.168.1.20", "10.0.0.1", "fe80::1", "2001:db8::1"]) {
      const res = await api.request(request(LOCAL), undefined, from(address));
      const body = await res.json();
      equal(res.status, token === "" ? 403 : 401, `${address}: ${JSON.stringify(body)}`);
      match(
        body.error.message,
        token === "" ? /^SQL queries are disabled because no API token/ : /token is wrong/,
      );
      if (token === "") match(body.error.message, /^(?!.*writes)/);
    }
    // in-process requests (no address) are not loopback either
    equal((await api.request(request(LOCAL))).status, token === "" ? 403 : 401);
  }
});

Deno.test("query: the configured token works from anywhere; a wrong one is refused", async () => {
  const api = app("s3cret-token");
  equal((await api.request(request("s3cret-token"), undefined, from("192.168.1.20"))).status, 200);
  equal((await api.request(request("s3cret-token"), undefined, from("127.0.0.1"))).status, 200);
  const wrong = await api.request(request("b".repeat(64)), undefined, from("127.0.0.1"));
  equal(wrong.status, 401);
  match((await wrong.json()).error.message, /^the API token is wrong: SQL queries need/);
});

Deno.test("ingest: the local credential is not a write credential, even from loopback", async () => {
  const api = app("");
  const res = await api.request(
    new Request("http://agent/ingest", {
      method: "POST",
      headers: { Authorization: `Bearer ${LOCAL}` },
      body: "{}",
    }),
    undefined,
    from("127.0.0.1"),
  );
  equal(res.status, 403);
  match((await res.json()).error.message, /^writes are disabled because no API token is configured/);
});
