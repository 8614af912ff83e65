/**
 * One delivery attempt (the I/O edge): an HTTP POST to a webhook or an Alertmanager, or a record to
 * a Kafka topic, classified as delivered, to retry, or failed for good. Never throws; errors never
 * carry secrets or the URL (which may hold credentials).
 *
 * @module
 */
import type { NotificationData } from "./payload.ts";
import { webhookMessage } from "./payload.ts";
import type { Integration } from "./plan.ts";
import { type AttemptOutcome, classifyStatus, deliveryRequest, type IntegrationSecrets } from "./request.ts";

/** Produces one record to a Kafka topic (resolves once the broker acknowledged it). */
export type KafkaPublish = (
  topic: string,
  key: string,
  value: string,
  headers: Record<string, string>,
) => Promise<void>;

/** What an attempt needs besides the notification. */
export interface DeliverDeps {
  readonly secrets: (integrationId: string) => IntegrationSecrets;
  readonly kafka?: KafkaPublish;
  readonly defaultTimeoutMs: number;
  readonly userAgent: string;
  /** `fetch`, replaceable in tests. */
  readonly fetch?: typeof fetch;
}

/** Control characters (except tab and line breaks) in a receiver's answer, shown as `?`. */
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000e-\u001f]/g;

/** Most bytes of a receiver's answer read (for the error message); the rest is discarded. */
const MAX_ANSWER_BYTES = 4_096;

async function readSome(response: Response): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const bytes = new Uint8Array(Math.min(size, MAX_ANSWER_BYTES));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
    if (offset >= bytes.length) break;
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes).replace(CONTROL_CHARACTERS, "?");
}

function explain(error: unknown): string {
  if (error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return "timed out";
  }
  let text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  // fetch says "fetch failed"; the reason (refused, DNS, TLS) is in its cause.
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) text += `: ${cause.message}`;
  // fetch's messages name the URL, which may hold credentials: keep the reason only.
  return text.replace(/\(?https?:\/\/[^\s)]+\)?/g, "<url>").slice(0, 300);
}

/** Delivers `data` (id `id`) through `integration` at `sentAt`. */
export async function deliver(
  integration: Integration,
  id: string,
  groupKey: string,
  data: NotificationData,
  sentAt: number,
  deps: DeliverDeps,
): Promise<AttemptOutcome> {
  if (integration.kind === "kafka") {
    if (deps.kafka === undefined) return { kind: "retry", error: "no Kafka producer in this process" };
    try {
      await deps.kafka(integration.config.topic, groupKey, JSON.stringify(webhookMessage(data)), {
        "Idempotency-Key": id,
      });
      return { kind: "delivered" };
    } catch (error) {
      return { kind: "retry", error: explain(error) };
    }
  }
  let request;
  try {
    request = await deliveryRequest(
      integration,
      id,
      data,
      deps.secrets(integration.id),
      deps.defaultTimeoutMs,
      sentAt,
      deps.userAgent,
    );
  } catch (error) {
    return { kind: "failed", error: `cannot build the request: ${explain(error)}` };
  }
  const caCert = deps.secrets(integration.id).caCert;
  const client = caCert === undefined ? undefined : Deno.createHttpClient({ caCerts: [caCert] });
  try {
    const response = await (deps.fetch ?? fetch)(request.url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(request.timeoutMs),
      redirect: "manual",
      ...(client ? { client } : {}),
    });
    return classifyStatus(response.status, await readSome(response));
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      return {
        kind: "failed",
        error: `the agent's sandbox does not allow this host (deno.json permissions.agent.net): ${
          explain(error)
        }`,
      };
    }
    return { kind: "retry", error: explain(error) };
  } finally {
    client?.close();
  }
}
