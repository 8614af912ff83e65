/**
 * The dispatcher's state, pure (no clock, no I/O: times are passed in): Alertmanager's aggregation
 * groups, notification log and notify pipeline over the alerts the rules emitted.
 *
 * - {@link Dispatcher.apply} takes each alert transition in store order: the alert replaces the
 *   previous state of its fingerprint and joins one group per matching route (`group_by` labels).
 *   A new group flushes after `group_wait` (at once when the alert started longer ago than that);
 *   later changes wait for the next `group_interval`.
 * - {@link Dispatcher.flush} flushes the due groups as Alertmanager's pipeline does: inhibited and
 *   silenced alerts are left out; per integration, a notification is made when the log says the
 *   receiver has not been told (a new firing alert, a new resolved one with `send_resolved`, every
 *   alert resolved) or `repeat_interval` has passed — unless every firing alert is acknowledged.
 *   Resolved alerts leave the group after a flush; empty groups are dropped.
 * - Alertmanager integrations do not wait for groups: as Prometheus feeds an Alertmanager, each
 *   transition is pushed at once (a severity change also ends the alert with the old severity), and
 *   every firing alert is pushed again each `resend_interval` ({@link Dispatcher.resendDue}).
 *
 * The notification log holds, per integration and group, the dedup keys (`<fingerprint>:<severity>`)
 * of the firing and resolved alerts last notified, and when.
 *
 * @module
 */
import type { LabelSet } from "../config/notify_matchers.ts";
import type { NotifyLogEntry } from "../model/notification.ts";
import type { StoredAlert } from "../model/query.ts";
import { inhibitedBy } from "./inhibit.ts";
import { alertLabels, compareAlertLabels, type HostContext } from "./labels.ts";
import { type NotificationAlert, type NotificationData, notificationData } from "./payload.ts";
import type { Integration, NotifyPlan } from "./plan.ts";
import { groupKey, groupLabels, matchRoutes, type Route } from "./route.ts";
import { type Silence, silencedBy } from "./silences.ts";

/** An alert's latest state as dispatch tracks it. */
export interface TrackedAlert {
  readonly alert: StoredAlert;
  readonly labels: LabelSet;
  /** `<fingerprint>:<severity>`: a severity change is a new alert to the log, as a label change is to Alertmanager. */
  readonly dedupKey: string;
  readonly notification: NotificationAlert;
}

/** The generator URL of an alert: its transitions in the agent's API. */
export function generatorURL(
  externalURL: string,
  alert: Pick<StoredAlert, "rule" | "tenant" | "host">,
): string {
  const query = new URLSearchParams({ rule: alert.rule, tenant: alert.tenant, host: alert.host });
  return `${externalURL}/alerts?${query}`;
}

/** Tracks `alert` with its host's inventory context. */
export function trackAlert(alert: StoredAlert, ctx: HostContext, externalURL: string): TrackedAlert {
  const labels = alertLabels(alert, ctx);
  return {
    alert,
    labels,
    dedupKey: `${alert.fingerprint}:${alert.severity}`,
    notification: {
      status: alert.state,
      labels,
      annotations: alert.annotations,
      startsAt: alert.starts_at,
      endsAt: alert.state === "resolved" ? alert.ends_at ?? alert.ts : null,
      generatorURL: generatorURL(externalURL, alert),
      fingerprint: alert.fingerprint,
    },
  };
}

/** What the log remembers of one integration's notifications of one group. */
export type LogEntry = NotifyLogEntry;

/** A notification to store and deliver (or, for resends, to deliver only). */
export interface Outgoing {
  readonly integration: Integration;
  readonly groupKey: string;
  readonly data: NotificationData;
  readonly createdAt: number;
}

/** What one flush decided. */
export interface FlushResult {
  readonly notifications: Outgoing[];
  /** Log entries written (replacing the previous of their integration and group). */
  readonly logged: LogEntry[];
  /** Log entries to delete (integration, group key): nothing of the group fires any more. */
  readonly unlogged: { integration: string; group_key: string }[];
}

/** Why an alert is not notified now. */
export interface Mute {
  readonly silencedBy: string[];
  readonly inhibitedBy: string | undefined;
}

/** What dispatch needs to know about the world at a flush: silences and acknowledgements. */
export interface MuteState {
  readonly silences: readonly Silence[];
  /** Whether the firing episode of `alert` (fingerprint and start) is acknowledged. */
  acked(alert: StoredAlert): boolean;
}

interface Group {
  readonly route: Route;
  readonly key: string;
  readonly labels: LabelSet;
  readonly alerts: Map<string, TrackedAlert>;
  nextFlushAt: number;
  hasFlushed: boolean;
}

function logKey(integration: string, group: string): string {
  return `${integration}\u0000${group}`;
}

function isSubset(items: readonly string[], of: ReadonlySet<string>): boolean {
  return items.every((item) => of.has(item));
}

/** Alertmanager's DedupStage decision, plus acknowledgements (no repeat while all are acknowledged). */
export function needsUpdate(
  entry: Pick<LogEntry, "firing" | "resolved" | "notified_at"> | undefined,
  firing: readonly string[],
  resolved: readonly string[],
  sendResolved: boolean,
  repeatInterval: number,
  now: number,
  allAcked = false,
): boolean {
  if (entry === undefined) return firing.length > 0;
  if (!isSubset(firing, new Set(entry.firing))) return true;
  if (firing.length === 0) return entry.firing.length > 0;
  if (sendResolved && !isSubset(resolved, new Set(entry.resolved))) return true;
  return !allAcked && entry.notified_at < now - repeatInterval;
}

/** Dispatch state over one plan; {@link Dispatcher.replan} swaps the plan (reload). */
export class Dispatcher {
  #plan: NotifyPlan;
  readonly #alerts = new Map<string, TrackedAlert>();
  #groups = new Map<string, Group>();
  readonly #log = new Map<string, LogEntry>();
  /** Alertmanager integration id -> when its firing alerts are due to be sent again. */
  #resendAt = new Map<string, number>();

  /** A dispatcher over `plan`, with the notification log as stored. */
  constructor(plan: NotifyPlan, log: readonly LogEntry[] = []) {
    this.#plan = plan;
    for (const entry of log) this.#log.set(logKey(entry.integration, entry.group_key), entry);
  }

  /** The plan in use. */
  get plan(): NotifyPlan {
    return this.#plan;
  }

  /**
   * Restores the alerts as of the store's cursor (the latest transition of each fingerprint), at
   * start or after a reload: firing ones, and resolved ones the log says a receiver was told were
   * firing (their resolution is still owed). Groups start over (`group_wait`), as Alertmanager's do
   * after a restart; the log keeps them from repeating what was sent.
   */
  restore(alerts: readonly TrackedAlert[], now: number): void {
    const told = new Set<string>();
    for (const entry of this.#log.values()) {
      for (const key of entry.firing) told.add(key.slice(0, key.lastIndexOf(":")));
    }
    for (const tracked of alerts) {
      if (tracked.alert.state === "firing" || told.has(tracked.alert.fingerprint)) {
        this.#alerts.set(tracked.alert.fingerprint, tracked);
      }
    }
    this.#regroup(now);
  }

  /**
   * Takes over firing alerts another agent dispatched (restored from a departed agent): tracked and
   * grouped as if taken here, newer than what is tracked for their fingerprint. Their groups are
   * notified at their next flush (the other agent's notification log is gone with it: at least once).
   */
  adopt(alerts: readonly TrackedAlert[], now: number): void {
    for (const tracked of alerts) {
      if (tracked.alert.state !== "firing") continue;
      const seen = this.#alerts.get(tracked.alert.fingerprint);
      if (seen !== undefined && seen.alert.ts >= tracked.alert.ts) continue;
      this.#alerts.set(tracked.alert.fingerprint, tracked);
    }
    this.#regroup(now);
  }

  /** Swaps the plan (the file was reloaded): groups are rebuilt from the tracked alerts. */
  replan(plan: NotifyPlan, now: number): void {
    this.#plan = plan;
    this.#resendAt = new Map();
    this.#regroup(now);
  }

  #regroup(now: number): void {
    this.#groups = new Map();
    for (const tracked of this.#alerts.values()) this.#insert(tracked, now);
  }

  /** The routes of `labels` (none without a route tree). */
  routes(labels: LabelSet): Route[] {
    return this.#plan.route === undefined ? [] : matchRoutes(this.#plan.route, labels);
  }

  #insert(tracked: TrackedAlert, now: number): void {
    for (const route of this.routes(tracked.labels)) {
      const labels = groupLabels(route, tracked.labels);
      const key = groupKey(route, labels);
      const id = `${route.id}\u0000${key}`;
      let group = this.#groups.get(id);
      if (group === undefined) {
        group = {
          route,
          key,
          labels,
          alerts: new Map(),
          nextFlushAt: now + route.groupWait,
          hasFlushed: false,
        };
        this.#groups.set(id, group);
      }
      group.alerts.set(tracked.alert.fingerprint, tracked);
      if (!group.hasFlushed && tracked.alert.starts_at + route.groupWait < now) group.nextFlushAt = now;
    }
  }

  /**
   * Takes one alert transition (in store order) and returns the pushes Alertmanager integrations
   * owe for it (to be stored with the cursor that passes it).
   */
  apply(tracked: TrackedAlert, now: number, mutes: MuteState): Outgoing[] {
    const previous = this.#alerts.get(tracked.alert.fingerprint);
    this.#alerts.set(tracked.alert.fingerprint, tracked);
    this.#insert(tracked, now);
    return this.#pushes(tracked, previous, now, mutes);
  }

  #alertmanagers(labels: LabelSet): Integration[] {
    const out = new Map<string, Integration>();
    for (const route of this.routes(labels)) {
      for (const integration of this.#plan.receivers.get(route.receiver)?.integrations ?? []) {
        if (integration.kind === "alertmanager") out.set(integration.id, integration);
      }
    }
    return [...out.values()];
  }

  #pushes(
    tracked: TrackedAlert,
    previous: TrackedAlert | undefined,
    now: number,
    mutes: MuteState,
  ): Outgoing[] {
    const integrations = this.#alertmanagers(tracked.labels);
    if (integrations.length === 0) return [];
    const firing = tracked.alert.state === "firing";
    if (firing && this.mute(tracked, mutes, now) !== undefined) return [];
    const alerts: NotificationAlert[] = [];
    // A severity change: the alert with the old labels ends where the new one takes over.
    if (
      previous !== undefined && previous.alert.state === "firing" && previous.dedupKey !== tracked.dedupKey
    ) {
      alerts.push({ ...previous.notification, status: "resolved", endsAt: tracked.alert.ts });
    }
    alerts.push(tracked.notification);
    const out: Outgoing[] = [];
    for (const integration of integrations) {
      if (integration.kind !== "alertmanager") continue;
      const sent = integration.config.send_resolved || firing
        ? alerts
        : alerts.filter((alert) => alert.status === "firing");
      if (sent.length === 0) continue;
      out.push(this.#outgoing(integration, `${integration.id}:{}`, {}, sent, now));
    }
    return out;
  }

  #outgoing(
    integration: Integration,
    key: string,
    labels: LabelSet,
    alerts: readonly NotificationAlert[],
    now: number,
    maxAlerts = 0,
  ): Outgoing {
    return {
      integration,
      groupKey: key,
      data: notificationData(integration.receiver, key, labels, alerts, this.#plan.externalURL, maxAlerts),
      createdAt: now,
    };
  }

  /** Why `tracked` is muted at `now` (silenced or inhibited), or undefined when it is not. */
  mute(tracked: TrackedAlert, mutes: MuteState, now: number): Mute | undefined {
    const silenced = silencedBy(mutes.silences, tracked.labels, now);
    const inhibitor = this.#plan.inhibitRules.length === 0 ? undefined : inhibitedBy(
      this.#plan.inhibitRules,
      { fingerprint: tracked.alert.fingerprint, labels: tracked.labels },
      this.#firingSources(),
    );
    return silenced.length === 0 && inhibitor === undefined
      ? undefined
      : { silencedBy: silenced, inhibitedBy: inhibitor };
  }

  #firingSources(): { fingerprint: string; labels: LabelSet }[] {
    const out: { fingerprint: string; labels: LabelSet }[] = [];
    for (const tracked of this.#alerts.values()) {
      if (tracked.alert.state === "firing") {
        out.push({ fingerprint: tracked.alert.fingerprint, labels: tracked.labels });
      }
    }
    return out;
  }

  /** When the next group is due (epoch ms), or undefined when there is none. */
  nextFlushAt(): number | undefined {
    let next: number | undefined;
    for (const group of this.#groups.values()) {
      if (next === undefined || group.nextFlushAt < next) next = group.nextFlushAt;
    }
    return next;
  }

  /** Flushes every group due at `now`. */
  flush(now: number, mutes: MuteState): FlushResult {
    const result: FlushResult = { notifications: [], logged: [], unlogged: [] };
    for (const [id, group] of this.#groups) {
      if (group.nextFlushAt > now) continue;
      group.nextFlushAt = now + group.route.groupInterval;
      group.hasFlushed = true;
      this.#flushGroup(group, now, mutes, result);
      for (const [fingerprint, tracked] of group.alerts) {
        if (tracked.alert.state === "resolved") group.alerts.delete(fingerprint);
      }
      if (group.alerts.size === 0) this.#groups.delete(id);
    }
    this.#forgetResolved();
    return result;
  }

  #flushGroup(group: Group, now: number, mutes: MuteState, result: FlushResult): void {
    const kept = [...group.alerts.values()]
      .filter((tracked) => this.mute(tracked, mutes, now) === undefined)
      .sort((a, b) => compareAlertLabels(a.labels, b.labels));
    const firing = kept.filter((tracked) => tracked.alert.state === "firing");
    const firingKeys = firing.map((tracked) => tracked.dedupKey);
    const resolvedKeys = kept.filter((tracked) => tracked.alert.state === "resolved").map((t) => t.dedupKey);
    const allAcked = firing.length > 0 && firing.every((tracked) => mutes.acked(tracked.alert));
    for (const integration of this.#plan.receivers.get(group.route.receiver)?.integrations ?? []) {
      if (integration.kind === "alertmanager") continue;
      const key = logKey(integration.id, group.key);
      const entry = this.#log.get(key);
      const sendResolved = integration.config.send_resolved;
      if (
        !needsUpdate(entry, firingKeys, resolvedKeys, sendResolved, group.route.repeatInterval, now, allAcked)
      ) continue;
      const sent = sendResolved ? kept : firing;
      if (sent.length > 0) {
        const maxAlerts = integration.kind === "webhook" ? integration.config.max_alerts : 0;
        result.notifications.push(
          this.#outgoing(
            integration,
            group.key,
            group.labels,
            sent.map((t) => t.notification),
            now,
            maxAlerts,
          ),
        );
      }
      if (firingKeys.length === 0) {
        if (this.#log.delete(key)) {
          result.unlogged.push({ integration: integration.id, group_key: group.key });
        }
      } else {
        const logged: LogEntry = {
          integration: integration.id,
          group_key: group.key,
          firing: firingKeys,
          resolved: resolvedKeys,
          notified_at: now,
        };
        this.#log.set(key, logged);
        result.logged.push(logged);
      }
    }
  }

  /** Drops resolved alerts no group holds any more. */
  #forgetResolved(): void {
    const held = new Set<string>();
    for (const group of this.#groups.values()) {
      for (const fingerprint of group.alerts.keys()) held.add(fingerprint);
    }
    for (const [fingerprint, tracked] of this.#alerts) {
      if (tracked.alert.state === "resolved" && !held.has(fingerprint)) this.#alerts.delete(fingerprint);
    }
  }

  /**
   * The firing alerts each Alertmanager integration is due to receive again at `now` (not muted),
   * one push per integration; not stored (a lost resend is covered by the next).
   */
  resendDue(now: number, mutes: MuteState): Outgoing[] {
    const byIntegration = new Map<string, { integration: Integration; alerts: TrackedAlert[] }>();
    for (const receiver of this.#plan.receivers.values()) {
      for (const integration of receiver.integrations) {
        if (integration.kind !== "alertmanager") continue;
        const due = this.#resendAt.get(integration.id);
        if (due === undefined) this.#resendAt.set(integration.id, now + integration.config.resend_interval);
        else if (due <= now) {
          this.#resendAt.set(integration.id, now + integration.config.resend_interval);
          byIntegration.set(integration.id, { integration, alerts: [] });
        }
      }
    }
    if (byIntegration.size === 0) return [];
    for (const tracked of this.#alerts.values()) {
      if (tracked.alert.state !== "firing" || this.mute(tracked, mutes, now) !== undefined) continue;
      for (const integration of this.#alertmanagers(tracked.labels)) {
        byIntegration.get(integration.id)?.alerts.push(tracked);
      }
    }
    const out: Outgoing[] = [];
    for (const { integration, alerts } of byIntegration.values()) {
      if (alerts.length === 0) continue;
      alerts.sort((a, b) => compareAlertLabels(a.labels, b.labels));
      out.push(
        this.#outgoing(integration, `${integration.id}:{}`, {}, alerts.map((t) => t.notification), now),
      );
    }
    return out;
  }

  /** When the next Alertmanager resend is due, or undefined when there is no Alertmanager integration. */
  nextResendAt(): number | undefined {
    let next: number | undefined;
    for (const at of this.#resendAt.values()) if (next === undefined || at < next) next = at;
    return next;
  }

  /** The tracked alerts (firing, and resolved ones a group still owes), by fingerprint. */
  get alerts(): ReadonlyMap<string, TrackedAlert> {
    return this.#alerts;
  }

  /** The notification log. */
  get log(): LogEntry[] {
    return [...this.#log.values()];
  }

  /** The number of groups. */
  get groupCount(): number {
    return this.#groups.size;
  }
}
