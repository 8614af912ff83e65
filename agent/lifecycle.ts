/**
 * The agent's shutdown order: each part registers how to stop it right after it started, and the
 * parts stop in reverse (the consumer groups before the store they write to, the store before the
 * producer, ...).
 *
 * @module
 */
import type { Logger } from "../lib/log.ts";

/** How to stop one started part. */
export type Stopper = () => Promise<void> | void;

/** The started parts, stopped last first. */
export class Lifecycle {
  readonly #stoppers: Stopper[] = [];
  readonly #log: Logger;

  /** Errors while stopping go to `log`. */
  constructor(log: Logger) {
    this.#log = log;
  }

  /** Registers how to stop the part that just started. */
  onStop(stop: Stopper): void {
    this.#stoppers.push(stop);
  }

  /** Stops every part, the last started first; an error is logged and the others still stop. */
  async stopAll(): Promise<void> {
    while (this.#stoppers.length > 0) {
      try {
        await this.#stoppers.pop()!();
      } catch (error) {
        this.#log.warn("error while stopping", { error });
      }
    }
  }
}
