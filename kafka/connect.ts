/**
 * Waiting for the broker at start: `run` may start before the broker (a device booting, Redpanda
 * recovering its log). The agent then serves HTTP, says why it is not ready, and retries with
 * backoff until the broker answers (its topics are checked and created) or `kafka.connect_timeout`
 * runs out.
 *
 * @module
 */
import type { Admin } from "@platformatic/kafka";
import type { Config } from "../config/schema.ts";
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { formatDuration } from "../lib/duration.ts";
import { ensureTopics } from "./topics.ts";

/** Whether the agent has reached the broker yet (readiness reads it). */
export class BrokerLink {
  readonly brokers: string;
  #connected = false;
  #since = Date.now();
  #lastError = "not tried yet";
  readonly #timeoutMs: number;

  /** The link to `config.kafka.brokers`, not connected yet. */
  constructor(config: Config) {
    this.brokers = config.kafka.brokers.join(",");
    this.#timeoutMs = config.kafka.connect_timeout;
  }

  /** True once the broker answered at start. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Why the agent is not connected yet; undefined once it is. */
  waitingReason(nowMs: number = Date.now()): string | undefined {
    if (this.#connected) return undefined;
    const limit = this.#timeoutMs > 0 ? `gives up after ${formatDuration(this.#timeoutMs)}` : "waits forever";
    return `waiting for the broker at ${this.brokers} for ${Math.round((nowMs - this.#since) / 1000)} s ` +
      `(kafka.connect_timeout ${limit}): ${this.#lastError}`;
  }

  /** Records a failed attempt. */
  failed(error: unknown): void {
    this.#lastError = describeError(error);
  }

  /** Records the first answer. */
  reached(): void {
    this.#connected = true;
  }
}

/** Resolves after `ms`, or early when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/**
 * Waits until the broker answers and the agent's topics exist (created when missing), retrying
 * with backoff (0.5 s doubling up to 5 s). One log line when the wait starts and one when it ends.
 * Rejects after `kafka.connect_timeout` (unless 0) or when `signal` aborts.
 */
export async function waitForBroker(
  admin: Admin,
  config: Config,
  log: Logger,
  link: BrokerLink,
  signal?: AbortSignal,
): Promise<void> {
  const started = Date.now();
  const timeoutMs = config.kafka.connect_timeout;
  let delay = 500;
  for (let attempt = 1;; attempt++) {
    signal?.throwIfAborted();
    try {
      const created = await ensureTopics(admin, config);
      link.reached();
      if (attempt > 1) {
        log.info("broker reachable; starting", {
          brokers: link.brokers,
          waited_s: Math.round((Date.now() - started) / 100) / 10,
        });
      }
      if (created.length > 0) log.info("created topics", { topics: created });
      return;
    } catch (error) {
      link.failed(error);
      if (attempt === 1) {
        log.warn("broker not reachable; waiting for it (HTTP is served, /readyz says why)", {
          brokers: link.brokers,
          connect_timeout: timeoutMs > 0 ? formatDuration(timeoutMs) : "forever",
          error,
        });
      }
      const left = timeoutMs > 0 ? started + timeoutMs - Date.now() : Number.POSITIVE_INFINITY;
      if (left <= 0) {
        throw new Error(
          `the broker at ${link.brokers} did not answer within ${formatDuration(timeoutMs)} ` +
            `(kafka.connect_timeout): ${describeError(error)}`,
        );
      }
      await sleep(Math.min(delay, left), signal);
      delay = Math.min(delay * 2, 5_000);
    }
  }
}
