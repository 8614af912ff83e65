/**
 * The notifier: the dispatcher and the sender around the pure {@link Dispatcher}, with the store
 * as the outbox (the I/O and timers of alert delivery).
 *
 * - Dispatch: alert transitions are taken in seq order after the cursor, as the writer hands them
 *   over when they continue it, else from the store (woken when a batch stored alerts); the pushes
 *   they cause are stored with the cursor in one transaction;
 *   due groups are flushed and their notifications stored with the log in one transaction. A failed
 *   store write rebuilds the state from the store (nothing is half-applied).
 * - Send: pending notifications are delivered oldest first, one at a time per integration and group
 *   (in order), at most `delivery.max_in_flight` at once, with exponential backoff and jitter
 *   between attempts; one that cannot be delivered within `delivery.max_age` (or that the receiver
 *   refuses with a 4xx) is recorded as failed. At least once: an attempt interrupted by a crash is
 *   made again after the restart, with the same id.
 * - Ingestion never waits for any of it: the stateful group only wakes the dispatcher.
 *
 * @module
 */
import type { LabelSet } from "../config/notify_matchers.ts";
import type { Logger } from "../lib/log.ts";
import type {
  AckRecord,
  ActiveAlert,
  NewNotification,
  NotificationRecord,
  NotificationStatus,
  NotifyLogEntry,
  PendingNotification,
  SilenceRecord,
} from "../model/notification.ts";
import { compareActiveAlerts } from "../model/notification.ts";
import type { StoredAlert } from "../model/query.ts";
import { deliver, type DeliverDeps, type KafkaPublish } from "./deliver.ts";
import { Dispatcher, type MuteState, type Outgoing, trackAlert, type TrackedAlert } from "./dispatch.ts";
import { handAlerts, type HandedQueue, takeHanded } from "./handed.ts";
import type { HostContext } from "./labels.ts";
import type { NotificationData } from "./payload.ts";
import { integrationsById, type NotifyPlan } from "./plan.ts";
import { backoff, type IntegrationSecrets } from "./request.ts";
import {
  expireSilence,
  type GettableSilence,
  gettableSilence,
  type PostableSilence,
  setSilence,
  type Silence,
  SilenceError,
  silenceMatchesFilter,
  silencesToTake,
  sortSilences,
} from "./silences.ts";
import { fromApiMatcher, parseMatchers, toApiMatcher } from "../config/notify_matchers.ts";

/** The store's notification tables (implemented by `store/notify.ts`). */
export interface NotifyLedger {
  cursor(): Promise<number>;
  latestAlertsUpTo(upTo: number): Promise<StoredAlert[]>;
  alertsAfter(after: number, limit: number): Promise<StoredAlert[]>;
  log(): Promise<NotifyLogEntry[]>;
  commit(change: {
    cursor?: number;
    notifications?: readonly NewNotification[];
    logged?: readonly NotifyLogEntry[];
    unlogged?: readonly { integration: string; group_key: string }[];
  }): Promise<void>;
  due(now: number, limit: number, skip?: readonly string[]): Promise<PendingNotification[]>;
  nextDueAt(skip?: readonly string[]): Promise<number | null>;
  attempted(
    id: string,
    outcome: { status: NotificationStatus; at: number; error?: string; retryAt?: number },
  ): Promise<void>;
  abandon(integration: string, at: number, reason: string): Promise<number>;
  pendingIntegrations(): Promise<string[]>;
  queueStats(): Promise<{ depth: number; oldestCreatedAt: number | null }>;
  recent(q: { limit: number; status?: NotificationStatus; receiver?: string }): Promise<NotificationRecord[]>;
  prune(before: number): Promise<number>;
  silences(): Promise<SilenceRecord[]>;
  saveSilences(silences: readonly SilenceRecord[]): Promise<void>;
  acks(): Promise<AckRecord[]>;
  saveAck(ack: AckRecord): Promise<void>;
}

/** What the notifier counts (the builder maps these to Prometheus families). */
export interface NotifyMetrics {
  /** A notification delivered (`resend`: an Alertmanager keep-alive, not stored). */
  sent(receiver: string, kind: string, resend: boolean): void;
  /** A notification given up. */
  failed(receiver: string, kind: string): void;
  /** An attempt that failed and will be retried. */
  retried(receiver: string, kind: string): void;
  /** Pending notifications and the age of the oldest (seconds; 0 when none). */
  queue(depth: number, oldestSeconds: number): void;
}

/** What the notifier is built from. */
export interface NotifierDeps {
  ledger: NotifyLedger;
  plan: NotifyPlan;
  /** Secrets of each integration id (read by the builder from files or the environment). */
  secrets: ReadonlyMap<string, IntegrationSecrets>;
  /** The inventory context of a host (labels `site`, `role`, ...). */
  contextOf: (tenant: string, host: string) => HostContext;
  log: Logger;
  metrics: NotifyMetrics;
  kafka?: KafkaPublish;
  userAgent: string;
  /** Clock (epoch ms); `Date.now` by default. */
  now?: () => number;
  /** Random numbers in [0, 1) for jitter; `Math.random` by default. */
  random?: () => number;
  fetch?: typeof fetch;
}

/** Alerts read from the store per step. */
const PAGE = 500;
/** How often delivered and failed notifications past `delivery.history` are deleted. */
const PRUNE_EVERY_MS = 3_600_000;
/** Longest sleep of a loop with nothing due (it also wakes on every signal). */
const IDLE_MS = 60_000;
/** Due notifications read from the outbox at once (started as delivery slots free up). */
const READ_AHEAD = 64;
/** How often the queue gauges are read from the outbox (at most). */
const QUEUE_REPORT_MS = 500;
/** Wait before a dispatch step is tried again after the store failed. */
const STORE_RETRY_MS = 1_000;
/**
 * Longest the stored cursor lags when steps make nothing (no notification, no log change). Such a
 * step changes nothing stored, so after a crash the alerts past the stored cursor are applied again
 * to the rebuilt dispatcher and make what they made before: nothing. Every commit that stores
 * something stores the cursor with it. Saves a statement per batch with alerts.
 */
const CURSOR_SAVE_MS = 1_000;

/** A wake-up call: `wait` resolves on the next `notify` or after `ms`. */
class Signal {
  #pending = false;
  #resolve: (() => void) | undefined;

  notify(): void {
    this.#pending = true;
    this.#resolve?.();
  }

  async wait(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#resolve = resolve;
      timer = setTimeout(resolve, Math.max(0, Math.min(ms, 2_147_483_647)));
    });
    clearTimeout(timer);
    this.#resolve = undefined;
    this.#pending = false;
  }
}

function silenceFromRecord(record: SilenceRecord): Silence {
  return {
    id: record.id,
    matchers: record.matchers.map(fromApiMatcher),
    startsAt: record.starts_at,
    endsAt: record.ends_at,
    createdBy: record.created_by,
    comment: record.comment,
    updatedAt: record.updated_at,
  };
}

function silenceToRecord(silence: Silence): SilenceRecord {
  return {
    id: silence.id,
    matchers: silence.matchers.map(toApiMatcher),
    starts_at: silence.startsAt,
    ends_at: silence.endsAt,
    created_by: silence.createdBy,
    comment: silence.comment,
    updated_at: silence.updatedAt,
  };
}

/** The running notifier. */
export class Notifier {
  readonly #deps: NotifierDeps;
  readonly #ledger: NotifyLedger;
  readonly #now: () => number;
  readonly #random: () => number;
  #plan: NotifyPlan;
  #secrets: ReadonlyMap<string, IntegrationSecrets>;
  #dispatcher: Dispatcher;
  #cursor = 0;
  /** The cursor as stored, and when it was stored (see {@link CURSOR_SAVE_MS}). */
  #savedCursor = 0;
  #cursorSavedAt = Number.NEGATIVE_INFINITY;
  /** Alerts the writer handed over as it stored them (see `handed.ts`). */
  readonly #handed: HandedQueue = [];
  readonly #silences = new Map<string, Silence>();
  readonly #acks = new Map<string, AckRecord>();
  readonly #dispatchSignal = new Signal();
  readonly #sendSignal = new Signal();
  readonly #inFlight = new Map<string, Promise<void>>();
  /** Due notifications read and not started yet. */
  #ready: PendingNotification[] = [];
  #lastQueueReport = Number.NEGATIVE_INFINITY;
  /** Notifications were made or attempted since the queue gauges were set. */
  #queueChanged = true;
  #running = true;
  #loops: Promise<void>[] = [];
  #lastPrune = 0;
  #replanned = false;

  private constructor(deps: NotifierDeps, dispatcher: Dispatcher) {
    this.#deps = deps;
    this.#ledger = deps.ledger;
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
    this.#plan = deps.plan;
    this.#secrets = deps.secrets;
    this.#dispatcher = dispatcher;
  }

  /** Loads silences, acknowledgements, the log and the alerts as of the cursor; starts both loops. */
  static async start(deps: NotifierDeps): Promise<Notifier> {
    const notifier = new Notifier(deps, new Dispatcher(deps.plan));
    for (const record of await deps.ledger.silences()) {
      notifier.#silences.set(record.id, silenceFromRecord(record));
    }
    for (const ack of await deps.ledger.acks()) notifier.#acks.set(ack.fingerprint, ack);
    await notifier.#rebuild();
    await notifier.#abandonRemoved();
    notifier.#loops = [notifier.#dispatchLoop(), notifier.#sendLoop()];
    return notifier;
  }

  /** Rebuilds the dispatcher from the store: the log, the cursor and the alerts as of it. */
  async #rebuild(): Promise<void> {
    const dispatcher = new Dispatcher(this.#plan, await this.#ledger.log());
    this.#cursor = await this.#ledger.cursor();
    this.#savedCursor = this.#cursor;
    const alerts = await this.#ledger.latestAlertsUpTo(this.#cursor);
    dispatcher.restore(alerts.map((alert) => this.#track(alert)), this.#now());
    this.#dispatcher = dispatcher;
  }

  #track(alert: StoredAlert): TrackedAlert {
    return trackAlert(alert, this.#deps.contextOf(alert.tenant, alert.host), this.#plan.externalURL);
  }

  #mutes(): MuteState {
    return {
      silences: [...this.#silences.values()],
      acked: (alert) => this.#acks.get(alert.fingerprint)?.starts_at === alert.starts_at,
    };
  }

  /**
   * Takes over the firing alerts restored from a departed agent (stored here as history, never
   * dispatched as new): `/alerts/active` lists them and their resolution is notified here.
   */
  adopt(alerts: readonly StoredAlert[]): void {
    this.#dispatcher.adopt(alerts.map((alert) => this.#track(alert)), this.#now());
    this.#dispatchSignal.notify();
  }

  /**
   * New alerts were stored (`stored`: the durable batch's, ascending seq): take them, as they are
   * when they continue the cursor, else from the store.
   */
  wake(stored: readonly StoredAlert[]): void {
    handAlerts(this.#handed, stored);
    this.#dispatchSignal.notify();
  }

  /** The notification file changed: new routes, receivers and secrets from now on. */
  replan(plan: NotifyPlan, secrets: ReadonlyMap<string, IntegrationSecrets>): void {
    this.#plan = plan;
    this.#secrets = secrets;
    this.#replanned = true;
    this.#dispatchSignal.notify();
    this.#sendSignal.notify();
  }

  /** The plan in use. */
  get plan(): NotifyPlan {
    return this.#plan;
  }

  /** Pending notifications of integrations no longer configured are failed (nothing could send them). */
  async #abandonRemoved(): Promise<void> {
    const known = integrationsById(this.#plan);
    for (const integration of await this.#ledger.pendingIntegrations()) {
      if (known.has(integration)) continue;
      const count = await this.#ledger.abandon(
        integration,
        this.#now(),
        "the integration is no longer in the notification file",
      );
      if (count > 0) {
        this.#deps.log.warn("pending notifications of a removed receiver given up", { integration, count });
      }
    }
  }

  async #dispatchLoop(): Promise<void> {
    while (this.#running) {
      let waitMs = IDLE_MS;
      try {
        if (this.#replanned) {
          this.#replanned = false;
          this.#dispatcher.replan(this.#plan, this.#now());
          await this.#abandonRemoved();
        }
        await this.#step();
        const now = this.#now();
        for (const due of [this.#dispatcher.nextFlushAt(), this.#dispatcher.nextResendAt()]) {
          if (due !== undefined) waitMs = Math.min(waitMs, due - now);
        }
      } catch (error) {
        if (!this.#running) break;
        this.#deps.log.error("notification dispatch failed; rebuilding from the store", { error });
        waitMs = STORE_RETRY_MS;
        try {
          await this.#rebuild();
        } catch (rebuildError) {
          this.#deps.log.error("could not read the notification state", { error: rebuildError });
        }
      }
      if (this.#running) await this.#dispatchSignal.wait(waitMs);
    }
  }

  /** Takes the new alerts, flushes due groups, sends due resends, prunes. */
  async #step(): Promise<void> {
    for (;;) {
      const page = takeHanded(this.#handed, this.#cursor, PAGE) ??
        await this.#ledger.alertsAfter(this.#cursor, PAGE);
      if (page.length === 0) break;
      const pushes: Outgoing[] = [];
      for (const alert of page) {
        pushes.push(...this.#dispatcher.apply(this.#track(alert), this.#now(), this.#mutes()));
      }
      const cursor = page[page.length - 1].seq;
      const notifications = pushes.map((push) => this.#newNotification(push));
      if (notifications.length > 0 || this.#now() - this.#cursorSavedAt >= CURSOR_SAVE_MS) {
        await this.#commitWithCursor(cursor, { notifications });
      }
      this.#cursor = cursor;
      if (pushes.length > 0) this.#queued();
      if (page.length < PAGE) break;
    }
    const now = this.#now();
    const flushed = this.#dispatcher.flush(now, this.#mutes());
    if (flushed.notifications.length > 0 || flushed.logged.length > 0 || flushed.unlogged.length > 0) {
      await this.#commitWithCursor(this.#cursor, {
        notifications: flushed.notifications.map((outgoing) => this.#newNotification(outgoing)),
        logged: flushed.logged,
        unlogged: flushed.unlogged,
      });
      if (flushed.notifications.length > 0) this.#queued();
    }
    for (const resend of this.#dispatcher.resendDue(now, this.#mutes())) void this.#resend(resend);
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      const pruned = await this.#ledger.prune(now - this.#plan.delivery.history);
      if (pruned > 0) this.#deps.log.info("old notifications deleted", { count: pruned });
    }
  }

  /** Stores a step's changes with the cursor it reached (when that is not stored yet). */
  async #commitWithCursor(
    cursor: number,
    change: Omit<Parameters<NotifyLedger["commit"]>[0], "cursor">,
  ): Promise<void> {
    const moved = cursor !== this.#savedCursor;
    await this.#ledger.commit(moved ? { ...change, cursor } : change);
    this.#savedCursor = cursor;
    this.#cursorSavedAt = this.#now();
  }

  /** Notifications were stored: the sender takes them (and sets the queue gauges). */
  #queued(): void {
    this.#queueChanged = true;
    this.#sendSignal.notify();
  }

  #newNotification(outgoing: Outgoing): NewNotification {
    const firing = outgoing.data.alerts.filter((alert) => alert.status === "firing").length;
    return {
      id: crypto.randomUUID(),
      receiver: outgoing.integration.receiver,
      integration: outgoing.integration.id,
      kind: outgoing.integration.kind,
      group_key: outgoing.groupKey,
      firing,
      resolved: outgoing.data.alerts.length - firing,
      created_at: outgoing.createdAt,
      data: outgoing.data,
    };
  }

  #deliverDeps(): DeliverDeps {
    return {
      secrets: (id) => this.#secrets.get(id) ?? {},
      kafka: this.#deps.kafka,
      defaultTimeoutMs: this.#plan.delivery.timeout,
      userAgent: this.#deps.userAgent,
      fetch: this.#deps.fetch,
    };
  }

  async #resend(outgoing: Outgoing): Promise<void> {
    const { integration } = outgoing;
    const outcome = await deliver(
      integration,
      `resend-${crypto.randomUUID()}`,
      outgoing.groupKey,
      outgoing.data,
      this.#now(),
      this.#deliverDeps(),
    );
    if (outcome.kind === "delivered") this.#deps.metrics.sent(integration.receiver, integration.kind, true);
    else {
      this.#deps.log.warn("Alertmanager resend failed (the next one follows)", {
        integration: integration.id,
        error: outcome.error,
      });
    }
  }

  async #sendLoop(): Promise<void> {
    while (this.#running) {
      let waitMs = IDLE_MS;
      try {
        const max = this.#plan.delivery.max_in_flight;
        if (this.#ready.length === 0 && this.#inFlight.size < max) {
          this.#ready = await this.#ledger.due(this.#now(), READ_AHEAD, [...this.#inFlight.keys()]);
        }
        while (this.#inFlight.size < max && this.#ready.length > 0) this.#startAttempt(this.#ready.shift()!);
        if (this.#ready.length === 0) {
          const next = await this.#ledger.nextDueAt([...this.#inFlight.keys()]);
          if (next !== null) waitMs = Math.max(0, Math.min(waitMs, next - this.#now()));
        }
        // Due now but no slot free: an attempt ending wakes the loop.
        if (waitMs === 0 && this.#inFlight.size >= max) waitMs = IDLE_MS;
        // A report held back by the throttle is made on a later round.
        if (!await this.#reportQueue()) waitMs = Math.min(waitMs, QUEUE_REPORT_MS);
      } catch (error) {
        if (!this.#running) break;
        this.#deps.log.error("notification sender could not read the outbox; retrying", { error });
        this.#ready = [];
        waitMs = STORE_RETRY_MS;
      }
      if (this.#running) await this.#sendSignal.wait(waitMs);
    }
  }

  /**
   * Sets the queue gauges when the queue may have changed, at most once per {@link QUEUE_REPORT_MS};
   * false when a report is due but held back.
   */
  async #reportQueue(): Promise<boolean> {
    const now = this.#now();
    if (!this.#queueChanged && now - this.#lastQueueReport < IDLE_MS) return true;
    if (now - this.#lastQueueReport < QUEUE_REPORT_MS) return false;
    this.#lastQueueReport = now;
    this.#queueChanged = false;
    const stats = await this.#ledger.queueStats();
    const oldest = stats.oldestCreatedAt === null ? 0 : Math.max(0, (now - stats.oldestCreatedAt) / 1000);
    this.#deps.metrics.queue(stats.depth, oldest);
    return true;
  }

  #startAttempt(row: PendingNotification): void {
    const attempt = this.#attempt(row)
      .catch((error) => this.#deps.log.error("could not record a delivery attempt", { id: row.id, error }))
      .finally(() => {
        this.#inFlight.delete(row.id);
        this.#queueChanged = true;
        this.#sendSignal.notify();
      });
    this.#inFlight.set(row.id, attempt);
  }

  async #attempt(row: PendingNotification): Promise<void> {
    const integration = integrationsById(this.#plan).get(row.integration);
    const at = this.#now();
    const { metrics, log } = this.#deps;
    if (integration === undefined) {
      await this.#ledger.attempted(row.id, {
        status: "failed",
        at,
        error: "the integration is no longer in the notification file",
      });
      metrics.failed(row.receiver, row.kind);
      return;
    }
    const outcome = await deliver(
      integration,
      row.id,
      row.group_key,
      row.data as NotificationData,
      at,
      this.#deliverDeps(),
    );
    const done = this.#now();
    if (outcome.kind === "delivered") {
      await this.#ledger.attempted(row.id, { status: "delivered", at: done });
      metrics.sent(row.receiver, row.kind, false);
      return;
    }
    const { max_age: maxAge, initial_backoff: initial, max_backoff: max } = this.#plan.delivery;
    if (outcome.kind === "failed" || done - row.created_at >= maxAge) {
      const error = outcome.kind === "failed"
        ? outcome.error
        : `given up after ${row.attempts + 1} attempts (delivery.max_age): ${outcome.error}`;
      await this.#ledger.attempted(row.id, { status: "failed", at: done, error });
      metrics.failed(row.receiver, row.kind);
      log.error("notification not delivered; recorded as failed", {
        id: row.id,
        integration: row.integration,
        error,
      });
      return;
    }
    const retryAt = Math.min(
      done + backoff(row.attempts + 1, initial, max, this.#random),
      row.created_at + maxAge,
    );
    await this.#ledger.attempted(row.id, { status: "pending", at: done, error: outcome.error, retryAt });
    metrics.retried(row.receiver, row.kind);
    log.warn("notification delivery failed; will retry", {
      id: row.id,
      integration: row.integration,
      attempt: row.attempts + 1,
      retry_in_ms: retryAt - done,
      error: outcome.error,
    });
  }

  /** Stops both loops and waits for the attempts in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#dispatchSignal.notify();
    this.#sendSignal.notify();
    await Promise.all(this.#loops);
    await Promise.all(this.#inFlight.values());
    if (this.#cursor !== this.#savedCursor) {
      await this.#commitWithCursor(this.#cursor, {}).catch((error) =>
        this.#deps.log.warn("could not store the notification cursor; alerts since are applied again", {
          error,
        })
      );
    }
  }

  // ---- what the API serves -------------------------------------------------------------------

  /** The firing alerts, most severe and oldest first, with why each is or is not notified. */
  activeAlerts(): ActiveAlert[] {
    const now = this.#now();
    const mutes = this.#mutes();
    const out: ActiveAlert[] = [];
    for (const tracked of this.#dispatcher.alerts.values()) {
      const { alert } = tracked;
      if (alert.state !== "firing") continue;
      const mute = this.#dispatcher.mute(tracked, mutes, now);
      const ack = this.#acks.get(alert.fingerprint);
      out.push({
        fingerprint: alert.fingerprint,
        rule: alert.rule,
        tenant: alert.tenant,
        host: alert.host,
        metric: alert.metric,
        severity: alert.severity,
        value: alert.value,
        threshold: alert.threshold,
        since: alert.starts_at,
        updated_at: alert.ts,
        labels: { ...tracked.labels },
        annotations: { ...alert.annotations },
        silenced_by: mute?.silencedBy ?? [],
        inhibited_by: mute?.inhibitedBy ?? null,
        acked: ack !== undefined && ack.starts_at === alert.starts_at ? ack : null,
        receivers: [...new Set(this.#dispatcher.routes(tracked.labels).map((route) => route.receiver))],
      });
    }
    return out.sort(compareActiveAlerts);
  }

  /**
   * The silences in Alertmanager's order; with `filter` (matchers as Alertmanager writes them) only
   * those having each of its matchers. Throws an Error on a bad filter.
   */
  silences(filter: readonly string[] = []): GettableSilence[] {
    const now = this.#now();
    const wanted = filter.flatMap((text) => parseMatchers(text));
    return sortSilences([...this.#silences.values()], now)
      .filter((silence) => silenceMatchesFilter(silence, wanted))
      .map((silence) => gettableSilence(silence, now));
  }

  /** Creates or updates a silence (Alertmanager's rules); resolves with its id. Throws {@link SilenceError}. */
  async setSilence(posted: PostableSilence, id: string = crypto.randomUUID()): Promise<string> {
    const now = this.#now();
    const previous = posted.id === undefined ? undefined : this.#silences.get(posted.id);
    const change = setSilence(posted, previous, now, id);
    await this.#keepSilences(change.expired ? [change.expired, change.silence] : [change.silence]);
    return change.silence.id;
  }

  /**
   * Takes the silences another agent holds (`GET /silences` there): each one this agent does not
   * have, or has in an older version (`updatedAt`), is stored as it is there, so a silence made
   * before this agent joined mutes here too (last writer wins, as Alertmanager's gossip). Silences
   * that do not parse are skipped. Resolves with how many were taken.
   */
  async mergeSilences(peer: readonly GettableSilence[]): Promise<number> {
    const taken = silencesToTake(this.#silences, peer);
    if (taken.length > 0) await this.#keepSilences(taken);
    return taken.length;
  }

  /** Expires a silence. Throws {@link SilenceError} (404) when there is none with `id`. */
  async expireSilence(id: string): Promise<void> {
    const silence = this.#silences.get(id);
    if (silence === undefined) throw new SilenceError(404, `silence ${id} not found`);
    const expired = expireSilence(silence, this.#now());
    if (expired === silence) return;
    await this.#keepSilences([expired]);
  }

  /** Stores changed silences (the ledger first), holds them, and lets the dispatcher re-check mutes. */
  async #keepSilences(changed: readonly Silence[]): Promise<void> {
    await this.#ledger.saveSilences(changed.map(silenceToRecord));
    for (const silence of changed) this.#silences.set(silence.id, silence);
    this.#dispatchSignal.notify();
  }

  /** The silence with `id`, or undefined. */
  silence(id: string): GettableSilence | undefined {
    const silence = this.#silences.get(id);
    return silence === undefined ? undefined : gettableSilence(silence, this.#now());
  }

  /**
   * Acknowledges the current firing episode of `fingerprint` (no repeat notifications until it
   * resolves or changes severity); undefined when it is not firing.
   */
  async ack(fingerprint: string, by: string, comment: string): Promise<AckRecord | undefined> {
    const tracked = this.#dispatcher.alerts.get(fingerprint);
    if (tracked === undefined || tracked.alert.state !== "firing") return undefined;
    const ack: AckRecord = {
      fingerprint,
      starts_at: tracked.alert.starts_at,
      acked_by: by,
      comment,
      acked_at: this.#now(),
    };
    await this.#ledger.saveAck(ack);
    this.#acks.set(fingerprint, ack);
    return ack;
  }

  /** Recent notifications, newest first. */
  notifications(
    q: { limit: number; status?: NotificationStatus; receiver?: string },
  ): Promise<NotificationRecord[]> {
    return this.#ledger.recent(q);
  }

  /** The receivers `labels` route to (for rule tests and the API). */
  receiversOf(labels: LabelSet): string[] {
    return [...new Set(this.#dispatcher.routes(labels).map((route) => route.receiver))];
  }
}
