/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format (0.0.4). The families the agent registers are declared in `families.ts`.
 *
 * Hot paths allocate nothing: resolve a labelled child once (`family.labels("normalize")`) and
 * keep it; `inc()`, `set()` and `observe()` only touch numbers.
 *
 * @module
 */

/** Default histogram buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [
  0.001,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** Options common to every metric family. */
export interface MetricOptions {
  /** Metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  name: string;
  help: string;
  /** Label names, in the order `labels(...)` takes values. */
  labelNames?: readonly string[];
}

/** Options of a histogram. */
export interface HistogramOptions extends MetricOptions {
  /** Upper bounds, ascending; `+Inf` is implicit. */
  buckets?: readonly number[];
}

const NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function labelString(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${escapeLabelValue(values[i])}"`);
  if (extra) parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

abstract class Family<C> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: "counter" | "gauge" | "histogram";
  protected readonly children = new Map<string, { child: C; values: readonly string[] }>();

  constructor(options: MetricOptions) {
    if (!NAME_PATTERN.test(options.name)) throw new Error(`invalid metric name "${options.name}"`);
    for (const label of options.labelNames ?? []) {
      if (!LABEL_PATTERN.test(label) || label.startsWith("__")) {
        throw new Error(`invalid label name "${label}" in metric "${options.name}"`);
      }
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = [...(options.labelNames ?? [])];
  }

  protected abstract create(): C;

  /** The child for these label values (created once, then cached: keep it on hot paths). */
  labels(...values: string[]): C {
    if (values.length !== this.labelNames.length) {
      throw new Error(
        `metric "${this.name}" takes ${this.labelNames.length} label value(s) (${
          this.labelNames.join(", ")
        }), got ${values.length}`,
      );
    }
    const key = values.join("\u0000");
    let entry = this.children.get(key);
    if (!entry) {
      entry = { child: this.create(), values: [...values] };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  /** Removes every child (label set). */
  reset(): void {
    this.children.clear();
  }

  /** Appends this family's exposition lines. */
  render(lines: string[]): void {
    lines.push(`# HELP ${this.name} ${escapeHelp(this.help)}`);
    lines.push(`# TYPE ${this.name} ${this.type}`);
    for (const { child, values } of this.children.values()) this.renderChild(lines, child, values);
  }

  protected abstract renderChild(lines: string[], child: C, values: readonly string[]): void;
}

/** One counter time series. */
export class CounterChild {
  /** Current value. */
  value = 0;
  /** Adds `n` (default 1); negative values are ignored. */
  inc(n = 1): void {
    if (n > 0) this.value += n;
  }
}

/** A monotonically increasing counter family. */
export class Counter extends Family<CounterChild> {
  readonly type = "counter";
  protected create(): CounterChild {
    return new CounterChild();
  }
  /** Increments the unlabelled series. */
  inc(n = 1): void {
    this.labels().inc(n);
  }
  protected renderChild(lines: string[], child: CounterChild, values: readonly string[]): void {
    lines.push(`${this.name}${labelString(this.labelNames, values)} ${formatNumber(child.value)}`);
  }
}

/** One gauge time series. */
export class GaugeChild {
  /** Current value. */
  value = 0;
  /** Sets the value. */
  set(v: number): void {
    this.value = v;
  }
  /** Adds `n` (default 1). */
  inc(n = 1): void {
    this.value += n;
  }
  /** Subtracts `n` (default 1). */
  dec(n = 1): void {
    this.value -= n;
  }
}

/** A gauge family: a value that goes up and down. */
export class Gauge extends Family<GaugeChild> {
  readonly type = "gauge";
  protected create(): GaugeChild {
    return new GaugeChild();
  }
  /** Sets the unlabelled series. */
  set(v: number): void {
    this.labels().set(v);
  }
  protected renderChild(lines: string[], child: GaugeChild, values: readonly string[]): void {
    lines.push(`${this.name}${labelString(this.labelNames, values)} ${formatNumber(child.value)}`);
  }
}

/** One histogram time series. */
export class HistogramChild {
  /** Non-cumulative counts per bucket; the last slot is `+Inf`. */
  readonly counts: Float64Array;
  /** Sum of observed values. */
  sum = 0;
  /** Number of observations. */
  count = 0;
  /** @internal */
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  /** Records one observation. */
  observe(v: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && v > bounds[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

/** A histogram family (cumulative buckets, `_sum`, `_count`). */
export class Histogram extends Family<HistogramChild> {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  constructor(options: HistogramOptions) {
    super(options);
    if (this.labelNames.includes("le")) {
      throw new Error(`histogram "${options.name}" must not use the label "le"`);
    }
    const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)].filter((b) => Number.isFinite(b));
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) throw new Error(`histogram "${options.name}" buckets must ascend`);
    }
    this.buckets = buckets;
  }
  protected create(): HistogramChild {
    return new HistogramChild(this.buckets);
  }
  /** Observes into the unlabelled series. */
  observe(v: number): void {
    this.labels().observe(v);
  }
  protected renderChild(lines: string[], child: HistogramChild, values: readonly string[]): void {
    let cumulative = 0;
    for (let i = 0; i <= this.buckets.length; i++) {
      cumulative += child.counts[i];
      const le = i < this.buckets.length ? formatNumber(this.buckets[i]) : "+Inf";
      lines.push(`${this.name}_bucket${labelString(this.labelNames, values, `le="${le}"`)} ${cumulative}`);
    }
    const labels = labelString(this.labelNames, values);
    lines.push(`${this.name}_sum${labels} ${formatNumber(child.sum)}`);
    lines.push(`${this.name}_count${labels} ${child.count}`);
  }
}

type AnyFamily = Counter | Gauge | Histogram;

/** A set of metric families rendered together (`/prometheus`). Implements the API's `MetricsRegistry`. */
export class Registry {
  readonly #families = new Map<string, AnyFamily>();
  readonly #collectors: (() => void)[] = [];

  #getOrCreate<F extends AnyFamily>(
    options: MetricOptions,
    type: F["type"],
    make: () => F,
  ): F {
    const existing = this.#families.get(options.name);
    if (existing) {
      const sameLabels = existing.labelNames.join(",") === (options.labelNames ?? []).join(",");
      if (existing.type !== type || !sameLabels) {
        throw new Error(
          `metric "${options.name}" is already registered as a ${existing.type} with labels [${
            existing.labelNames.join(", ")
          }]`,
        );
      }
      return existing as F;
    }
    const family = make();
    this.#families.set(options.name, family);
    return family;
  }

  /** Registers (or returns the already registered) counter family. */
  counter(options: MetricOptions): Counter {
    return this.#getOrCreate(options, "counter", () => new Counter(options));
  }

  /** Registers (or returns the already registered) gauge family. */
  gauge(options: MetricOptions): Gauge {
    return this.#getOrCreate(options, "gauge", () => new Gauge(options));
  }

  /** Registers (or returns the already registered) histogram family. */
  histogram(options: HistogramOptions): Histogram {
    return this.#getOrCreate(options, "histogram", () => new Histogram(options));
  }

  /** Adds a callback run before every render (to refresh gauges such as RSS). */
  onCollect(collect: () => void): void {
    this.#collectors.push(collect);
  }

  /** Renders every family in the Prometheus text format. */
  render(): string {
    for (const collect of this.#collectors) {
      try {
        collect();
      } catch {
        // a failing collector must not break the scrape
      }
    }
    const lines: string[] = [];
    for (const family of this.#families.values()) family.render(lines);
    return lines.length === 0 ? "" : lines.join("\n") + "\n";
  }
}
