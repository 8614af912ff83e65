/**
 * A notification file compiled for dispatch: the route tree, the receivers and their integrations
 * (each with a stable id), the inhibition rules and the external URL.
 *
 * @module
 */
import type {
  AlertmanagerConfig,
  DeliveryConfig,
  InhibitRule,
  KafkaConfig,
  NotifyFile,
  WebhookConfig,
} from "../config/notify.ts";
import { DeliverySchema } from "../config/notify.ts";
import { compileRoute, type Route } from "./route.ts";

/** One way a receiver is notified. */
export type Integration =
  | {
    readonly kind: "webhook";
    readonly id: string;
    readonly receiver: string;
    readonly config: WebhookConfig;
  }
  | {
    readonly kind: "alertmanager";
    readonly id: string;
    readonly receiver: string;
    readonly config: AlertmanagerConfig;
  }
  | { readonly kind: "kafka"; readonly id: string; readonly receiver: string; readonly config: KafkaConfig };

/** The kinds of integrations. */
export type IntegrationKind = Integration["kind"];

/** A receiver and its integrations. */
export interface Receiver {
  readonly name: string;
  readonly integrations: readonly Integration[];
}

/** Everything dispatch needs from the notification file. */
export interface NotifyPlan {
  /** The route tree; undefined when no notification file is configured (nothing is routed). */
  readonly route: Route | undefined;
  readonly receivers: ReadonlyMap<string, Receiver>;
  readonly inhibitRules: readonly InhibitRule[];
  readonly externalURL: string;
  readonly delivery: DeliveryConfig;
}

/** The id of an integration: `<receiver>/<kind>/<index>`. */
export function integrationId(receiver: string, kind: IntegrationKind, index: number): string {
  return `${receiver}/${kind}/${index}`;
}

/** Compiles a validated notification file; `externalURL` is used when the file sets none. */
export function compilePlan(file: NotifyFile, externalURL: string): NotifyPlan {
  const receivers = new Map<string, Receiver>();
  for (const receiver of file.receivers) {
    const name = receiver.name;
    const integrations: Integration[] = [
      ...receiver.webhook_configs.map((config, i) => ({
        kind: "webhook" as const,
        id: integrationId(name, "webhook", i),
        receiver: name,
        config,
      })),
      ...receiver.alertmanager_configs.map((config, i) => ({
        kind: "alertmanager" as const,
        id: integrationId(name, "alertmanager", i),
        receiver: name,
        config,
      })),
      ...receiver.kafka_configs.map((config, i) => ({
        kind: "kafka" as const,
        id: integrationId(name, "kafka", i),
        receiver: name,
        config,
      })),
    ];
    receivers.set(name, { name, integrations });
  }
  return {
    route: compileRoute(file.route),
    receivers,
    inhibitRules: file.inhibit_rules,
    externalURL: (file.global.external_url ?? externalURL).replace(/\/+$/, ""),
    delivery: file.delivery,
  };
}

/** The plan without a notification file: nothing is routed (silences and acknowledgements still work). */
export function emptyPlan(externalURL: string): NotifyPlan {
  return {
    route: undefined,
    receivers: new Map(),
    inhibitRules: [],
    externalURL: externalURL.replace(/\/+$/, ""),
    delivery: DeliverySchema.parse({}),
  };
}

/** Every integration of the plan, by id. */
export function integrationsById(plan: NotifyPlan): Map<string, Integration> {
  const out = new Map<string, Integration>();
  for (const receiver of plan.receivers.values()) {
    for (const integration of receiver.integrations) out.set(integration.id, integration);
  }
  return out;
}
