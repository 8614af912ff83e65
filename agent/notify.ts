/**
 * The agent's alert delivery: the notifier (`notify/notifier.ts`) over the store's notification
 * tables, the notification file (`notify`, reloaded on change; a bad edit is logged and the previous
 * version kept), the inventory (labels `site`, `role`, ...), the Kafka producer (for `kafka_configs`)
 * and its metric families.
 *
 * @module
 */
import type { StoredAlert } from "../model/query.ts";
import type { Admin } from "@platformatic/kafka";
import { registerFamilies, registerFamily } from "../telemetry/families.ts";
import type { Registry } from "../telemetry/registry.ts";
import type { Config } from "../config/schema.ts";
import type { ByteProducer } from "../kafka/clients.ts";
import type { Logger } from "../lib/log.ts";
import { loadNotify } from "../notify/load.ts";
import type { KafkaPublish } from "../notify/deliver.ts";
import { Notifier, type NotifyMetrics } from "../notify/notifier.ts";
import { emptyPlan } from "../notify/plan.ts";
import type { IntegrationSecrets } from "../notify/request.ts";
import { ReloadableFile } from "../pipeline/reload.ts";
import { emptyInventory, parseInventory } from "../stages/inventory.ts";
import { NotifyStore } from "../store/notify.ts";
import type { Store } from "../store/mod.ts";
import { VERSION } from "../version.ts";

/** The running alert delivery. */
export interface AgentNotify {
  readonly notifier: Notifier;
  /** Alerts were stored: dispatch them (`stored`: the batch's, handed over as they are). */
  wake(stored: readonly StoredAlert[]): void;
  stop(): Promise<void>;
}

/** The default base of links in notifications: this host and the API's port. */
export function defaultExternalUrl(config: Config): string {
  const host = config.http.host === "0.0.0.0" || config.http.host === "::"
    ? safeHostname()
    : config.http.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.http.port}`;
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

function notifyMetrics(registry: Registry): NotifyMetrics {
  const { notificationsSent: sent, notificationsFailed: failed, notificationRetries: retries } =
    registerFamilies(registry, ["notificationsSent", "notificationsFailed", "notificationRetries"]);
  const depth = registerFamily(registry, "notificationQueueDepth");
  const oldest = registerFamily(registry, "notificationOldestPending");
  return {
    sent: (receiver, kind, resend) => sent.labels(receiver, kind, String(resend)).inc(),
    failed: (receiver, kind) => failed.labels(receiver, kind).inc(),
    retried: (receiver, kind) => retries.labels(receiver, kind).inc(),
    queue: (count, seconds) => {
      depth.labels().set(count);
      oldest.labels().set(seconds);
    },
  };
}

/** Publishes to Kafka with `producer`, creating a missing topic once (like the agent's own topics). */
function kafkaPublish(producer: ByteProducer, admin: Admin, config: Config): KafkaPublish {
  const known = new Set<string>();
  return async (topic, key, value, headers) => {
    if (!known.has(topic)) {
      const existing = new Set(await admin.listTopics({ includeInternals: false }));
      if (!existing.has(topic)) {
        await admin.createTopics({
          topics: [topic],
          partitions: config.topics.partitions,
          replicas: config.topics.replication_factor,
        }).catch(async (error) => {
          if (!(await admin.listTopics({ includeInternals: false })).includes(topic)) throw error;
        });
      }
      known.add(topic);
    }
    const headerMap = new Map<Buffer, Buffer>();
    for (const [name, text] of Object.entries(headers)) headerMap.set(Buffer.from(name), Buffer.from(text));
    await producer.send({
      messages: [{ topic, key: Buffer.from(key), value: Buffer.from(value), headers: headerMap }],
    });
  };
}

/**
 * Starts alert delivery on the open `store`: loads the notification file (a bad one stops the agent
 * with file, line, key path and expectation), silences, acknowledgements and the notification
 * state, and starts dispatching and sending. Registers the gauge `eventops_alerts_firing`.
 */
export async function startNotify(
  config: Config,
  log: Logger,
  parts: { store: Store; registry: Registry; producer: ByteProducer; admin: Admin },
): Promise<AgentNotify> {
  const externalUrl = defaultExternalUrl(config);
  const load = (text: string, file: string) => loadNotify(text, file, externalUrl);
  let notifier: Notifier | undefined;
  const notifyFile = config.notify
    ? await ReloadableFile.open(config.notify, load, log, (loaded) => {
      notifier?.replan(loaded.plan, loaded.secrets);
    })
    : undefined;
  const inventoryFile = config.inventory
    ? await ReloadableFile.open(config.inventory, parseInventory, log)
    : undefined;
  const fallbackInventory = emptyInventory();
  const ledger = await NotifyStore.open(parts.store);
  try {
    notifier = await Notifier.start({
      ledger,
      plan: notifyFile?.value.plan ?? emptyPlan(externalUrl),
      secrets: notifyFile?.value.secrets ?? new Map<string, IntegrationSecrets>(),
      contextOf: (tenant, host) => (inventoryFile?.value ?? fallbackInventory).lookup(tenant, host),
      log,
      metrics: notifyMetrics(parts.registry),
      kafka: kafkaPublish(parts.producer, parts.admin, config),
      userAgent: `EventOps/${VERSION}`,
    });
  } catch (error) {
    notifyFile?.close();
    inventoryFile?.close();
    ledger.close();
    throw error;
  }
  const running = notifier;
  const firing = registerFamily(parts.registry, "alertsFiring");
  parts.registry.onCollect(() => {
    firing.reset();
    for (const alert of running.activeAlerts()) firing.labels(alert.rule, alert.severity).inc();
  });
  if (notifyFile) {
    const { receivers } = notifyFile.value.file;
    log.info("alert delivery", { file: config.notify, receivers: receivers.map((r) => r.name).join(", ") });
  }
  return {
    notifier: running,
    wake: (stored) => running.wake(stored),
    stop: async () => {
      notifyFile?.close();
      inventoryFile?.close();
      await running.stop();
      ledger.close();
    },
  };
}
