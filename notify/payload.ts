/**
 * What notifications carry, built from a group's alerts exactly as Alertmanager builds them:
 *
 * - the webhook payload, version 4 (`notify/webhook` of Alertmanager v0.28): `receiver` (regex-quoted
 *   as Alertmanager does), `status` (`firing` while any alert fires), `alerts` (each with `status`,
 *   `labels`, `annotations`, `startsAt`, `endsAt` — `0001-01-01T00:00:00Z` while firing —,
 *   `generatorURL`, `fingerprint`), `groupLabels`, `commonLabels`, `commonAnnotations`,
 *   `externalURL`, `version`, `groupKey`, `truncatedAlerts`; maps with sorted keys, times in RFC 3339;
 * - a `body_template` rendered over the same data;
 * - the alerts of Alertmanager's `POST /api/v2/alerts`, as Prometheus sends them.
 *
 * @module
 */
import { BODY_PLACEHOLDER } from "../config/notify.ts";
import type { LabelSet } from "../config/notify_matchers.ts";
import { sortedNames } from "./labels.ts";
import { rfc3339 } from "./silences.ts";

/** One alert of a notification (times in epoch ms; `endsAt` null while firing). */
export interface NotificationAlert {
  readonly status: "firing" | "resolved";
  readonly labels: LabelSet;
  readonly annotations: LabelSet;
  readonly startsAt: number;
  readonly endsAt: number | null;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/** The data of one notification of a group (Alertmanager's template data plus the group key). */
export interface NotificationData {
  readonly receiver: string;
  readonly status: "firing" | "resolved";
  readonly alerts: readonly NotificationAlert[];
  readonly groupLabels: LabelSet;
  readonly commonLabels: LabelSet;
  readonly commonAnnotations: LabelSet;
  readonly externalURL: string;
  readonly groupKey: string;
  readonly truncatedAlerts: number;
}

/** Go's zero time, which Alertmanager sends as the end of a firing alert. */
export const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

/** Go's `regexp.QuoteMeta`. */
export function quoteMeta(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

function common(maps: readonly LabelSet[]): LabelSet {
  if (maps.length === 0) return {};
  const out: Record<string, string> = { ...maps[0] };
  for (const map of maps.slice(1)) {
    for (const name of Object.keys(out)) {
      if (!Object.hasOwn(map, name) || map[name] !== out[name]) delete out[name];
    }
  }
  return out;
}

/**
 * The data of a notification of `alerts` (already in Alertmanager's order) to `receiver`; at most
 * `maxAlerts` alerts (0: all), the rest counted in `truncatedAlerts`. Common labels and annotations
 * are computed over every alert, as Alertmanager does.
 */
export function notificationData(
  receiver: string,
  groupKey: string,
  groupLabels: LabelSet,
  alerts: readonly NotificationAlert[],
  externalURL: string,
  maxAlerts = 0,
): NotificationData {
  const kept = maxAlerts > 0 && alerts.length > maxAlerts ? alerts.slice(0, maxAlerts) : alerts;
  return {
    receiver,
    status: alerts.some((alert) => alert.status === "firing") ? "firing" : "resolved",
    alerts: kept,
    groupLabels,
    commonLabels: common(kept.map((alert) => alert.labels)),
    commonAnnotations: common(kept.map((alert) => alert.annotations)),
    externalURL,
    groupKey,
    truncatedAlerts: alerts.length - kept.length,
  };
}

function sortedMap(map: LabelSet): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of sortedNames(map)) out[name] = map[name];
  return out;
}

/** The webhook message (version 4), with its keys in Alertmanager's order. */
export function webhookMessage(data: NotificationData): Record<string, unknown> {
  return {
    receiver: quoteMeta(data.receiver),
    status: data.status,
    alerts: data.alerts.map((alert) => ({
      status: alert.status,
      labels: sortedMap(alert.labels),
      annotations: sortedMap(alert.annotations),
      startsAt: rfc3339(alert.startsAt),
      endsAt: alert.endsAt === null ? GO_ZERO_TIME : rfc3339(alert.endsAt),
      generatorURL: alert.generatorURL,
      fingerprint: alert.fingerprint,
    })),
    groupLabels: sortedMap(data.groupLabels),
    commonLabels: sortedMap(data.commonLabels),
    commonAnnotations: sortedMap(data.commonAnnotations),
    externalURL: data.externalURL,
    version: "4",
    groupKey: data.groupKey,
    truncatedAlerts: data.truncatedAlerts,
  };
}

function lookup(data: NotificationData, name: string): string | undefined {
  switch (name) {
    case "status":
      return data.status;
    case "receiver":
      return data.receiver;
    case "groupKey":
      return data.groupKey;
    case "externalURL":
      return data.externalURL;
    case "alerts.count":
      return String(data.alerts.length);
    case "alerts.firing":
      return String(data.alerts.filter((alert) => alert.status === "firing").length);
    case "alerts.resolved":
      return String(data.alerts.filter((alert) => alert.status === "resolved").length);
    case "payload":
      return JSON.stringify(webhookMessage(data));
  }
  const dot = name.indexOf(".");
  const map = name.slice(0, dot);
  const key = name.slice(dot + 1);
  const source = map === "groupLabels"
    ? data.groupLabels
    : map === "commonLabels"
    ? data.commonLabels
    : map === "commonAnnotations"
    ? data.commonAnnotations
    : undefined;
  if (source === undefined || key === "") return undefined;
  return Object.hasOwn(source, key) ? source[key] : "";
}

/**
 * Renders `template` over `data`. With `json` true, each value is inserted JSON-escaped without its
 * quotes (write `"{{commonAnnotations.summary}}"`), except `payload`, inserted as JSON.
 */
export function renderBody(template: string, data: NotificationData, json: boolean): string {
  return template.replace(BODY_PLACEHOLDER, (_, name: string) => {
    const value = lookup(data, name) ?? "";
    if (!json || name === "payload") return value;
    return JSON.stringify(value).slice(1, -1);
  });
}

/** One alert of `POST /api/v2/alerts`. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
}

/**
 * The alerts as Prometheus posts them to Alertmanager at `sentAt`: a firing alert ends 4 resend
 * intervals later unless sent again (so it resolves by itself if the agent goes away), a resolved
 * one at its end.
 */
export function postableAlerts(
  alerts: readonly NotificationAlert[],
  sentAt: number,
  resendInterval: number,
): PostableAlert[] {
  return alerts.map((alert) => ({
    labels: sortedMap(alert.labels),
    annotations: sortedMap(alert.annotations),
    startsAt: rfc3339(alert.startsAt),
    endsAt: rfc3339(alert.endsAt ?? sentAt + 4 * resendInterval),
    generatorURL: alert.generatorURL,
  }));
}
