/**
 * Minimal Server-Sent Events readers for the tests and the benchmark: {@link streamSse} and
 * {@link readSse} over HTTP, {@link SseReader} over a response body (the in-memory app's).
 *
 * @module
 */

/** One SSE event (a block with data). */
export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

/** One parsed server-sent event block: its fields as sent, and its last comment line. */
export interface SseMessage {
  event?: string;
  data?: string;
  id?: string;
  retry?: number;
  comment?: string;
}

/** Parses one block (the text between two blank lines) of a `text/event-stream`. */
export function parseSseBlock(block: string): SseMessage {
  const message: SseMessage = {};
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      message.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") message.event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") message.id = value;
    else if (field === "retry") message.retry = Number(value);
  }
  if (data.length > 0) message.data = data.join("\n");
  return message;
}

/** The event of a block, as an EventSource dispatches it (none for a block without data). */
function eventOf(block: string): SseEvent | undefined {
  const { event = "message", id, data } = parseSseBlock(block);
  if (data === undefined) return undefined;
  return id === undefined ? { event, data } : { event, id, data };
}

/**
 * Streams the events of `url` (comments and data-less blocks skipped) to `onEvent` until `signal` aborts;
 * `onOpen` is called with the response once its headers arrived.
 */
export async function streamSse(
  url: string,
  signal: AbortSignal,
  onEvent: (event: SseEvent) => void,
  headers: Record<string, string> = {},
  onOpen: (response: Response) => void = () => {},
): Promise<void> {
  try {
    const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal });
    if (!response.ok || !response.body) throw new Error(`SSE ${url}: HTTP ${response.status}`);
    onOpen(response);
    const decoder = new TextDecoder();
    let buffer = "";
    // Aborting the fetch does not always end a body that is already streaming (seen after long
    // bench runs): cancel the reader too, so the loop below ends.
    const reader = response.body.getReader();
    const cancel = () => void reader.cancel().catch(() => undefined);
    signal.addEventListener("abort", cancel, { once: true });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let boundary;
        while ((boundary = buffer.indexOf("\n\n")) >= 0) {
          const event = eventOf(buffer.slice(0, boundary));
          buffer = buffer.slice(boundary + 2);
          if (event) onEvent(event);
        }
      }
    } finally {
      signal.removeEventListener("abort", cancel);
    }
  } catch (error) {
    if (!(error instanceof DOMException && error.name === "AbortError")) throw error;
  }
}

/** Reads up to `count` events (pings excluded) from `url`, or what arrived within `timeoutMs`. */
export async function readSse(
  url: string,
  count: number,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const events: SseEvent[] = [];
  try {
    await streamSse(url, controller.signal, (event) => {
      if (event.event === "ping" || events.length >= count) return;
      events.push(event);
      if (events.length >= count) controller.abort();
    }, headers);
  } finally {
    clearTimeout(timer);
  }
  return events;
}

/** Reads server-sent events from a response body. */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  readonly #queue: SseMessage[] = [];
  /** Every message read so far. */
  readonly seen: SseMessage[] = [];

  constructor(res: Response) {
    if (!res.body) throw new Error("response has no body");
    this.#reader = res.body.getReader();
  }

  #parseBlocks(): void {
    let idx: number;
    while ((idx = this.#buffer.indexOf("\n\n")) >= 0) {
      const message = parseSseBlock(this.#buffer.slice(0, idx));
      this.#buffer = this.#buffer.slice(idx + 2);
      this.#queue.push(message);
      this.seen.push(message);
    }
  }

  /** The next message; rejects after `timeoutMs`. */
  async next(timeoutMs = 2_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for an SSE message");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), left));
      const result = await Promise.race([this.#reader.read(), timeout]);
      clearTimeout(timer);
      if (result === "timeout") continue;
      if (result.done) throw new Error("stream ended");
      this.#buffer += this.#decoder.decode(result.value, { stream: true });
      this.#parseBlocks();
    }
    return this.#queue.shift() as SseMessage;
  }

  /** Reads until a message matches; returns it. */
  async until(pred: (m: SseMessage) => boolean, timeoutMs = 2_000): Promise<SseMessage> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const m = await this.next(Math.max(1, deadline - Date.now()));
      if (pred(m)) return m;
    }
  }

  /** Reads `n` messages with an `event` field of `event`. */
  async events(event: string, n: number, timeoutMs = 2_000): Promise<SseMessage[]> {
    const out: SseMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      out.push(await this.until((m) => m.event === event, Math.max(1, deadline - Date.now())));
    }
    return out;
  }

  /** Whether the stream ends (server closed it) within `timeoutMs`. */
  async ended(timeoutMs = 2_000): Promise<boolean> {
    try {
      while (true) await this.next(timeoutMs);
    } catch (err) {
      return err instanceof Error && err.message === "stream ended";
    }
  }

  /** Cancels the body (the client goes away) and lets the server clean up. */
  async close(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
    await new Promise((r) => setTimeout(r, 20));
  }
}
