/**
 * The notification file (config key `notify`, reloaded on change like the rules): receivers, the
 * route tree and inhibition rules, in Alertmanager's configuration format, plus how deliveries are
 * retried. Unknown keys are refused everywhere.
 *
 * ```yaml
 * route:                                  # the root route: every alert enters here
 *   receiver: ops                         # required at the root; children inherit it
 *   group_by: [alertname, tenant]         # '...' groups by every label; none: one group
 *   group_wait: 30s                       # first notification of a new group
 *   group_interval: 5m                    # next notification of a group that changed
 *   repeat_interval: 4h                   # re-send a group that did not change
 *   routes:
 *     - matchers: ['severity="critical"', 'site=~"par-.*"']
 *       receiver: pager
 *       continue: true                    # also try the next siblings
 * inhibit_rules:
 *   - source_matchers: ['severity="critical"']
 *     target_matchers: ['severity="warning"']
 *     equal: [tenant, host]
 * receivers:
 *   - name: ops
 *     webhook_configs:
 *       - url: http://127.0.0.1:5678/webhook/eventops
 *         http_config: { authorization: { credentials_env: EVENTOPS_NOTIFY_N8N_TOKEN } }
 *   - name: pager
 *     alertmanager_configs: [{ url: http://127.0.0.1:9093 }]
 *     kafka_configs: [{ topic: alerts.notify }]
 * delivery: { max_age: 24h, initial_backoff: 1s, max_backoff: 5m, timeout: 10s }
 * ```
 *
 * Secrets (bearer tokens, basic-auth passwords, HMAC keys) come from a file (`*_file`) or an
 * environment variable named `EVENTOPS_NOTIFY_*` (`*_env`, the only ones the sandbox lets the agent
 * read), never from this file; they are never logged.
 *
 * @module
 */
import { z } from "zod";
import { DurationSchema } from "../lib/duration.ts";
import { type LabelMatcher, labelMatcher, parseMatchers } from "./notify_matchers.ts";

/** Environment variables a secret may come from (the agent's sandbox allows only these). */
export const SECRET_ENV_PREFIX = "EVENTOPS_NOTIFY_";

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LabelNameSchema = z.string().regex(LABEL_NAME, "expected a label name (letters, digits and _)");
const ReceiverNameSchema = z.string().trim().min(1).regex(
  /^[A-Za-z0-9_.:@-]+$/,
  "expected a name of letters, digits and _ . : @ -",
);

/** A `matchers` list: strings as Alertmanager writes them, parsed. */
const MatcherListSchema = z.array(z.string()).transform((items, ctx) => {
  const out: LabelMatcher[] = [];
  items.forEach((item, index) => {
    try {
      out.push(...parseMatchers(item));
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        path: [index],
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
  return out;
});

/**
 * Alertmanager's deprecated `match` / `match_re` maps, turned into matchers. A `match_re` value is
 * kept anchored (`^(?:value)$`), as Alertmanager keeps it, so route keys and group keys are its.
 */
function mapMatchers(type: "=" | "=~") {
  return z.record(LabelNameSchema, z.string()).transform((map, ctx) => {
    const out: LabelMatcher[] = [];
    for (const [name, value] of Object.entries(map)) {
      try {
        out.push(labelMatcher(name, type, type === "=~" ? `^(?:${value})$` : value));
      } catch (error) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: error instanceof Error ? error.message : String(error),
        });
      }
    }
    return out;
  });
}

const HttpUrlSchema = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}, "expected an http:// or https:// URL");

const EnvNameSchema = z.string().refine(
  (name) =>
    name.startsWith(SECRET_ENV_PREFIX) && /^[A-Z0-9_]+$/.test(name) && name.length > SECRET_ENV_PREFIX.length,
  `expected an environment variable named ${SECRET_ENV_PREFIX}<NAME> (upper case; the agent's sandbox reads no other)`,
);

const SecretFileSchema = z.string().min(1);

const INLINE_SECRET =
  "inline secrets are not accepted: use a file (…_file) or an environment variable (…_env)";

const AuthorizationSchema = z.strictObject({
  type: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/).default("Bearer"),
  credentials: z.never({ error: INLINE_SECRET }).optional(),
  credentials_file: SecretFileSchema.optional(),
  credentials_env: EnvNameSchema.optional(),
}).refine((auth) => (auth.credentials_file === undefined) !== (auth.credentials_env === undefined), {
  message: "set exactly one of credentials_file or credentials_env",
});

const BasicAuthSchema = z.strictObject({
  username: z.string().min(1),
  password: z.never({ error: INLINE_SECRET }).optional(),
  password_file: SecretFileSchema.optional(),
  password_env: EnvNameSchema.optional(),
}).refine((auth) => (auth.password_file === undefined) !== (auth.password_env === undefined), {
  message: "set exactly one of password_file or password_env",
});

const HttpConfigSchema = z.strictObject({
  authorization: AuthorizationSchema.optional(),
  basic_auth: BasicAuthSchema.optional(),
  tls_config: z.strictObject({
    /** PEM file of the certificate authorities to trust (in addition to the system's). */
    ca_file: z.string().min(1).optional(),
  }).optional(),
}).refine((http) => !(http.authorization && http.basic_auth), {
  message: "set authorization or basic_auth, not both",
});

const HmacSchema = z.strictObject({
  secret_file: SecretFileSchema.optional(),
  secret_env: EnvNameSchema.optional(),
  /** The header carrying `sha256=<hex HMAC-SHA256 of the body>`. */
  header: z.string().regex(/^[A-Za-z0-9-]+$/).default("X-EventOps-Signature-256"),
}).refine((hmac) => (hmac.secret_file === undefined) !== (hmac.secret_env === undefined), {
  message: "set exactly one of secret_file or secret_env",
});

/** Headers the agent sets itself. */
const RESERVED_HEADERS = new Set(["content-length", "host", "idempotency-key", "authorization"]);

const HeadersSchema = z.record(
  z.string().regex(/^[A-Za-z0-9-]+$/, "expected a header name").refine(
    (name) => !RESERVED_HEADERS.has(name.toLowerCase()),
    "set by the agent (use http_config.authorization for Authorization)",
  ),
  z.string(),
);

/** Top-level placeholders of a `body_template`. */
export const BODY_TEMPLATE_FIELDS: readonly string[] = [
  "status",
  "receiver",
  "groupKey",
  "externalURL",
  "alerts.count",
  "alerts.firing",
  "alerts.resolved",
  "payload",
];
/** Map placeholders of a `body_template` (`{{commonLabels.host}}`). */
export const BODY_TEMPLATE_MAPS: readonly string[] = ["groupLabels", "commonLabels", "commonAnnotations"];
/** `{{ name }}` placeholders of a `body_template`. */
export const BODY_PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Whether `name` is a placeholder a body template may use. */
export function isBodyPlaceholder(name: string): boolean {
  if (BODY_TEMPLATE_FIELDS.includes(name)) return true;
  const dot = name.indexOf(".");
  return dot > 0 && dot < name.length - 1 && BODY_TEMPLATE_MAPS.includes(name.slice(0, dot)) &&
    LABEL_NAME.test(name.slice(dot + 1));
}

/** Whether `contentType` is JSON (`application/json`, `application/x+json`, with parameters). */
export function isJsonType(contentType: string): boolean {
  return /^application\/([\w.-]+\+)?json\s*(;.*)?$/i.test(contentType.trim());
}

function bodyTemplateProblem(template: string, contentType: string): string | undefined {
  for (const match of template.matchAll(BODY_PLACEHOLDER)) {
    if (!isBodyPlaceholder(match[1])) {
      return `unknown placeholder {{${match[1]}}}; use ${BODY_TEMPLATE_FIELDS.join(", ")} or ${
        BODY_TEMPLATE_MAPS.map((map) => `${map}.<label>`).join(", ")
      }`;
    }
  }
  if (!isJsonType(contentType)) return undefined;
  const sample = template.replace(BODY_PLACEHOLDER, (_, name: string) => name === "payload" ? "{}" : "x");
  try {
    JSON.parse(sample);
  } catch (error) {
    return `with content_type ${contentType} the rendered body must be JSON (values are inserted escaped, ` +
      `write them inside quotes): ${error instanceof Error ? error.message : error}`;
  }
  return undefined;
}

/** A webhook: the Alertmanager webhook payload (version 4), or `body_template`, POSTed to `url`. */
export const WebhookConfigSchema = z.strictObject({
  url: HttpUrlSchema,
  send_resolved: z.boolean().default(true),
  /** Most alerts per notification (the rest are counted in `truncatedAlerts`); 0: all. */
  max_alerts: z.int().min(0).default(0),
  /** Per request; default `delivery.timeout`. */
  timeout: DurationSchema.optional(),
  headers: HeadersSchema.default({}),
  http_config: HttpConfigSchema.optional(),
  hmac: HmacSchema.optional(),
  /**
   * A body instead of the payload: text with placeholders `{{status}}`, `{{receiver}}`,
   * `{{groupKey}}`, `{{externalURL}}`, `{{alerts.count}}`, `{{alerts.firing}}`, `{{alerts.resolved}}`,
   * `{{groupLabels.<name>}}`, `{{commonLabels.<name>}}`, `{{commonAnnotations.<name>}}`,
   * `{{payload}}` (the whole payload as JSON). With a JSON `content_type`, values are JSON-escaped
   * (write them inside quotes) and the result must be JSON.
   */
  body_template: z.string().min(1).optional(),
  content_type: z.string().min(1).default("application/json"),
}).superRefine((webhook, ctx) => {
  if (webhook.body_template === undefined) return;
  const problem = bodyTemplateProblem(webhook.body_template, webhook.content_type);
  if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["body_template"], message: problem });
});
/** A webhook receiver's settings. */
export type WebhookConfig = z.output<typeof WebhookConfigSchema>;

/** A real Alertmanager, fed through `POST /api/v2/alerts` as Prometheus feeds it. */
export const AlertmanagerConfigSchema = z.strictObject({
  /** Base URL (`http://host:9093`, or with a path prefix). */
  url: HttpUrlSchema,
  send_resolved: z.boolean().default(true),
  timeout: DurationSchema.optional(),
  /** Firing alerts are sent again this often (they expire in Alertmanager after 4 times this). */
  resend_interval: DurationSchema.prefault("1m"),
  http_config: HttpConfigSchema.optional(),
});
/** An Alertmanager receiver's settings. */
export type AlertmanagerConfig = z.output<typeof AlertmanagerConfigSchema>;

/** A Kafka topic: each notification's payload (version 4), keyed by its group key. */
export const KafkaConfigSchema = z.strictObject({
  topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, "expected a Kafka topic name"),
  send_resolved: z.boolean().default(true),
});
/** A Kafka receiver's settings. */
export type KafkaConfig = z.output<typeof KafkaConfigSchema>;

/** One receiver: a name and any number of integrations. */
export const ReceiverSchema = z.strictObject({
  name: ReceiverNameSchema,
  webhook_configs: z.array(WebhookConfigSchema).default([]),
  alertmanager_configs: z.array(AlertmanagerConfigSchema).default([]),
  kafka_configs: z.array(KafkaConfigSchema).default([]),
});
/** A receiver. */
export type ReceiverConfig = z.output<typeof ReceiverSchema>;

const GroupBySchema = z.array(z.string()).superRefine((names, ctx) => {
  names.forEach((name, index) => {
    if (name !== "..." && !LABEL_NAME.test(name)) {
      ctx.addIssue({
        code: "custom",
        path: [index],
        message: "expected a label name or '...' (every label)",
      });
    }
  });
  if (names.includes("...") && names.length > 1) {
    ctx.addIssue({ code: "custom", message: "'...' groups by every label; list nothing else with it" });
  }
});

const PositiveDuration = DurationSchema.refine((ms) => ms > 0, "must be more than 0s");

/** A route as written (children recursively). */
export interface RouteInput {
  receiver?: string;
  group_by?: string[];
  continue?: boolean;
  matchers?: string[];
  match?: Record<string, string>;
  match_re?: Record<string, string>;
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: RouteInput[];
}

/** A route, validated: matchers parsed, durations in ms; unset options inherit from the parent. */
export interface RouteConfig {
  receiver?: string;
  group_by?: string[];
  continue: boolean;
  matchers: LabelMatcher[];
  group_wait?: number;
  group_interval?: number;
  repeat_interval?: number;
  routes: RouteConfig[];
}

/** One route of the tree. */
export const RouteSchema: z.ZodType<RouteConfig, RouteInput> = z.strictObject({
  receiver: ReceiverNameSchema.optional(),
  group_by: GroupBySchema.optional(),
  continue: z.boolean().default(false),
  matchers: MatcherListSchema.optional(),
  match: mapMatchers("=").optional(),
  match_re: mapMatchers("=~").optional(),
  group_wait: DurationSchema.optional(),
  group_interval: PositiveDuration.optional(),
  repeat_interval: PositiveDuration.optional(),
  get routes() {
    return z.array(RouteSchema).default([]);
  },
}).transform(({ matchers, match, match_re, ...route }) => ({
  ...route,
  matchers: [...(match ?? []), ...(match_re ?? []), ...(matchers ?? [])],
}));

/** An inhibition rule: a firing source alert mutes the target alerts with the same `equal` labels. */
export const InhibitRuleSchema = z.strictObject({
  source_matchers: MatcherListSchema.optional(),
  target_matchers: MatcherListSchema.optional(),
  source_match: mapMatchers("=").optional(),
  target_match: mapMatchers("=").optional(),
  source_match_re: mapMatchers("=~").optional(),
  target_match_re: mapMatchers("=~").optional(),
  equal: z.array(LabelNameSchema).default([]),
}).transform((rule) => ({
  source: [...(rule.source_match ?? []), ...(rule.source_match_re ?? []), ...(rule.source_matchers ?? [])],
  target: [...(rule.target_match ?? []), ...(rule.target_match_re ?? []), ...(rule.target_matchers ?? [])],
  equal: rule.equal,
}));
/** An inhibition rule (matchers parsed). */
export type InhibitRule = z.output<typeof InhibitRuleSchema>;

/** How notifications are delivered. */
export const DeliverySchema = z.strictObject({
  /** A notification not delivered this long after it was made is given up and recorded as failed. */
  max_age: PositiveDuration.prefault("24h"),
  /** The first retry waits about this long; each next one twice as long (with jitter). */
  initial_backoff: PositiveDuration.prefault("1s"),
  /** The longest wait between two attempts. */
  max_backoff: PositiveDuration.prefault("5m"),
  /** Default timeout of one request. */
  timeout: PositiveDuration.prefault("10s"),
  /** Most requests in flight at once (over all receivers). */
  max_in_flight: z.int().min(1).max(64).default(4),
  /** Delivered and failed notifications are kept this long (`/notifications`). */
  history: PositiveDuration.prefault("7d"),
});
/** Delivery settings (ms). */
export type DeliveryConfig = z.output<typeof DeliverySchema>;

/** Defaults of the root route, as in Alertmanager. */
export const ROUTE_DEFAULTS = {
  group_wait: 30_000,
  group_interval: 300_000,
  repeat_interval: 14_400_000,
} as const;

function routeProblems(
  route: RouteConfig,
  path: (string | number)[],
  names: Set<string>,
  ctx: z.RefinementCtx,
): void {
  if (route.receiver !== undefined && !names.has(route.receiver)) {
    ctx.addIssue({
      code: "custom",
      path: [...path, "receiver"],
      message: `no receiver named ${JSON.stringify(route.receiver)} (receivers: ${
        [...names].join(", ") || "none"
      })`,
    });
  }
  route.routes.forEach((child, index) => routeProblems(child, [...path, "routes", index], names, ctx));
}

/** The notification file. */
export const NotifyFileSchema = z.strictObject({
  global: z.strictObject({
    /** Base of the links in notifications (`externalURL`, `generatorURL`); default http://<hostname>:<http.port>. */
    external_url: HttpUrlSchema.optional(),
  }).prefault({}),
  route: RouteSchema,
  inhibit_rules: z.array(InhibitRuleSchema).default([]),
  receivers: z.array(ReceiverSchema).min(1, "define at least one receiver"),
  delivery: DeliverySchema.prefault({}),
}).superRefine((file, ctx) => {
  const names = new Set<string>();
  file.receivers.forEach((receiver, index) => {
    if (names.has(receiver.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["receivers", index, "name"],
        message: `duplicate receiver ${receiver.name}`,
      });
    }
    names.add(receiver.name);
  });
  if (file.route.receiver === undefined) {
    ctx.addIssue({ code: "custom", path: ["route", "receiver"], message: "the root route needs a receiver" });
  }
  if (file.route.matchers.length > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["route", "matchers"],
      message: "the root route must not have matchers",
    });
  }
  if (file.route.continue) {
    ctx.addIssue({ code: "custom", path: ["route", "continue"], message: "the root route cannot continue" });
  }
  routeProblems(file.route, ["route"], names, ctx);
  if (file.delivery.max_backoff < file.delivery.initial_backoff) {
    ctx.addIssue({
      code: "custom",
      path: ["delivery", "max_backoff"],
      message: "must be at least delivery.initial_backoff",
    });
  }
});
/** The notification file (validated). */
export type NotifyFile = z.output<typeof NotifyFileSchema>;
