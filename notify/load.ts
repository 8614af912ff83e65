/**
 * Loads the notification file (`notify`): YAML validated by `config/notify.ts`, then what only the
 * running agent can check — each secret readable from its file or environment variable, each
 * receiver's host allowed by the agent's sandbox. Every problem names the file, the line, the key
 * path and what to do; secrets are never in a message.
 *
 * @module
 */
import { type NotifyFile, NotifyFileSchema } from "../config/notify.ts";
import { lineOf, parseYamlSpec, SpecError } from "../lib/yaml_spec.ts";
import { compilePlan, integrationId, type NotifyPlan } from "./plan.ts";
import type { IntegrationSecrets } from "./request.ts";

/** A loaded notification file. */
export interface LoadedNotify {
  readonly file: NotifyFile;
  readonly plan: NotifyPlan;
  /** Secrets by integration id. */
  readonly secrets: ReadonlyMap<string, IntegrationSecrets>;
}

/** How the loader reaches the outside (replaceable in tests). */
export interface LoadEnvironment {
  readFile(path: string): string;
  env(name: string): string | undefined;
  /** Whether the sandbox lets the agent connect to `host` (`name:port`). */
  netAllowed(host: string): boolean;
}

/** The agent's own environment: files, variables and Deno's permissions. */
export const AGENT_ENVIRONMENT: LoadEnvironment = {
  readFile: (path) => Deno.readTextFileSync(path),
  env: (name) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  },
  netAllowed: (host) => Deno.permissions.querySync({ name: "net", host }).state === "granted",
};

/** Parses and validates the notification file (no I/O). Throws a SpecError. */
export function parseNotifyFile(text: string, file: string): NotifyFile {
  return parseYamlSpec(text, file, NotifyFileSchema);
}

interface SecretSource {
  file?: string;
  env?: string;
}

function hostOf(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  return `${parsed.hostname}:${port}`;
}

/**
 * Loads `text` (the file `file`): parses it, reads its secrets and checks its hosts against the
 * sandbox. `externalURL` is the default base of links. Throws a SpecError listing every problem.
 */
export function loadNotify(
  text: string,
  file: string,
  externalURL: string,
  environment: LoadEnvironment = AGENT_ENVIRONMENT,
): LoadedNotify {
  const parsed = parseNotifyFile(text, file);
  const problems: string[] = [];
  const at = (path: (string | number)[], message: string) =>
    problems.push(`${file}${lineOf(text, path)}: ${formatPath(path)}: ${message}`);
  const readSecret = (source: SecretSource, path: (string | number)[], key: string): string | undefined => {
    if (source.file !== undefined) {
      try {
        const value = environment.readFile(source.file).trim();
        if (value === "") at([...path, `${key}_file`], `${source.file} is empty`);
        return value === "" ? undefined : value;
      } catch (error) {
        at(
          [...path, `${key}_file`],
          `cannot read ${source.file}: ${error instanceof Error ? error.message : error}`,
        );
        return undefined;
      }
    }
    if (source.env !== undefined) {
      const value = environment.env(source.env)?.trim();
      if (value === undefined || value === "") at([...path, `${key}_env`], `${source.env} is not set`);
      return value === "" ? undefined : value;
    }
    return undefined;
  };
  const secrets = new Map<string, IntegrationSecrets>();
  parsed.receivers.forEach((receiver, r) => {
    const http = [
      ...receiver.webhook_configs.map((config, i) => ({ kind: "webhook" as const, config, i })),
      ...receiver.alertmanager_configs.map((config, i) => ({ kind: "alertmanager" as const, config, i })),
    ];
    for (const { kind, config, i } of http) {
      const path: (string | number)[] = ["receivers", r, `${kind}_configs`, i];
      const host = hostOf(config.url);
      if (!environment.netAllowed(host)) {
        at(
          [...path, "url"],
          `the agent's sandbox does not allow connecting to ${host}: add "${
            new URL(config.url).hostname
          }" to permissions.agent.net in deno.json`,
        );
      }
      let authorization: string | undefined;
      const auth = config.http_config?.authorization;
      const basic = config.http_config?.basic_auth;
      if (auth) {
        const secret = readSecret(
          { file: auth.credentials_file, env: auth.credentials_env },
          [...path, "http_config", "authorization"],
          "credentials",
        );
        if (secret !== undefined) authorization = `${auth.type} ${secret}`;
      } else if (basic) {
        const secret = readSecret(
          { file: basic.password_file, env: basic.password_env },
          [...path, "http_config", "basic_auth"],
          "password",
        );
        if (secret !== undefined) authorization = `Basic ${btoa(`${basic.username}:${secret}`)}`;
      }
      let hmacKey: string | undefined;
      if (kind === "webhook" && config.hmac) {
        hmacKey = readSecret({ file: config.hmac.secret_file, env: config.hmac.secret_env }, [
          ...path,
          "hmac",
        ], "secret");
      }
      let caCert: string | undefined;
      const caFile = config.http_config?.tls_config?.ca_file;
      if (caFile !== undefined) {
        try {
          caCert = environment.readFile(caFile);
          if (!caCert.includes("-----BEGIN CERTIFICATE-----")) {
            at([...path, "http_config", "tls_config", "ca_file"], `${caFile} holds no PEM certificate`);
          }
        } catch (error) {
          at(
            [...path, "http_config", "tls_config", "ca_file"],
            `cannot read ${caFile}: ${error instanceof Error ? error.message : error}`,
          );
        }
      }
      secrets.set(integrationId(receiver.name, kind, i), { authorization, hmacKey, caCert });
    }
  });
  if (problems.length > 0) throw new SpecError(problems);
  return { file: parsed, plan: compilePlan(parsed, externalURL), secrets };
}

function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return out;
}
