/**
 * CPU profile of the agent subprocess through the V8 inspector protocol (the agent runs with
 * `--inspect=127.0.0.1:<port>`): start/stop the sampling profiler, save the `.cpuprofile` (open it
 * in Chrome DevTools or speedscope) and summarize self time per function and per file.
 *
 * @module
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

/** A V8 CPU profile (`Profiler.stop` result). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time of one function or file. */
export interface HotSpot {
  name: string;
  selfMs: number;
  share: number;
}

/** A connected inspector session. */
export class Profiler {
  readonly #socket: WebSocket;
  #nextId = 1;
  readonly #pending = new Map<number, (result: unknown) => void>();

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message: { id?: number; result?: unknown; error?: { message: string } } = JSON.parse(
        String(event.data),
      );
      if (message.id === undefined) return;
      const resolve = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      resolve?.(message.error ? new Error(message.error.message) : message.result);
    };
  }

  /** Connects to the inspector listening on `port` (first target). */
  static async connect(port: number): Promise<Profiler> {
    const deadline = Date.now() + 10_000;
    let url: string | undefined;
    while (url === undefined) {
      try {
        const targets: { webSocketDebuggerUrl: string }[] = await (await fetch(
          `http://127.0.0.1:${port}/json/list`,
        )).json();
        url = targets[0]?.webSocketDebuggerUrl;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.onopen = () => resolve();
      socket.onerror = () => reject(new Error(`inspector websocket ${url} failed`));
    });
    return new Profiler(socket);
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    this.#pending.set(id, (result) => result instanceof Error ? reject(result) : resolve(result));
    this.#socket.send(JSON.stringify({ id, method, params }));
    return promise;
  }

  /** Starts sampling every `intervalUs` microseconds. */
  async start(intervalUs = 1000): Promise<void> {
    await this.#call("Profiler.enable");
    await this.#call("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.#call("Profiler.start");
  }

  /** Stops sampling and returns the profile. */
  async stop(): Promise<CpuProfile> {
    const result = await this.#call("Profiler.stop") as { profile: CpuProfile };
    return result.profile;
  }

  /** Closes the session. */
  close(): void {
    this.#socket.close();
  }
}

function shortUrl(url: string): string {
  const marker = url.indexOf("node_modules/.deno/");
  if (marker >= 0) return url.slice(marker + "node_modules/.deno/".length).replace(/\/node_modules\//, ":");
  const root = url.lastIndexOf("/main/");
  return root >= 0 ? url.slice(root + 6) : url.replace(/^file:\/\//, "");
}

/** Self time per function and per file, biggest first. */
export function summarize(profile: CpuProfile, top = 25): { functions: HotSpot[]; files: HotSpot[] } {
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; attribute the next delta to sample i.
    const dt = deltas[i + 1] ?? 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  const total = [...selfUs.values()].reduce((sum, value) => sum + value, 0) || 1;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const frame = node.callFrame;
    const file = frame.url ? shortUrl(frame.url) : `(${frame.functionName || "native"})`;
    const fn = `${frame.functionName || "(anonymous)"} ${file}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const rank = (map: Map<string, number>) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({
      name,
      selfMs: Math.round(us / 1000),
      share: Math.round((us / total) * 1000) / 10,
    }));
  return { functions: rank(byFunction), files: rank(byFile) };
}
