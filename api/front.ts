/**
 * The TCP front of the HTTP server: it accepts client connections itself and relays their bytes to
 * the real HTTP server (`Deno.serve` on an ephemeral loopback port), because `Deno.serve` has no
 * connection limit and no header or idle timeout (measured with Deno 2.9.6: 1,000 connections that
 * sent half a request line stayed open for as long as we watched, and at the systemd default of
 * 1,024 open files they made `Deno.serve` fail with "Too many open files" and the agent exit).
 *
 * What the front enforces, before a byte reaches the HTTP server:
 * - at most `maxConnections` open connections, `maxConnectionsPerIp` per client address (IPv6: per
 *   /64); a connection over a limit gets a short JSON 503/429 and is closed. At the global cap, a
 *   newcomer first takes the place of a connection still waiting for its request head from the
 *   address holding the most, so a few addresses cannot lock the others out;
 * - a request head (request line and headers, up to the blank line) must arrive within
 *   `headerTimeoutMs` of the connection's start or of the previous response: slowloris connections
 *   are closed;
 * - a connection with no byte in either direction for `idleTimeoutMs` between requests is closed
 *   (a request the server is working on is not idle; SSE heartbeats keep streams busy).
 *
 * The HTTP server learns the client's address from `clientOf(remotePort)`: the relay's connection
 * to it comes from a loopback port the front knows. HTTP/2 with prior knowledge is relayed too
 * (with the idle timeout only). Each relayed connection uses three file descriptors.
 *
 * @module
 */
import { clientKey } from "./client.ts";

/** Limits and hooks of the front. */
export interface FrontOptions {
  hostname: string;
  port: number;
  /** Port of the HTTP server on 127.0.0.1 that connections are relayed to. */
  backendPort: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  /** Called when the number of open connections changes. */
  onOpen?: (open: number) => void;
  /** Called for each connection refused at accept. */
  onRefused?: (limit: "max_connections" | "max_connections_per_ip") => void;
  /** Called for each connection the front closes: a timeout, or evicted at the cap for a newcomer. */
  onTimeout?: (reason: "header_timeout" | "idle_timeout" | "evicted") => void;
  /** Called when accepting fails (for example: too many open files); the front retries. */
  onAcceptError?: (error: Error) => void;
}

/** Where a relayed connection is in its request/response cycle. */
type Phase = "head" | "request" | "response";

interface Relay {
  client: Deno.TcpConn;
  backend?: Deno.TcpConn;
  backendPort?: number;
  key: string;
  phase: Phase;
  /** When the head being awaited must be complete (ms, performance.now()). */
  headDeadline: number;
  /** Newlines seen in a row (carriage returns ignored) while awaiting a head. */
  newlines: number;
  lastActivity: number;
  /** First bytes were the HTTP/2 preface: no head tracking. */
  http2?: boolean;
  closed: boolean;
}

const UP_BUFFER = 8 * 1024;
const DOWN_BUFFER = 16 * 1024;
/** Most refused connections being answered at once; beyond, accepting waits (the kernel queues them). */
const MAX_REFUSING = 128;
/** How long a refused connection may take to send its request before it gets the answer. */
const REFUSE_READ_MS = 100;
/** How long a refused connection may take to close after its answer. */
const REFUSE_DRAIN_MS = 50;
const encoder = new TextEncoder();

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** Waits for `promise`, at most `ms`. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}

function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // already closed
  }
}

/** A whole HTTP/1.1 response with a JSON error body, closing the connection. */
export function cannedResponse(status: 429 | 503, message: string, retryAfterSeconds: number): Uint8Array {
  const body = JSON.stringify({ error: { status, message } });
  const reason = status === 429 ? "Too Many Requests" : "Service Unavailable";
  return encoder.encode(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncache-control: no-store\r\n` +
      `retry-after: ${retryAfterSeconds}\r\nconnection: close\r\ncontent-length: ${
        encoder.encode(body).length
      }\r\n\r\n${body}`,
  );
}

/** The running front. */
export class TcpFront {
  readonly #options: FrontOptions;
  readonly #listener: Deno.TcpListener;
  readonly #relays = new Set<Relay>();
  /** Open relays per client key, oldest first. */
  readonly #byKey = new Map<string, Set<Relay>>();
  readonly #byBackendPort = new Map<number, Deno.NetAddr>();
  readonly #sweeper: ReturnType<typeof setInterval>;
  #refusing = 0;
  #refusalDone: (() => void) | undefined;
  #stopped = false;
  #onEmpty: (() => void) | undefined;
  #backendPort: number;
  /** Resolves when the accept loop has ended. */
  readonly finished: Promise<void>;

  /** Listens on `hostname:port` and starts relaying. */
  constructor(options: FrontOptions) {
    this.#options = options;
    this.#backendPort = options.backendPort;
    this.#listener = Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    const shortest = Math.min(options.headerTimeoutMs, options.idleTimeoutMs);
    this.#sweeper = setInterval(() => this.#sweep(), Math.min(1_000, Math.max(20, Math.floor(shortest / 4))));
    this.finished = this.#acceptLoop();
  }

  /** The listening address. */
  get addr(): Deno.NetAddr {
    return this.#listener.addr;
  }

  /** Open client connections. */
  get open(): number {
    return this.#relays.size;
  }

  /** The client address of the relay whose connection to the HTTP server comes from `backendLocalPort`. */
  clientOf(backendLocalPort: number): Deno.NetAddr | undefined {
    return this.#byBackendPort.get(backendLocalPort);
  }

  /** Relays new connections to the HTTP server on this loopback port (after it was restarted). */
  set backendPort(port: number) {
    this.#backendPort = port;
  }

  /** Stops accepting new connections (open ones continue). */
  stopAccepting(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
  }

  /**
   * Waits until every connection has ended (the HTTP server closes its side after its last
   * response; the relay then delivers the rest), or `timeoutMs` passed.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#relays.size === 0) return;
    await within(new Promise<void>((resolve) => this.#onEmpty = resolve), timeoutMs);
    this.#onEmpty = undefined;
  }

  /** Stops accepting and closes every open connection. */
  closeAll(): void {
    this.stopAccepting();
    clearInterval(this.#sweeper);
    for (const relay of [...this.#relays]) this.#close(relay);
  }

  async #acceptLoop(): Promise<void> {
    while (!this.#stopped) {
      while (this.#refusing >= MAX_REFUSING) {
        await new Promise<void>((resolve) => this.#refusalDone = resolve);
      }
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (this.#stopped || error instanceof Deno.errors.BadResource) return;
        this.#options.onAcceptError?.(error instanceof Error ? error : new Error(String(error)));
        // Out of file descriptors (EMFILE) or similar: the connection waits in the backlog.
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.TcpConn): void {
    const options = this.#options;
    const remote = conn.remoteAddr;
    const key = clientKey(remote.hostname);
    const held = this.#byKey.get(key)?.size ?? 0;
    if (held >= options.maxConnectionsPerIp) {
      options.onRefused?.("max_connections_per_ip");
      this.#refuse(
        conn,
        cannedResponse(
          429,
          `your address has ${held} open connections (max ${options.maxConnectionsPerIp}, ` +
            "http.max_connections_per_ip); reuse connections or close some",
          5,
        ),
      );
      return;
    }
    if (this.#relays.size >= options.maxConnections && !this.#makeRoomFor(held)) {
      options.onRefused?.("max_connections");
      this.#refuse(
        conn,
        cannedResponse(
          503,
          `the server has ${options.maxConnections} open connections (http.max_connections); retry later`,
          5,
        ),
      );
      return;
    }
    const now = performance.now();
    const relay: Relay = {
      client: conn,
      key,
      phase: "head",
      headDeadline: now + options.headerTimeoutMs,
      newlines: 0,
      lastActivity: now,
      closed: false,
    };
    this.#relays.add(relay);
    const own = this.#byKey.get(key);
    if (own) own.add(relay);
    else this.#byKey.set(key, new Set([relay]));
    options.onOpen?.(this.#relays.size);
    this.#relay(relay, remote).catch(() => this.#close(relay));
  }

  /**
   * At the connection cap, closes the oldest connection still waiting for its request head of the
   * address holding the most connections, if that address holds at least two more than the newcomer's
   * (`held`): a few addresses cannot take every connection, only as many addresses as there are
   * connections can. Connections in a request or a response are never closed for this.
   */
  #makeRoomFor(held: number): boolean {
    let most: Set<Relay> | undefined;
    for (const relays of this.#byKey.values()) {
      if (most === undefined || relays.size > most.size) most = relays;
    }
    if (most === undefined || most.size < held + 2) return false;
    for (const relay of most) {
      if (relay.phase !== "head") continue;
      this.#options.onTimeout?.("evicted");
      this.#close(relay);
      return true;
    }
    return false;
  }

  /**
   * Answers a refused connection and closes it: waits briefly for its request (so closing does not
   * reset it and lose the answer), writes the answer, half-closes, and waits briefly for the client
   * to close.
   */
  #refuse(conn: Deno.TcpConn, response: Uint8Array): void {
    this.#refusing++;
    (async () => {
      const buffer = new Uint8Array(4096);
      try {
        await within(conn.read(buffer).catch(() => null), REFUSE_READ_MS);
        await writeAll(conn, response);
        await conn.closeWrite();
        await within(
          (async () => {
            while ((await conn.read(buffer)) !== null) { /* the rest of the request */ }
          })().catch(() => {}),
          REFUSE_DRAIN_MS,
        );
      } catch {
        // the client went away
      } finally {
        closeQuietly(conn);
        this.#refusing--;
        this.#refusalDone?.();
      }
    })();
  }

  async #relay(relay: Relay, remote: Deno.NetAddr): Promise<void> {
    const backend = await Deno.connect({ hostname: "127.0.0.1", port: this.#backendPort });
    if (relay.closed) {
      closeQuietly(backend);
      return;
    }
    relay.backend = backend;
    relay.backendPort = backend.localAddr.port;
    this.#byBackendPort.set(relay.backendPort, remote);
    relay.client.setNoDelay(true);
    backend.setNoDelay(true);
    const up = this.#pump(relay.client, backend, UP_BUFFER, (bytes) => this.#fromClient(relay, bytes));
    const down = this.#pump(backend, relay.client, DOWN_BUFFER, () => {
      relay.phase = "response";
      relay.lastActivity = performance.now();
    });
    up.then(async (end) => {
      // The client closed its sending side: pass it on and let the response finish.
      if (end === "eof") await backend.closeWrite().catch(() => this.#close(relay));
      else this.#close(relay);
    });
    await down;
    this.#close(relay);
  }

  /** Tracks request heads in the client's bytes. */
  #fromClient(relay: Relay, bytes: Uint8Array): void {
    const now = performance.now();
    relay.lastActivity = now;
    if (relay.http2 === undefined) {
      relay.http2 = bytes.length >= 3 && bytes[0] === 0x50 && bytes[1] === 0x52 && bytes[2] === 0x49; // "PRI"
      if (relay.http2) relay.phase = "response";
    }
    if (relay.http2) return;
    if (relay.phase === "response") {
      relay.phase = "head";
      relay.headDeadline = now + this.#options.headerTimeoutMs;
      relay.newlines = 0;
    }
    if (relay.phase !== "head") return;
    let newlines = relay.newlines;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 10) {
        if (++newlines === 2) {
          relay.phase = "request";
          break;
        }
      } else if (b !== 13) newlines = 0;
    }
    relay.newlines = newlines;
  }

  /** Copies `from` to `to` until `from` ends ("eof") or either side fails ("error"). */
  async #pump(
    from: Deno.Conn,
    to: Deno.Conn,
    size: number,
    onBytes: (bytes: Uint8Array) => void,
  ): Promise<"eof" | "error"> {
    const buffer = new Uint8Array(size);
    for (;;) {
      let n: number | null;
      try {
        n = await from.read(buffer);
      } catch {
        return "error";
      }
      if (n === null) return "eof";
      const chunk = buffer.subarray(0, n);
      onBytes(chunk);
      try {
        await writeAll(to, chunk);
      } catch {
        return "error";
      }
    }
  }

  #sweep(): void {
    const now = performance.now();
    const { idleTimeoutMs, onTimeout } = this.#options;
    for (const relay of this.#relays) {
      if (relay.phase === "head" && now > relay.headDeadline) {
        onTimeout?.("header_timeout");
        this.#close(relay);
      } else if (relay.phase === "response" && now - relay.lastActivity > idleTimeoutMs) {
        onTimeout?.("idle_timeout");
        this.#close(relay);
      }
    }
  }

  #close(relay: Relay): void {
    if (relay.closed) return;
    relay.closed = true;
    closeQuietly(relay.client);
    closeQuietly(relay.backend);
    if (relay.backendPort !== undefined) this.#byBackendPort.delete(relay.backendPort);
    this.#relays.delete(relay);
    const own = this.#byKey.get(relay.key);
    own?.delete(relay);
    if (own?.size === 0) this.#byKey.delete(relay.key);
    this.#options.onOpen?.(this.#relays.size);
    if (this.#relays.size === 0) this.#onEmpty?.();
  }
}
