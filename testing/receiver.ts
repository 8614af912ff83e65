/**
 * A real HTTP receiver for alert-delivery tests (`Deno.serve` on loopback): records every request
 * (path, headers, body), can refuse the next N requests with a status, answer garbage, or be down
 * (not listening) and come back on the same port.
 *
 * @module
 */

/** One request the receiver got. */
export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: unknown;
  /** The status answered. */
  status: number;
  at: number;
}

/** A running receiver. */
export interface TestReceiver {
  readonly port: number;
  readonly url: string;
  /** Every request so far (refused ones included, with their status). */
  readonly requests: Received[];
  /** The requests answered 2xx. */
  accepted(): Received[];
  /** Answer the next `count` requests with `status` (e.g. 503). */
  refuseNext(count: number, status?: number): void;
  /**
   * Holds the next request without answering: resolves with it once it arrived; `release` answers
   * it (200) — if its client is still there.
   */
  holdNext(): Promise<{ request: Received; release: () => void }>;
  /** Stop listening (connections are refused) until {@link up}. */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): void;
  close(): Promise<void>;
}

/** Starts a receiver on a free loopback port (or `port`). */
export function startReceiver(port = 0): TestReceiver {
  const requests: Received[] = [];
  let refuse = 0;
  let refuseStatus = 503;
  let hold: ((held: { request: Received; release: () => void }) => void) | undefined;
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  const handler = async (req: Request): Promise<Response> => {
    const body = await req.text();
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    let status = 200;
    if (refuse > 0) {
      refuse--;
      status = refuseStatus;
    }
    const headers: Record<string, string> = {};
    req.headers.forEach((value, name) => headers[name] = value);
    const received = { path: new URL(req.url).pathname, headers, body, json, status, at: Date.now() };
    requests.push(received);
    if (hold !== undefined) {
      const notify = hold;
      hold = undefined;
      let release = () => {};
      const released = new Promise<void>((resolve) => release = resolve);
      notify({ request: received, release });
      await released;
    }
    return new Response(status === 200 ? "ok" : "refused by the test", { status });
  };
  const listen = (on: number) =>
    Deno.serve({ hostname: "127.0.0.1", port: on, onListen: () => {} }, handler) as Deno.HttpServer<
      Deno.NetAddr
    >;
  server = listen(port);
  const bound = server.addr.port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    requests,
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    refuseNext(count, status = 503) {
      refuse = count;
      refuseStatus = status;
    },
    holdNext() {
      return new Promise((resolve) => hold = resolve);
    },
    async down() {
      const running = server;
      server = undefined;
      await running?.shutdown();
    },
    up() {
      if (server === undefined) server = listen(bound);
    },
    async close() {
      await server?.shutdown();
      server = undefined;
    },
  };
}

/**
 * A TCP server on loopback that answers every connection with bytes that are not HTTP, then closes
 * it; counts the connections.
 */
export function startGarbageServer(): { port: number; connections(): number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  (async () => {
    for await (const conn of listener) {
      connections++;
      (async () => {
        try {
          await conn.write(new TextEncoder().encode("\u0000\u0001garbage that is not HTTP\r\n\r\n"));
        } catch { /* the client may have gone */ }
        try {
          conn.close();
        } catch { /* closed */ }
      })();
    }
  })().catch(() => undefined);
  return {
    port: (listener.addr as Deno.NetAddr).port,
    connections: () => connections,
    close: () => listener.close(),
  };
}
