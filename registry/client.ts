/**
 * A client of a Confluent-compatible schema registry's REST API (Redpanda's built-in registry,
 * Confluent, Karapace, AxonOps): schemas by id, registration, compatibility checks and levels.
 * Basic auth and a CA file from `schema_registry.*`. A registry that cannot be reached (network error,
 * timeout, 5xx) throws {@link RegistryUnavailableError}; a definite answer (404, 409, 422) does not.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { describeError } from "../lib/errors.ts";
import type { RegisteredSchema } from "./decode.ts";

/** The registry could not be reached or failed (retry later; never a reason to dead-letter). */
export class RegistryUnavailableError extends Error {
  override name = "RegistryUnavailableError";
}

/** A definite refusal by the registry (its HTTP status and error message). */
export class RegistryError extends Error {
  override name = "RegistryError";
  /** HTTP status and the registry's `error_code`. */
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }
}

/** A schema to register or check: its type and text (and references, none for the agent's). */
export interface SchemaToRegister {
  schemaType: "AVRO" | "JSON";
  schema: string;
}

/** The registry's answer to a compatibility check. */
export interface CompatibilityAnswer {
  compatible: boolean;
  messages: string[];
}

const CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

/** A registry client for `config.schema_registry` (whose `url` must be set). */
export class RegistryClient {
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;
  readonly #client: Deno.HttpClient | undefined;

  /** A client of the registry at `settings.url`. */
  constructor(settings: Config["schema_registry"]) {
    if (settings.url === "") throw new Error("schema_registry.url is not set");
    this.#base = settings.url.replace(/\/+$/, "");
    this.#headers = { Accept: CONTENT_TYPE, "Content-Type": CONTENT_TYPE };
    if (settings.username !== "") {
      this.#headers.Authorization = `Basic ${btoa(`${settings.username}:${settings.password}`)}`;
    }
    this.#timeoutMs = settings.timeout;
    this.#client = settings.ca_file === ""
      ? undefined
      : Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(settings.ca_file)] });
  }

  /** The registry's URL (for messages). */
  get url(): string {
    return this.#base;
  }

  /** One request; JSON answer, or undefined for a 404; throws on anything else. */
  async #request(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers: this.#headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(this.#client ? { client: this.#client } : {}),
      });
    } catch (error) {
      throw new RegistryUnavailableError(
        `schema registry ${this.#base} unreachable (${method} ${path}): ${describeError(error)}`,
      );
    }
    const text = await response.text();
    let json: unknown = undefined;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch { /* not JSON: reported below */ }
    if (response.ok) return json;
    if (response.status >= 500 || response.status === 429) {
      throw new RegistryUnavailableError(
        `schema registry ${this.#base} failed (${method} ${path}): HTTP ${response.status} ${
          text.slice(0, 200)
        }`,
      );
    }
    const answer = (json ?? {}) as { error_code?: number; message?: string };
    throw new RegistryError(
      response.status,
      answer.error_code ?? response.status,
      `schema registry ${method} ${path}: HTTP ${response.status} ${answer.message ?? text.slice(0, 200)}`,
    );
  }

  /** The schema registered as `id`, or undefined when the registry does not know it. */
  async schemaById(id: number): Promise<RegisteredSchema | undefined> {
    try {
      const answer = await this.#request("GET", `/schemas/ids/${id}`) as Partial<RegisteredSchema>;
      return { schemaType: answer.schemaType ?? "AVRO", schema: String(answer.schema ?? "") };
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Registers `schema` under `subject` (idempotent: the same schema keeps its id); returns the id. */
  async register(subject: string, schema: SchemaToRegister): Promise<number> {
    const answer = await this.#request("POST", `/subjects/${encodeURIComponent(subject)}/versions`, schema);
    return Number((answer as { id?: number }).id);
  }

  /** The id of `schema` if it is registered under `subject`, else undefined. */
  async lookup(subject: string, schema: SchemaToRegister): Promise<number | undefined> {
    try {
      const answer = await this.#request("POST", `/subjects/${encodeURIComponent(subject)}`, schema);
      return Number((answer as { id?: number }).id);
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Whether `schema` is compatible with the latest version of `subject` (true when the subject is new). */
  async compatible(subject: string, schema: SchemaToRegister): Promise<CompatibilityAnswer> {
    try {
      const answer = await this.#request(
        "POST",
        `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`,
        schema,
      ) as { is_compatible?: boolean; messages?: string[] };
      return { compatible: answer.is_compatible === true, messages: answer.messages ?? [] };
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) return { compatible: true, messages: [] };
      throw error;
    }
  }

  /** Sets the compatibility level of `subject`. */
  async setCompatibility(subject: string, level: string): Promise<void> {
    await this.#request("PUT", `/config/${encodeURIComponent(subject)}`, { compatibility: level });
  }
}
