/**
 * Shared builders for the stage unit tests.
 *
 * @module
 */
import { type Config, ConfigSchema } from "../../../config/schema.ts";
import type { Envelope } from "../../../model/envelope.ts";

/** The default configuration. */
export const DEFAULTS: Config = ConfigSchema.parse({});

/** The `normalize` options with overrides (as written in YAML: durations as text). */
export function normalizeOptions(overrides: Record<string, unknown> = {}): Config["normalize"] {
  return ConfigSchema.parse({ normalize: overrides }).normalize;
}

/** The `features` options with overrides (durations as text). */
export function featureOptions(overrides: Record<string, unknown> = {}): Config["features"] {
  return ConfigSchema.parse({ features: overrides }).features;
}

/** 2025-10-21T10:00:00Z, the seed's first event time. */
export const T0 = Date.UTC(2025, 9, 21, 10, 0, 0);

/** Seconds / minutes after T0, in ms. */
export const sec = (n: number): number => T0 + n * 1_000;
/** Minutes after T0, in ms. */
export const min = (n: number): number => T0 + n * 60_000;

let counter = 0;

/** A normalized envelope with defaults (acme / host-a / cpu_load / percent). */
export function envelope(partial: Partial<Envelope> = {}): Envelope {
  counter++;
  return {
    v: 1,
    id: `t:0:${counter}:0`,
    tenant: "acme",
    host: "host-a",
    metric: "cpu_load",
    value: 0,
    unit: "percent",
    ts: T0,
    ts_ingest: T0,
    tags: {},
    ctx: {},
    source: { topic: "t", partition: 0, offset: String(counter), index: 0 },
    ...partial,
  };
}

/** UTF-8 bytes of text. */
export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A raw event object as in the brief, with overrides. */
export function rawEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tenant_id: "acme",
    host: "host-a",
    metric: "cpu_load",
    value: 85,
    ts_event: "2025-10-21T10:00:00Z",
    unit: "percent",
    tags: { env: "prod" },
    ...overrides,
  };
}
