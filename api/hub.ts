/**
 * In-process publish/subscribe with bounded memory.
 *
 * Every subscriber has a fixed-size queue. `publish()` never blocks and never grows memory: when
 * a subscriber's queue is full (a slow or stuck client), that subscriber is closed with reason
 * `overflow` and removed; its owner notices and ends the stream (SSE clients then reconnect and
 * replay from `Last-Event-ID`). A hub may also keep a ring buffer of the last N items for replay.
 *
 * @module
 */

/** Why a subscription ended. */
export type CloseReason = "unsubscribed" | "overflow" | "hub_closed";

/** A fixed-capacity ring buffer that overwrites its oldest item when full. */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #start = 0;
  #size = 0;

  /** Creates a ring buffer holding at most `capacity` items (0 keeps nothing). */
  constructor(readonly capacity: number) {
    this.#items = new Array<T | undefined>(Math.max(0, capacity));
  }

  /** Number of items held. */
  get size(): number {
    return this.#size;
  }

  /** Appends an item, dropping the oldest one when full. */
  push(item: T): void {
    if (this.capacity === 0) return;
    if (this.#size < this.capacity) {
      this.#items[(this.#start + this.#size) % this.capacity] = item;
      this.#size++;
    } else {
      this.#items[this.#start] = item;
      this.#start = (this.#start + 1) % this.capacity;
    }
  }

  /** The items, oldest first (a copy). */
  toArray(): T[] {
    const out: T[] = new Array<T>(this.#size);
    for (let i = 0; i < this.#size; i++) out[i] = this.#items[(this.#start + i) % this.capacity] as T;
    return out;
  }

  /** The oldest item, if any. */
  first(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#start];
  }
}

/** Options of one subscription. */
export interface SubscribeOptions<T> {
  /**
   * Called synchronously in `publish()` for every item: return false to skip it (filters, rate
   * limits). Must be cheap and must not throw (a throwing filter skips the item).
   */
  accept?: (item: T) => boolean;
  /** Queue capacity; defaults to the hub's `queueCapacity`. */
  capacity?: number;
  /** Called once when the subscription ends, with the reason. */
  onClose?: (reason: CloseReason) => void;
}

/** One subscriber's bounded queue. Obtain with `Hub.subscribe()`. */
export class Subscription<T> {
  readonly #queue: (T | undefined)[];
  #head = 0;
  #size = 0;
  #wake: (() => void) | undefined;
  #closeReason: CloseReason | undefined;
  readonly #onClose: ((reason: CloseReason) => void) | undefined;
  readonly #detach: (sub: Subscription<T>) => void;
  /** @internal */
  readonly accept: ((item: T) => boolean) | undefined;

  /** @internal Use `Hub.subscribe()`. */
  constructor(capacity: number, options: SubscribeOptions<T>, detach: (sub: Subscription<T>) => void) {
    this.#queue = new Array<T | undefined>(Math.max(1, capacity));
    this.accept = options.accept;
    this.#onClose = options.onClose;
    this.#detach = detach;
  }

  /** Queue capacity. */
  get capacity(): number {
    return this.#queue.length;
  }

  /** Items waiting to be taken. */
  get size(): number {
    return this.#size;
  }

  /** Whether the subscription has ended (queued items may still be taken). */
  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Why the subscription ended, if it has. */
  get closeReason(): CloseReason | undefined {
    return this.#closeReason;
  }

  /** @internal Enqueues; returns false (and closes with `overflow`) when the queue is full. */
  offer(item: T): boolean {
    if (this.#closeReason !== undefined) return false;
    const capacity = this.#queue.length;
    if (this.#size === capacity) {
      this.end("overflow");
      return false;
    }
    this.#queue[(this.#head + this.#size) % capacity] = item;
    this.#size++;
    this.#notify();
    return true;
  }

  /** Removes and returns up to `max` queued items, oldest first. */
  take(max: number = Number.POSITIVE_INFINITY): T[] {
    const n = Math.min(max, this.#size);
    const out: T[] = new Array<T>(n);
    const capacity = this.#queue.length;
    for (let i = 0; i < n; i++) {
      out[i] = this.#queue[this.#head] as T;
      this.#queue[this.#head] = undefined;
      this.#head = (this.#head + 1) % capacity;
    }
    this.#size -= n;
    return out;
  }

  /**
   * Waits until an item is queued, the subscription closes, `timeoutMs` passes or `signal` aborts.
   * Resolves `true` when items are available or the subscription is closed, `false` otherwise.
   */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#size > 0 || this.#closeReason !== undefined) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const finish = (ready: boolean) => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (this.#wake === onWake) this.#wake = undefined;
        resolve(ready);
      };
      const onWake = () => finish(true);
      const onAbort = () => finish(false);
      this.#wake = onWake;
      timer = setTimeout(() => finish(false), Math.max(0, timeoutMs));
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Ends the subscription (idempotent). */
  close(): void {
    this.end("unsubscribed");
  }

  /** @internal */
  end(reason: CloseReason): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    this.#detach(this);
    this.#notify();
    try {
      this.#onClose?.(reason);
    } catch {
      // a failing close callback must not break publish()
    }
  }

  #notify(): void {
    const wake = this.#wake;
    if (wake) {
      this.#wake = undefined;
      wake();
    }
  }

  /** Iterates queued and future items until the subscription closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    while (true) {
      const items = this.take();
      for (const item of items) yield item;
      if (this.#closeReason !== undefined && this.#size === 0) return;
      if (items.length === 0) await this.wait(60_000);
    }
  }
}

/** Options of a hub. */
export interface HubOptions {
  /** Default per-subscriber queue capacity (default 1024). */
  queueCapacity?: number;
  /** Size of the replay ring buffer of the most recent items (default 0: none). */
  replay?: number;
}

/** Hub counters. */
export interface HubStats {
  /** Items passed to `publish()`. */
  published: number;
  /** Subscribers closed because their queue was full. */
  overflowed: number;
  /** Current subscribers. */
  subscribers: number;
}

/** A small fan-out pub/sub with bounded per-subscriber queues and an optional replay ring. */
export class Hub<T> {
  readonly #subs = new Set<Subscription<T>>();
  readonly #ring: RingBuffer<T>;
  readonly #queueCapacity: number;
  #published = 0;
  #overflowed = 0;
  #closed = false;

  /** Creates a hub. */
  constructor(options: HubOptions = {}) {
    this.#queueCapacity = Math.max(1, options.queueCapacity ?? 1024);
    this.#ring = new RingBuffer<T>(options.replay ?? 0);
  }

  /** Delivers `item` to every subscriber that accepts it; never blocks, never grows memory. */
  publish(item: T): void {
    this.#published++;
    this.#ring.push(item);
    for (const sub of this.#subs) {
      const accept = sub.accept;
      if (accept) {
        let ok: boolean;
        try {
          ok = accept(item);
        } catch {
          ok = false;
        }
        if (!ok) continue;
      }
      if (!sub.offer(item)) this.#overflowed++;
    }
  }

  /** Adds a subscriber; close it with `Subscription.close()` when done. */
  subscribe(options: SubscribeOptions<T> = {}): Subscription<T> {
    const sub = new Subscription<T>(
      options.capacity ?? this.#queueCapacity,
      options,
      (s) => this.#subs.delete(s),
    );
    if (this.#closed) sub.end("hub_closed");
    else this.#subs.add(sub);
    return sub;
  }

  /** The replay ring's items, oldest first. */
  recent(): T[] {
    return this.#ring.toArray();
  }

  /** The oldest item still in the replay ring. */
  oldestRecent(): T | undefined {
    return this.#ring.first();
  }

  /** Current number of subscribers. */
  get subscriberCount(): number {
    return this.#subs.size;
  }

  /** Counters for monitoring. */
  stats(): HubStats {
    return { published: this.#published, overflowed: this.#overflowed, subscribers: this.#subs.size };
  }

  /** Closes every subscription (reason `hub_closed`); later subscriptions are closed at once. */
  close(): void {
    this.#closed = true;
    for (const sub of [...this.#subs]) sub.end("hub_closed");
  }
}
