/**
 * A minimal Server-Sent Events reader for tests and the benchmark.
 *
 * @module
 */

/** One SSE event. */
export interface SseEvent {
  event: string;
  id?: string;
  data: string;
}

function parseBlock(block: string): SseEvent | undefined {
  const event: SseEvent = { event: "message", data: "" };
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event.event = value;
    else if (field === "id") event.id = value;
    else if (field === "data") data.push(value);
  }
  event.data = data.join("\n");
  return data.length > 0 ? event : undefined;
}

/** Streams the events of `url` (comments and data-less blocks skipped) to `onEvent` until `signal` aborts. */
export async function streamSse(
  url: string,
  signal: AbortSignal,
  onEvent: (event: SseEvent) => void,
  headers: Record<string, string> = {},
): Promise<void> {
  try {
    const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal });
    if (!response.ok || !response.body) throw new Error(`SSE ${url}: HTTP ${response.status}`);
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
          const event = parseBlock(buffer.slice(0, boundary));
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
