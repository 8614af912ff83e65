/**
 * Small async locks used by the store: a mutex (one writer / one maintenance job at a time) and a
 * readers-writer lock that keeps queries from seeing a Parquet file swap half done.
 *
 * @module
 */

/** A FIFO async mutex. */
export class Mutex {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier holder has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(() => undefined, () => undefined);
    return result;
  }
}

/** A readers-writer lock; writers wait for readers to drain and block new ones (no starvation). */
export class RwLock {
  #readers = 0;
  #writer = false;
  #waitingWriters = 0;
  #queue: (() => void)[] = [];

  /** Runs `fn` holding a shared lock. */
  async read<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#writer || this.#waitingWriters > 0) await this.#wait();
    this.#readers++;
    try {
      return await fn();
    } finally {
      this.#readers--;
      this.#wake();
    }
  }

  /** Runs `fn` holding the exclusive lock. */
  async write<T>(fn: () => Promise<T>): Promise<T> {
    this.#waitingWriters++;
    try {
      while (this.#writer || this.#readers > 0) await this.#wait();
    } finally {
      this.#waitingWriters--;
    }
    this.#writer = true;
    try {
      return await fn();
    } finally {
      this.#writer = false;
      this.#wake();
    }
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  #wake(): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const resolve of queue) resolve();
  }
}
