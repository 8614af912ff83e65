/**
 * Rules stage: threshold rules with a per (rule, series) state machine.
 *
 * ok -> pending (while `for` runs) -> firing(warning|critical) -> severity changes (escalation and
 * de-escalation) -> resolved (back to ok). An {@link Alert} is emitted only on a change: firing,
 * severity change, resolved — never per event.
 *
 * - Fires when the value passes the lowest level (`warning`, else `critical`) with `op`; with a
 *   `for` duration the condition must hold on every event from the first passing one until one at
 *   least `for` later (event time). While firing the severity is `critical` when the value passes
 *   `critical`, else `warning` (rules without `warning` stay `critical`). Resolves when the value
 *   no longer passes `clear` (hysteresis; default: the lowest level).
 * - Event time only moves forward per (rule, series): an event older than the last one evaluated
 *   for that pair is ignored (late data cannot re-fire or resolve). Feature rules test the record
 *   of their window (as of the series' newest event); without it (no features, window not
 *   configured) the rule is skipped.
 * - Alert ids `<fingerprint>:<ts>:<state>:<severity>` (`:<n>` appended for a repeat at the same
 *   event time) are deterministic, so a replay produces the same ids; the fingerprint is FNV-1a 64
 *   (hex) of rule, tenant, host and metric.
 *
 * @module
 */
import type { Alert, Severity } from "../model/alert.ts";
import { type Envelope, seriesKey } from "../model/envelope.ts";
import { SeriesMap } from "../lib/series_map.ts";
import type { FeatureRecord } from "../model/feature.ts";
import type { FeatureLookup } from "./features.ts";
import { formatNumber } from "../lib/format.ts";
import type { CompiledRule } from "./rule_compile.ts";

export {
  checkRuleWindows,
  type CompiledRule,
  compileRule,
  compileRules,
  defaultRules,
  parseRules,
} from "./rule_compile.ts";
export { DEFAULT_RULES_YAML } from "./rules_schema.ts";

/** What evaluate returns when nothing changed (shared, frozen: no allocation per event). */
const NO_ALERTS: readonly Alert[] = Object.freeze([]);

// ---------------------------------------------------------------------------------------------

const ENCODER = new TextEncoder();
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = 0xffffffffffffffffn;

/** FNV-1a 64-bit hash of the UTF-8 bytes of `text`, as 16 hex digits. */
export function fnv1a64(text: string): string {
  let hash = FNV_OFFSET;
  for (const byte of ENCODER.encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  return hash.toString(16).padStart(16, "0");
}

/** The stable fingerprint of a rule + series: the same for firing, severity changes and resolution. */
export function alertFingerprint(rule: string, tenant: string, host: string, metric: string): string {
  return fnv1a64(`${rule}\u0000${tenant}\u0000${host}\u0000${metric}`);
}

interface State {
  phase: "ok" | "pending" | "firing";
  /** Event time of the last evaluated event. */
  lastTs: number;
  pendingSince: number;
  severity: Severity;
  startsAt: number;
  /** Last emitted alert (firing phase). */
  alert: Alert | undefined;
  fingerprint: string;
  /** Ids emitted at event time `idsTs` (ids stay unique when one event time sees several transitions). */
  idsTs: number;
  ids: Set<string> | undefined;
  readonly tenant: string;
  readonly host: string;
  readonly metric: string;
}

interface RenderInput {
  readonly rule: CompiledRule;
  readonly state: State;
  readonly event: Pick<Envelope, "tags" | "ctx" | "unit"> | undefined;
  readonly value: number;
  readonly threshold: number;
  readonly severity: Severity;
  readonly alertState: "firing" | "resolved";
}

function placeholder(name: string, input: RenderInput): string {
  switch (name) {
    case "host":
      return input.state.host;
    case "tenant":
      return input.state.tenant;
    case "metric":
      return input.state.metric;
    case "value":
      return formatNumber(inRuleUnit(input.rule, input.value));
    case "threshold":
      return formatNumber(inRuleUnit(input.rule, input.threshold));
    case "severity":
      return input.severity;
    case "state":
      return input.alertState;
    case "rule":
      return input.rule.name;
    case "unit":
      return input.rule.unit?.written ?? input.event?.unit ?? "";
    case "window":
      return input.rule.feature?.window ?? "";
    case "stat":
      return input.rule.feature?.stat ?? "raw";
    case "starts_at":
      return new Date(input.state.startsAt).toISOString();
  }
  const dot = name.indexOf(".");
  const map = name.slice(0, dot);
  const key = name.slice(dot + 1);
  const source = map === "ctx"
    ? input.event?.ctx
    : map === "tags"
    ? input.event?.tags
    : map === "labels"
    ? input.rule.labels
    : undefined;
  return source !== undefined && Object.hasOwn(source, key) ? source[key] : "";
}

/** A stored value shown in the unit the rule's levels are written in (15 significant digits). */
function inRuleUnit(rule: CompiledRule, value: number): number {
  const unit = rule.unit;
  if (unit === undefined) return value;
  return Number(((value - unit.conversion.offset) / unit.conversion.factor).toPrecision(15));
}

function render(input: RenderInput): Record<string, string> {
  const out: Record<string, string> = {};
  for (const template of input.rule.templates) {
    const { parts } = template;
    let text = parts[0];
    for (let i = 1; i < parts.length; i += 2) text += placeholder(parts[i], input) + parts[i + 1];
    out[template.key] = text;
  }
  return out;
}

function severityOf(rule: CompiledRule, value: number): Severity {
  if (rule.critical !== undefined && rule.passes(value, rule.critical)) return "critical";
  return rule.warning !== undefined ? "warning" : "critical";
}

function levelOf(rule: CompiledRule, severity: Severity): number {
  return (severity === "critical" ? rule.critical : rule.warning) ?? rule.fire;
}

function recordOf(
  features: readonly FeatureRecord[] | FeatureLookup | undefined,
  window: string,
): FeatureRecord | undefined {
  if (features === undefined) return undefined;
  if (!Array.isArray(features)) return (features as FeatureLookup).record(window);
  for (let i = 0; i < features.length; i++) if (features[i].window === window) return features[i];
  return undefined;
}

/** Evaluates rules against events and keeps the alert state per (rule, series). */
export class RuleEngine {
  #rules: CompiledRule[] = [];
  #byMetric = new Map<string, CompiledRule[]>();
  /** rule name -> series key -> state */
  /** Per rule name, the state of each series (by tenant, host and metric: no key string per event). */
  #states = new Map<string, SeriesMap<State>>();

  /** Builds an engine for `rules` (e.g. from {@link parseRules}). */
  constructor(rules: readonly CompiledRule[]) {
    this.replaceRules(rules);
  }

  /** The rules in use. */
  get rules(): readonly CompiledRule[] {
    return this.#rules;
  }

  /**
   * Swaps the rule set (hot reload). State is kept for rules whose name is unchanged. Firing
   * alerts of rules that disappeared are resolved at `nowMs` (event time) and returned when
   * `nowMs` is given; otherwise their state is dropped silently.
   */
  replaceRules(rules: readonly CompiledRule[], nowMs?: number): Alert[] {
    const resolved: Alert[] = [];
    const names = new Set(rules.map((rule) => rule.name));
    for (const [name, states] of this.#states) {
      if (names.has(name)) continue;
      const old = this.#rules.find((rule) => rule.name === name);
      if (nowMs !== undefined && old !== undefined) {
        for (const state of states.values()) {
          if (state.phase === "firing" && state.alert !== undefined) {
            const value = state.alert.value;
            resolved.push(this.#alert(old, state, undefined, value, "resolved", state.severity, nowMs));
          }
        }
      }
      this.#states.delete(name);
    }
    this.#rules = [...rules];
    this.#byMetric = new Map();
    for (const rule of rules) {
      const list = this.#byMetric.get(rule.metric) ?? [];
      list.push(rule);
      this.#byMetric.set(rule.metric, list);
      if (!this.#states.has(rule.name)) this.#states.set(rule.name, new SeriesMap());
    }
    return resolved;
  }

  /**
   * Evaluates the rules of the event's metric. `features` are the event's series records as of
   * this event (needed by feature rules): as returned by the feature engine, or a lookup that
   * builds only the record a rule asks for. Returns the alerts of the transitions.
   */
  evaluate(
    event: Envelope,
    features: readonly FeatureRecord[] | FeatureLookup | undefined,
  ): readonly Alert[] {
    return this.#run(event, features, true);
  }

  /**
   * Moves the event time of the event's (rule, series) pairs to the event's, as {@link evaluate}
   * would, without stepping their state machines: a rebuild's events before the rules' decisions
   * start (`stages/rebuild.ts`), so a late event is ignored as it was before the restart.
   */
  advance(event: Envelope, features: readonly FeatureRecord[] | FeatureLookup | undefined): void {
    this.#run(event, features, false);
  }

  /** Forgets the state of every rule for one series (a rebuild replaces it). */
  forgetSeries(tenant: string, host: string, metric: string): void {
    for (const states of this.#states.values()) states.delete(tenant, host, metric);
  }

  /** The longest `for` of the rules, ms (0 without rules). */
  get longestForMs(): number {
    let longest = 0;
    for (const rule of this.#rules) if (rule.forMs > longest) longest = rule.forMs;
    return longest;
  }

  #run(
    event: Envelope,
    features: readonly FeatureRecord[] | FeatureLookup | undefined,
    step: boolean,
  ): readonly Alert[] {
    const rules = this.#byMetric.get(event.metric);
    if (rules === undefined) return NO_ALERTS;
    let out: Alert[] | undefined; // allocated only when an alert is emitted (the rare case)
    for (const rule of rules) {
      if (rule.unit !== undefined && event.unit !== rule.unit.canonical) continue;
      if (!this.#matches(rule, event)) continue;
      let value = event.value;
      let ts = event.ts;
      if (rule.feature !== undefined) {
        const record = recordOf(features, rule.feature.window);
        if (record === undefined) continue;
        value = record[rule.feature.stat];
        ts = record.ts;
      }
      const states = this.#states.get(rule.name) as SeriesMap<State>;
      let state = states.get(event.tenant, event.host, event.metric);
      if (state === undefined) {
        state = {
          phase: "ok",
          lastTs: ts,
          pendingSince: 0,
          severity: "warning",
          startsAt: 0,
          alert: undefined,
          fingerprint: "",
          idsTs: 0,
          ids: undefined,
          tenant: event.tenant,
          host: event.host,
          metric: event.metric,
        };
        states.set(event.tenant, event.host, event.metric, state);
      } else if (ts < state.lastTs) continue;
      state.lastTs = ts;
      if (!step) continue;
      const alert = this.#step(rule, state, event, value, ts);
      if (alert !== undefined) (out ??= []).push(alert);
    }
    return out ?? NO_ALERTS;
  }

  #matches(rule: CompiledRule, event: Envelope): boolean {
    if (rule.matchTenant !== undefined && !rule.matchTenant(event.tenant)) return false;
    if (rule.matchHost !== undefined && !rule.matchHost(event.host)) return false;
    for (const [key, test] of rule.matchTags) {
      const value = event.tags[key];
      if (value === undefined || !Object.hasOwn(event.tags, key) || !test(value)) return false;
    }
    for (const [key, test] of rule.matchCtx) {
      const value = event.ctx[key];
      if (value === undefined || !Object.hasOwn(event.ctx, key) || !test(value)) return false;
    }
    return true;
  }

  #step(rule: CompiledRule, state: State, event: Envelope, value: number, ts: number): Alert | undefined {
    if (state.phase === "firing") {
      if (!rule.passes(value, rule.clear)) {
        state.phase = "ok";
        state.alert = undefined;
        return this.#alert(rule, state, event, value, "resolved", state.severity, ts);
      }
      const severity = severityOf(rule, value);
      if (severity === state.severity) return undefined;
      state.severity = severity;
      return state.alert = this.#alert(rule, state, event, value, "firing", severity, ts);
    }
    if (!rule.passes(value, rule.fire)) {
      state.phase = "ok";
      return undefined;
    }
    if (rule.forMs > 0) {
      if (state.phase === "ok") {
        state.phase = "pending";
        state.pendingSince = ts;
      }
      if (ts - state.pendingSince < rule.forMs) return undefined;
    }
    state.phase = "firing";
    state.startsAt = ts;
    state.severity = severityOf(rule, value);
    return state.alert = this.#alert(rule, state, event, value, "firing", state.severity, ts);
  }

  #alert(
    rule: CompiledRule,
    state: State,
    event: Envelope | undefined,
    value: number,
    alertState: "firing" | "resolved",
    severity: Severity,
    ts: number,
  ): Alert {
    if (state.fingerprint === "") {
      state.fingerprint = alertFingerprint(rule.name, state.tenant, state.host, state.metric);
    }
    const threshold = alertState === "resolved" ? rule.clear : levelOf(rule, severity);
    if (state.idsTs !== ts || state.ids === undefined) {
      state.idsTs = ts;
      state.ids = new Set();
    }
    const base = `${state.fingerprint}:${ts}:${alertState}:${severity}`;
    let id = base;
    for (let n = 2; state.ids.has(id); n++) id = `${base}:${n}`;
    state.ids.add(id);
    return {
      id,
      fingerprint: state.fingerprint,
      rule: rule.name,
      tenant: state.tenant,
      host: state.host,
      metric: state.metric,
      severity,
      state: alertState,
      value,
      threshold,
      starts_at: state.startsAt,
      ends_at: alertState === "resolved" ? ts : null,
      ts,
      labels: { ...rule.labels },
      annotations: render({ rule, state, event, value, threshold, severity, alertState }),
    };
  }

  /**
   * Rebuilds the state from stored alerts (e.g. the latest per fingerprint from the store) after a
   * restart: the latest alert per rule + series wins; firing ones become firing state (no repeat on
   * replay), resolved ones become ok. Events older than a restored alert are then ignored for that
   * series. Alerts of unknown rules are skipped. Returns the number of firing states restored.
   */
  restore(alerts: readonly Alert[]): number {
    const latest = new Map<string, Alert>();
    for (const alert of alerts) {
      if (!this.#states.has(alert.rule)) continue;
      const key = `${alert.rule}\u0000${seriesKey(alert)}`;
      const seen = latest.get(key);
      if (seen === undefined || alert.ts >= seen.ts) latest.set(key, alert);
    }
    let firing = 0;
    for (const alert of latest.values()) {
      const states = this.#states.get(alert.rule) as SeriesMap<State>;
      const isFiring = alert.state === "firing";
      states.set(alert.tenant, alert.host, alert.metric, {
        phase: isFiring ? "firing" : "ok",
        lastTs: alert.ts,
        pendingSince: 0,
        severity: alert.severity,
        startsAt: alert.starts_at,
        alert: isFiring ? alert : undefined,
        fingerprint: alertFingerprint(alert.rule, alert.tenant, alert.host, alert.metric),
        idsTs: alert.ts,
        ids: new Set([alert.id]),
        tenant: alert.tenant,
        host: alert.host,
        metric: alert.metric,
      });
      if (isFiring) firing++;
    }
    return firing;
  }

  /**
   * Resolves the firing alerts whose series has had no event since `cutoffMs` (event time): the
   * store's retention has deleted (or is deleting) the data they stand on. Each resolves at `cutoffMs`
   * with its last value and an `expired` annotation saying why; its state becomes ok. Returns them.
   */
  expire(cutoffMs: number, why: string): Alert[] {
    const at = Math.floor(cutoffMs);
    const out: Alert[] = [];
    for (const rule of this.#rules) {
      for (const state of this.#states.get(rule.name)?.values() ?? []) {
        if (state.phase !== "firing" || state.alert === undefined || state.lastTs >= at) continue;
        const value = state.alert.value;
        state.phase = "ok";
        state.alert = undefined;
        state.lastTs = at;
        const alert = this.#alert(rule, state, undefined, value, "resolved", state.severity, at);
        alert.annotations.expired = why;
        out.push(alert);
      }
    }
    return out;
  }

  /** The current firing alerts (the latest transition of each), ordered by rule then series. */
  firing(): Alert[] {
    const out: Alert[] = [];
    for (const rule of this.#rules) {
      for (const state of this.#states.get(rule.name)?.values() ?? []) {
        if (state.phase === "firing" && state.alert !== undefined) out.push(state.alert);
      }
    }
    return out;
  }

  /**
   * Drops the state of (rule, series) pairs that are not firing and saw no event for longer than
   * `idleMs` before `nowEventMs` (call it with the features' `idle_eviction`). Returns how many.
   */
  evictIdle(nowEventMs: number, idleMs: number): number {
    let evicted = 0;
    for (const states of this.#states.values()) {
      for (const state of states.values()) {
        if (state.phase !== "firing" && nowEventMs - state.lastTs > idleMs) {
          states.delete(state.tenant, state.host, state.metric);
          evicted++;
        }
      }
    }
    return evicted;
  }

  /** Number of (rule, series) states held (any phase). */
  get stateCount(): number {
    let count = 0;
    for (const states of this.#states.values()) count += states.size;
    return count;
  }
}
