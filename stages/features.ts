/**
 * Features stage: rolling statistics per series (`tenant|host|metric`) over event-time sliding
 * windows. Deterministic and timer-free: time only comes from event timestamps.
 *
 * Semantics:
 * - A window `W` as of time `t` holds the events with `t - W < ts <= t`, where `t` is the series'
 *   newest event time. Every update returns one record per configured window (config order), as of
 *   the newest event, so a late event changes the windows it falls in but not the "as of" time.
 * - An event older than `newest - allowed_lateness` is dropped (`lateDropped`, returns undefined);
 *   an older-than-newest event within lateness is inserted in time order (`outOfOrder`).
 * - Stats: `count`, `avg`, `min`, `max`, `last` (value of the newest event by time), `ewma` (per
 *   series, in arrival order, `alpha` from config, seeded with the first value), `rate` ((last -
 *   first) / seconds between them; 0 when they share a timestamp), `counter_rate` (a counter's
 *   increase per second: the sum of the rises between consecutive events, a fall counted as a reset
 *   to 0, over the seconds between the first and last event), `zscore` ((last - avg) / population
 *   stddev; 0 when the stddev is 0).
 * - Memory: at most `max_series` series; events of a new series beyond that are refused
 *   (`seriesRefused`, returns undefined) until {@link FeatureEngine.evictIdle} frees room. Each series
 *   keeps only the events of its largest window, 12 bytes each in ring buffers of 1.5x that at most
 *   (5,000 series at 4 events/s and a 5m window: 6M samples, ~72-108 MB). Windows are at most 7d.
 *
 * Cost per in-order event: O(windows + log n) (running sums, monotonic min/max deques); an
 * out-of-order insert rebuilds that series' window state in O(n).
 *
 * @module
 */
import { type Config, MAX_FEATURE_WINDOW_MS } from "../config/schema.ts";
import type { Envelope } from "../model/envelope.ts";
import { SeriesMap } from "../lib/series_map.ts";
import type { FeatureRecord } from "../model/feature.ts";
import { formatDuration } from "../lib/duration.ts";

export { formatDuration };

/** The `features` section of the configuration (durations in ms). */
export type FeatureOptions = Config["features"];

/** Counters of a {@link FeatureEngine}. */
export interface FeatureStats {
  /** Series currently tracked. */
  series: number;
  /** Events accepted (in order or not). */
  updates: number;
  /** Events accepted although older than their series' newest event. */
  outOfOrder: number;
  /** Events dropped because they were older than `newest - allowed_lateness`. */
  lateDropped: number;
  /** Events of new series refused because `max_series` series were tracked. */
  seriesRefused: number;
  /** Series removed by `evictIdle`. */
  seriesEvicted: number;
}

/** A tracked series, as returned by {@link FeatureEngine.observe}: read its records through the engine. */
export interface FeatureSeries {
  readonly tenant: string;
  readonly host: string;
  readonly metric: string;
}

/** Feature records by window label, computed when asked (rules read one or two per event). */
export interface FeatureLookup {
  record(window: string): FeatureRecord | undefined;
}

interface Series extends FeatureSeries {
  readonly tenant: string;
  readonly host: string;
  readonly metric: string;
  /**
   * Event times and values, sorted by time, in ring buffers: sample `i` (an absolute index, only
   * ever growing) is at `i % capacity` (`ts.length`). Live from `head` to `end` (exclusive).
   * 12 bytes a sample (times as int32 milliseconds after `base`), no per-sample object, and no
   * copying as the window slides.
   */
  ts: Int32Array;
  vs: Float64Array;
  /** Epoch ms the stored times count from; moved forward when they would leave the int32 range. */
  base: number;
  head: number;
  end: number;
  newest: number;
  ewma: number;
  /** Shift applied to values in the running sums (limits cancellation). */
  ref: number;
  /** Monotonic deques of absolute sample indices, live from minHead/maxHead. */
  minQ: number[];
  minHead: number;
  maxQ: number[];
  maxHead: number;
  /**
   * Per window: absolute index of its oldest event, sums of (v - ref) and (v - ref)^2, and the
   * counter increase between its consecutive events ({@link counterIncrease}).
   */
  start: number[];
  sum: number[];
  sumSq: number[];
  increase: number[];
  /** Removals from the largest window since the sums were last recomputed. */
  removals: number;
}

/** Deques drop their dead front once it is this long and over half of them. */
const TRIM_MIN = 1_024;
const RESYNC_SLACK = 256;
/** Smallest ring capacity (samples); a ring shrinks back towards it when mostly empty. */
const RING_MIN = 16;

/**
 * A full ring grows by half (not double): a window's steady sample count then takes at most 1.5x
 * its slots, not 2x (5,000 series x 1,200 samples: 83 instead of 123 MB). Indexing is `i % capacity`
 * instead of a power-of-two mask; measured the same speed.
 */
function grownCapacity(capacity: number): number {
  return capacity + (capacity >> 1);
}
/**
 * Stored times stay below this many ms after `base` (2^30, 12.4 days); a later event moves `base`
 * to itself. Live samples are at most the largest window (at most {@link MAX_FEATURE_WINDOW_MS}) older than
 * the newest, so after a move they are above -2^31: every stored time fits an int32.
 */
const MAX_TIME_OFFSET = 2 ** 30;
const INT32_MIN = -(2 ** 31);

/** How much a counter rose from `previous` to `next`: a fall is a reset to 0, so the rise is `next`. */
export function counterIncrease(previous: number, next: number): number {
  return next >= previous ? next - previous : next;
}

/** Rolling window statistics per series. */
export class FeatureEngine {
  readonly #windows: readonly number[];
  readonly #labels: readonly string[];
  readonly #largest: number;
  readonly #largestIndex: number;
  readonly #alpha: number;
  readonly #lateness: number;
  readonly #maxSeries: number;
  readonly #idle: number;
  /** By tenant, host and metric: no key string built per event. */
  readonly #series = new SeriesMap<Series>();
  readonly #stats: Omit<FeatureStats, "series"> = {
    updates: 0,
    outOfOrder: 0,
    lateDropped: 0,
    seriesRefused: 0,
    seriesEvicted: 0,
  };

  /** Builds an engine from the `features` config section; throws on a window <= 0. */
  constructor(options: FeatureOptions) {
    if (options.windows.length === 0) throw new Error("features.windows: at least one window is required");
    options.windows.forEach((window, index) => {
      if (!(window > 0)) throw new Error(`features.windows[${index}]: a window must be longer than 0`);
      if (window > MAX_FEATURE_WINDOW_MS) {
        throw new Error(`features.windows[${index}]: a window must be at most 7d`);
      }
    });
    this.#windows = [...options.windows];
    this.#labels = this.#windows.map(formatDuration);
    this.#largest = Math.max(...this.#windows);
    this.#largestIndex = this.#windows.indexOf(this.#largest);
    this.#alpha = options.ewma_alpha;
    this.#lateness = options.allowed_lateness;
    this.#maxSeries = options.max_series;
    this.#idle = options.idle_eviction;
  }

  /** Window labels (`1m`, `5m`), in config order: the `window` field of the records. */
  get windowLabels(): readonly string[] {
    return this.#labels;
  }

  /** Number of series tracked. */
  get seriesCount(): number {
    return this.#series.size;
  }

  /** Counters since the engine was built. */
  stats(): FeatureStats {
    return { series: this.#series.size, ...this.#stats };
  }

  /**
   * Adds an event to its series and returns one record per window as of the series' newest event;
   * undefined when the event is too late or its (new) series was refused.
   */
  update(event: Envelope): FeatureRecord[] | undefined {
    const series = this.observe(event);
    return series === undefined ? undefined : this.recordsOf(series);
  }

  /**
   * Adds an event to its series, like {@link update}, but returns the series instead of building
   * its records: the hot path reads only the records a rule needs ({@link recordOf}) and, once per
   * batch, the latest of each series ({@link recordsOf}).
   */
  observe(event: Envelope): FeatureSeries | undefined {
    let series = this.#series.get(event.tenant, event.host, event.metric);
    const t = event.ts;
    const v = event.value;
    if (series === undefined) {
      if (this.#series.size >= this.#maxSeries) {
        this.#stats.seriesRefused++;
        return undefined;
      }
      series = this.#create(event);
      this.#series.set(event.tenant, event.host, event.metric, series);
    } else if (t < series.newest - this.#lateness) {
      this.#stats.lateDropped++;
      return undefined;
    }
    this.#stats.updates++;
    series.ewma = series.end === 0 ? v : this.#alpha * v + (1 - this.#alpha) * series.ewma;
    if (series.end === series.head || t >= series.newest) this.#append(series, t, v);
    else {
      this.#stats.outOfOrder++;
      if (t > series.newest - this.#largest) this.#insert(series, t, v);
    }
    return series;
  }

  /** One record per window (config order), as of the series' newest event. */
  recordsOf(series: FeatureSeries): FeatureRecord[] {
    const s = series as Series;
    const out: FeatureRecord[] = [];
    for (let k = 0; k < this.#windows.length; k++) out.push(this.#record(s, k));
    return out;
  }

  /** The record of the window labelled `window` (e.g. `1m`), as of the series' newest event. */
  recordOf(series: FeatureSeries, window: string): FeatureRecord | undefined {
    const k = this.#labels.indexOf(window);
    return k < 0 ? undefined : this.#record(series as Series, k);
  }

  /** Forgets one series (a rebuild from the store replaces it); true when it was tracked. */
  forget(tenant: string, host: string, metric: string): boolean {
    return this.#series.delete(tenant, host, metric);
  }

  /** Removes series whose newest event is more than `idle_eviction` before `nowEventMs`; returns how many. */
  evictIdle(nowEventMs: number): number {
    let evicted = 0;
    for (const series of this.#series.values()) {
      if (nowEventMs - series.newest > this.#idle) {
        this.#series.delete(series.tenant, series.host, series.metric);
        evicted++;
      }
    }
    this.#stats.seriesEvicted += evicted;
    return evicted;
  }

  #create(event: Envelope): Series {
    return {
      tenant: event.tenant,
      host: event.host,
      metric: event.metric,
      ts: new Int32Array(RING_MIN),
      vs: new Float64Array(RING_MIN),
      base: event.ts,
      head: 0,
      end: 0,
      newest: event.ts,
      ewma: event.value,
      ref: event.value,
      minQ: [],
      minHead: 0,
      maxQ: [],
      maxHead: 0,
      start: this.#windows.map(() => 0),
      sum: this.#windows.map(() => 0),
      sumSq: this.#windows.map(() => 0),
      increase: this.#windows.map(() => 0),
      removals: 0,
    };
  }

  #append(s: Series, t: number, v: number): void {
    if (s.end - s.head >= s.ts.length) this.#resize(s, grownCapacity(s.ts.length));
    if (t - s.base >= MAX_TIME_OFFSET) this.#rebase(s, t);
    const index = s.end;
    const { ts, vs, minQ, maxQ, base } = s;
    const capacity = ts.length;
    ts[index % capacity] = t - base;
    vs[index % capacity] = v;
    s.end = index + 1;
    s.newest = t;
    while (minQ.length > s.minHead && vs[minQ[minQ.length - 1] % capacity] >= v) minQ.pop();
    minQ.push(index);
    while (maxQ.length > s.maxHead && vs[maxQ[maxQ.length - 1] % capacity] <= v) maxQ.pop();
    maxQ.push(index);
    const d = v - s.ref;
    const rise = index > s.head ? counterIncrease(vs[(index - 1) % capacity], v) : 0;
    const windows = this.#windows;
    for (let k = 0; k < windows.length; k++) {
      s.sum[k] += d;
      s.sumSq[k] += d * d;
      // The rise from the previous sample counts where that sample is in the window.
      let st = s.start[k];
      if (st < index) s.increase[k] += rise;
      const edge = t - windows[k] - base;
      // The newest sample (t > edge) stops the scan.
      while (ts[st % capacity] <= edge) {
        const old = vs[st % capacity] - s.ref;
        s.sum[k] -= old;
        s.sumSq[k] -= old * old;
        // The rise from the leaving sample to the next one leaves with it.
        s.increase[k] -= counterIncrease(vs[st % capacity], vs[(st + 1) % capacity]);
        st++;
      }
      if (k === this.#largestIndex) s.removals += st - s.start[k];
      s.start[k] = st;
    }
    s.head = s.start[this.#largestIndex];
    this.#trimDeques(s);
    const live = s.end - s.head;
    if (s.ts.length > RING_MIN && live * 4 < s.ts.length) {
      this.#resize(s, Math.max(RING_MIN, s.ts.length >> 1));
    }
    if (s.removals > live + RESYNC_SLACK) this.#resync(s);
  }

  #insert(s: Series, t: number, v: number): void {
    if (s.end - s.head >= s.ts.length) this.#resize(s, grownCapacity(s.ts.length));
    const { ts, vs } = s;
    const capacity = ts.length;
    // Older than the newest by less than the largest window: above -2^31 after base (see MAX_TIME_OFFSET).
    const offset = t - s.base;
    // First index whose time is after t (equal times keep arrival order).
    let lo = s.head;
    let hi = s.end;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (ts[mid % capacity] <= offset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = s.end; i > lo; i--) {
      ts[i % capacity] = ts[(i - 1) % capacity];
      vs[i % capacity] = vs[(i - 1) % capacity];
    }
    ts[lo % capacity] = offset;
    vs[lo % capacity] = v;
    s.end++;
    this.#rebuild(s);
  }

  /** Moves the live samples into rings of `capacity`, at the same absolute indices. */
  #resize(s: Series, capacity: number): void {
    const ts = new Int32Array(capacity);
    const vs = new Float64Array(capacity);
    for (let i = s.head; i < s.end; i++) {
      ts[i % capacity] = s.ts[i % s.ts.length];
      vs[i % capacity] = s.vs[i % s.ts.length];
    }
    s.ts = ts;
    s.vs = vs;
  }

  /**
   * Moves `base` to `t` (an event being appended): the live samples' stored times shift back by as
   * much. A sample more than 2^31 ms older than `t` is outside every window of `t` and leaves with
   * this append: it is stored as -2^31 instead of wrapping around.
   */
  #rebase(s: Series, t: number): void {
    const shift = t - s.base;
    const { ts } = s;
    const capacity = ts.length;
    for (let i = s.head; i < s.end; i++) ts[i % capacity] = Math.max(ts[i % capacity] - shift, INT32_MIN);
    s.base = t;
  }

  /** Drops deque entries that left the largest window; frees the dead front now and then. */
  #trimDeques(s: Series): void {
    while (s.minQ[s.minHead] < s.head) s.minHead++;
    while (s.maxQ[s.maxHead] < s.head) s.maxHead++;
    if (s.minHead > TRIM_MIN && s.minHead * 2 > s.minQ.length) {
      s.minQ = s.minQ.slice(s.minHead);
      s.minHead = 0;
    }
    if (s.maxHead > TRIM_MIN && s.maxHead * 2 > s.maxQ.length) {
      s.maxQ = s.maxQ.slice(s.maxHead);
      s.maxHead = 0;
    }
  }

  /** Recomputes the running sums exactly (bounded float drift), re-centred on the newest value. */
  #resync(s: Series): void {
    const { vs } = s;
    const capacity = vs.length;
    s.ref = vs[(s.end - 1) % capacity];
    for (let k = 0; k < this.#windows.length; k++) {
      let sum = 0;
      let sumSq = 0;
      let increase = 0;
      for (let i = s.start[k]; i < s.end; i++) {
        const d = vs[i % capacity] - s.ref;
        sum += d;
        sumSq += d * d;
        if (i > s.start[k]) increase += counterIncrease(vs[(i - 1) % capacity], vs[i % capacity]);
      }
      s.sum[k] = sum;
      s.sumSq[k] = sumSq;
      s.increase[k] = increase;
    }
    s.removals = 0;
  }

  /** Rebuilds window starts, sums and deques from the buffer (after an out-of-order insert). */
  #rebuild(s: Series): void {
    const { ts, vs } = s;
    const capacity = ts.length;
    s.minQ = [];
    s.maxQ = [];
    s.minHead = 0;
    s.maxHead = 0;
    for (let i = s.head; i < s.end; i++) {
      const v = vs[i % capacity];
      while (s.minQ.length > 0 && vs[s.minQ[s.minQ.length - 1] % capacity] >= v) s.minQ.pop();
      s.minQ.push(i);
      while (s.maxQ.length > 0 && vs[s.maxQ[s.maxQ.length - 1] % capacity] <= v) s.maxQ.pop();
      s.maxQ.push(i);
    }
    for (let k = 0; k < this.#windows.length; k++) {
      const edge = s.newest - this.#windows[k] - s.base;
      let st = s.head;
      while (st < s.end && ts[st % capacity] <= edge) st++;
      s.start[k] = st;
    }
    this.#resync(s);
  }

  #first(queue: number[], from: number, start: number): number {
    // Deque indices increase: the first one at or after `start` is the extreme of that suffix.
    let lo = from;
    let hi = queue.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (queue[mid] < start) lo = mid + 1;
      else hi = mid;
    }
    return queue[lo];
  }

  #record(s: Series, k: number): FeatureRecord {
    const { ts, vs } = s;
    const capacity = ts.length;
    const end = s.end - 1;
    const last = vs[end % capacity];
    const st = s.start[k];
    const count = end - st + 1;
    const min = vs[this.#first(s.minQ, s.minHead, st) % capacity];
    const max = vs[this.#first(s.maxQ, s.maxHead, st) % capacity];
    let avg = min;
    let zscore = 0;
    if (min !== max) {
      const mean = s.sum[k] / count;
      avg = Math.min(max, Math.max(min, s.ref + mean));
      const variance = s.sumSq[k] / count - mean * mean;
      if (variance > 0) zscore = (last - avg) / Math.sqrt(variance);
    }
    const dt = ts[end % capacity] - ts[st % capacity];
    return {
      tenant: s.tenant,
      host: s.host,
      metric: s.metric,
      window: this.#labels[k],
      ts: s.newest,
      count,
      avg,
      min,
      max,
      last,
      ewma: s.ewma,
      rate: dt > 0 ? (last - vs[st % capacity]) * 1000 / dt : 0,
      counter_rate: dt > 0 ? s.increase[k] * 1000 / dt : 0,
      zscore,
    };
  }
}

/** A reusable {@link FeatureLookup} over one series at a time: no allocation per event. */
export class FeatureCursor implements FeatureLookup {
  /** The series the lookups read (set before each use). */
  series: FeatureSeries | undefined;
  readonly #engine: FeatureEngine;

  /** A cursor over `engine`'s series. */
  constructor(engine: FeatureEngine) {
    this.#engine = engine;
  }

  /** The record of `window` for the current series. */
  record(window: string): FeatureRecord | undefined {
    return this.series === undefined ? undefined : this.#engine.recordOf(this.series, window);
  }
}
