/**
 * Per-client limits of the HTTP API, keyed by `clientKey` (api/client.ts): requests in progress, SSE
 * stream slots (a global cap shared fairly), and a token bucket of wrong API tokens. Pure state with
 * an injectable clock; the routes turn refusals into 429/503 JSON errors.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { requestClient } from "./client.ts";
import { ApiError } from "./errors.ts";

/** Counts things held per key, up to `perKey` each. */
export class KeyedCounter {
  readonly #counts = new Map<string, number>();

  /** Creates a counter allowing `perKey` per key. */
  constructor(readonly perKey: number) {}

  /** Takes one for `key`; false when `key` already holds `perKey`. */
  tryAcquire(key: string): boolean {
    const held = this.#counts.get(key) ?? 0;
    if (held >= this.perKey) return false;
    this.#counts.set(key, held + 1);
    return true;
  }

  /** Gives one back. */
  release(key: string): void {
    const held = (this.#counts.get(key) ?? 0) - 1;
    if (held <= 0) this.#counts.delete(key);
    else this.#counts.set(key, held);
  }

  /** How many `key` holds. */
  held(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** Keys holding at least one. */
  get keys(): number {
    return this.#counts.size;
  }
}

/**
 * Middleware: at most `max` requests in progress per client; more get a 429 with `Retry-After`.
 * `onRefuse` counts refusals.
 */
export function limitRequestsPerClient(max: number, onRefuse: () => void = () => {}): MiddlewareHandler {
  const inFlight = new KeyedCounter(max);
  return async (c, next) => {
    const client = requestClient(c);
    if (!inFlight.tryAcquire(client)) {
      onRefuse();
      throw new ApiError(
        429,
        `too many requests in progress from your address (max ${max}, http.max_requests_per_ip); ` +
          "wait for answers before sending more",
        undefined,
        { "Retry-After": "1" },
      );
    }
    try {
      await next();
    } finally {
      inFlight.release(client);
    }
  };
}

/** A held SSE slot. */
export interface SseSlot {
  /** Frees the slot (idempotent). */
  release(): void;
}

interface SlotEntry {
  client: string;
  evict: () => void;
  released: boolean;
}

/** Why a slot was refused. */
export type SseRefusal = "client_limit" | "full";

/**
 * Slots of one SSE stream: at most `max` in all and `perClient` per client. When every slot is
 * taken, a newcomer takes the oldest slot of the client holding the most, if that client holds at
 * least two more than the newcomer (that stream ends and its client reconnects later): a few
 * clients cannot take the stream over, only as many distinct clients as there are slots can fill it.
 */
export class SseSlots {
  readonly #byClient = new Map<string, SlotEntry[]>();
  #count = 0;

  /** Creates the slots of one stream. */
  constructor(readonly max: number, readonly perClient: number) {}

  /** Slots in use. */
  get count(): number {
    return this.#count;
  }

  /** Takes a slot for `client`; `evict` ends the stream if the slot is taken away later. */
  acquire(client: string, evict: () => void): SseSlot | SseRefusal {
    const own = this.#byClient.get(client) ?? [];
    if (own.length >= this.perClient) return "client_limit";
    if (this.#count >= this.max) {
      let victim: SlotEntry[] | undefined;
      for (const entries of this.#byClient.values()) {
        if (victim === undefined || entries.length > victim.length) victim = entries;
      }
      if (victim === undefined || victim.length < own.length + 2) return "full";
      const oldest = victim[0];
      this.#remove(oldest);
      oldest.evict();
    }
    const entry: SlotEntry = { client, evict, released: false };
    own.push(entry);
    this.#byClient.set(client, own);
    this.#count++;
    return { release: () => this.#remove(entry) };
  }

  #remove(entry: SlotEntry): void {
    if (entry.released) return;
    entry.released = true;
    this.#count--;
    const entries = this.#byClient.get(entry.client) ?? [];
    const index = entries.indexOf(entry);
    if (index >= 0) entries.splice(index, 1);
    if (entries.length === 0) this.#byClient.delete(entry.client);
  }
}

/** The ApiError for a refused SSE slot. */
export function sseRefusalError(stream: "alerts" | "events", refusal: SseRefusal, slots: SseSlots): ApiError {
  const what = stream === "alerts" ? "alert" : "event";
  if (refusal === "client_limit") {
    return new ApiError(
      429,
      `too many ${what} streams from your address (max ${slots.perClient}, http.sse_max_clients_per_ip); ` +
        "close other tabs or clients, then retry",
      undefined,
      { "Retry-After": "10" },
    );
  }
  return new ApiError(
    503,
    `every ${what} stream slot is taken (max ${slots.max}, http.sse_max_clients); retry later`,
    undefined,
    { "Retry-After": "10" },
  );
}

/**
 * A token bucket per client of wrong API tokens: `burst` at once, then one per `intervalMs`. A client
 * whose bucket is empty is refused (429) before its token is compared, right or wrong, so it cannot
 * use the refusals to tell a right guess. Clients that send right tokens never use the bucket. At most
 * `maxClients` buckets are kept (the oldest are forgotten first).
 */
export class AuthThrottle {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  /** Creates the throttle. */
  constructor(
    readonly burst: number,
    readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
    readonly maxClients = 10_000,
  ) {}

  #refilled(client: string): { tokens: number; at: number } | undefined {
    const bucket = this.#buckets.get(client);
    if (bucket === undefined) return undefined;
    const t = this.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + (t - bucket.at) / this.intervalMs);
    bucket.at = t;
    if (bucket.tokens >= this.burst) {
      this.#buckets.delete(client);
      return undefined;
    }
    return bucket;
  }

  /** Milliseconds until `client` may present a token again; 0 when it may now. */
  blockedFor(client: string): number {
    const bucket = this.#refilled(client);
    if (bucket === undefined || bucket.tokens >= 1) return 0;
    return Math.ceil((1 - bucket.tokens) * this.intervalMs);
  }

  /** Records a wrong token from `client`. */
  fail(client: string): void {
    const bucket = this.#refilled(client) ?? { tokens: this.burst, at: this.now() };
    bucket.tokens = Math.max(0, bucket.tokens - 1);
    this.#buckets.delete(client);
    this.#buckets.set(client, bucket);
    while (this.#buckets.size > this.maxClients) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest === undefined) break;
      this.#buckets.delete(oldest);
    }
  }

  /** Clients with a partly used bucket. */
  get tracked(): number {
    return this.#buckets.size;
  }
}
