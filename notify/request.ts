/**
 * The HTTP request of one delivery attempt (pure, apart from the HMAC's Web Crypto call): URL,
 * headers and body for a webhook or an Alertmanager, and how an answer is classified.
 *
 * Every request carries `Idempotency-Key: <notification id>` (the same on every attempt, so a
 * receiver can drop a repeat after a crash) and `User-Agent: EventOps/<version>`; a webhook's
 * `hmac` adds `<header>: sha256=<hex HMAC-SHA256 of the body>` (as GitHub signs webhooks).
 *
 * @module
 */
import { isJsonType } from "../config/notify.ts";
import type { NotificationData } from "./payload.ts";
import { postableAlerts, renderBody, webhookMessage } from "./payload.ts";
import type { Integration } from "./plan.ts";

/** Secrets of one integration, read from their files or environment variables. */
export interface IntegrationSecrets {
  /** The `Authorization` header value. */
  readonly authorization?: string;
  readonly hmacKey?: string;
  /** PEM certificate authorities to trust besides the system's (`tls_config.ca_file`). */
  readonly caCert?: string;
}

/** One HTTP request. */
export interface DeliveryRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly timeoutMs: number;
}

/** How an attempt ended. */
export type AttemptOutcome =
  | { readonly kind: "delivered" }
  | { readonly kind: "retry"; readonly error: string }
  | { readonly kind: "failed"; readonly error: string };

async function hmacHex(key: string, body: string): Promise<string> {
  const encoder = new TextEncoder();
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(body)));
  return Array.from(signature, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The webhook body of `data` (the payload, or the integration's body template). */
export function webhookBody(
  integration: Extract<Integration, { kind: "webhook" }>,
  data: NotificationData,
): string {
  const { body_template: template, content_type: contentType } = integration.config;
  return template === undefined
    ? JSON.stringify(webhookMessage(data))
    : renderBody(template, data, isJsonType(contentType));
}

/**
 * The request of one attempt to deliver `data` with id `id` through an HTTP integration at
 * `sentAt` (Alertmanager: the alerts' ends are computed from it).
 */
export async function deliveryRequest(
  integration: Exclude<Integration, { kind: "kafka" }>,
  id: string,
  data: NotificationData,
  secrets: IntegrationSecrets,
  defaultTimeoutMs: number,
  sentAt: number,
  userAgent: string,
): Promise<DeliveryRequest> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": userAgent,
    "Idempotency-Key": id,
  };
  let url: string;
  let body: string;
  if (integration.kind === "webhook") {
    const config = integration.config;
    url = config.url;
    body = webhookBody(integration, data);
    headers["Content-Type"] = config.content_type;
    for (const [name, value] of Object.entries(config.headers)) headers[name] = value;
    if (config.hmac && secrets.hmacKey !== undefined) {
      headers[config.hmac.header] = `sha256=${await hmacHex(secrets.hmacKey, body)}`;
    }
  } else {
    url = `${integration.config.url.replace(/\/+$/, "")}/api/v2/alerts`;
    body = JSON.stringify(postableAlerts(data.alerts, sentAt, integration.config.resend_interval));
  }
  if (secrets.authorization !== undefined) headers.Authorization = secrets.authorization;
  return { url, headers, body, timeoutMs: integration.config.timeout ?? defaultTimeoutMs };
}

/**
 * What an HTTP answer means, as Alertmanager's retrier reads it: 2xx delivered; 5xx, 408 and 429
 * retried; any other status failed for good (the receiver refuses the request as it is).
 */
export function classifyStatus(status: number, body: string): AttemptOutcome {
  if (status >= 200 && status < 300) return { kind: "delivered" };
  const excerpt = body.length > 200 ? `${body.slice(0, 200)}…` : body;
  const error = `HTTP ${status}${excerpt.trim() === "" ? "" : `: ${excerpt.trim()}`}`;
  if (status >= 500 || status === 408 || status === 429) return { kind: "retry", error };
  return { kind: "failed", error };
}

/**
 * The wait before attempt `attempt + 1` after `attempt` failed ones: `initial * 2^(attempt-1)`
 * capped at `max`, with equal jitter (half fixed, half random) so receivers coming back are not hit
 * by every sender at once. `random` returns [0, 1).
 */
export function backoff(attempt: number, initialMs: number, maxMs: number, random: () => number): number {
  const exp = Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  return Math.round(exp / 2 + random() * (exp / 2));
}
