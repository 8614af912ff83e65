/**
 * The inventory: a small CMDB mapping tenant/host (exact or glob) to context (`ctx`) for enrichment.
 *
 * ```yaml
 * defaults: { site: unknown, criticality: low }
 * hosts:
 *   - tenant: acme          # exact or glob; default "*"
 *     host: "host-*"        # exact or glob (picomatch, `*` also matches `/` and `.`)
 *     site: par-1
 *     role: web
 *     owner: team-a
 *     criticality: high
 *     labels: { rack: r12 } # merged into ctx as their own keys (ctx.rack)
 * ```
 *
 * Resolution: an entry whose tenant and host are both exact wins (Map lookup); otherwise the first
 * entry with a glob (tenant or host) in file order that matches; otherwise no entry. A tenant/host
 * pair may appear only once. The context is `defaults`, then the
 * entry's named fields, then its labels. When no entry matched, ctx is `defaults` plus
 * `inventory: "unknown"` ({@link UNKNOWN_HOST_CTX}). Matching is case-sensitive.
 *
 * @module
 */
import picomatch from "picomatch";
import { z } from "zod";
import { lineOf, parseYamlSpec, SpecError } from "../lib/yaml_spec.ts";

/** ctx key/value set when no inventory entry matched a tenant/host. */
export const UNKNOWN_HOST_CTX = { key: "inventory", value: "unknown" } as const;

const NAMED_FIELDS = ["site", "role", "owner", "criticality"] as const;
const RESERVED_KEYS = new Set<string>([UNKNOWN_HOST_CTX.key, "__proto__", "constructor", "prototype"]);
const CTX_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const ScalarText = z.union([z.string(), z.number(), z.boolean()], {
  error: "expected a string, number or boolean",
}).transform(String);

const CtxKeySchema = z.string().regex(
  CTX_KEY,
  "expected a key of letters, digits, _ . - (not starting with a digit)",
)
  .refine((key) => !RESERVED_KEYS.has(key), { error: (issue) => `key ${String(issue.input)} is reserved` });

const CtxMapSchema = z.record(CtxKeySchema, ScalarText);

const GlobSchema = z.string().trim().min(1);

/** One inventory entry. */
export const InventoryHostSchema = z.strictObject({
  tenant: GlobSchema.default("*"),
  host: GlobSchema,
  site: ScalarText.optional(),
  role: ScalarText.optional(),
  owner: ScalarText.optional(),
  criticality: ScalarText.optional(),
  labels: CtxMapSchema.refine(
    (labels) => NAMED_FIELDS.every((field) => !Object.hasOwn(labels, field)),
    { error: `labels must not repeat the named fields (${NAMED_FIELDS.join(", ")}); set them directly` },
  ).default({}),
});
/** One inventory entry (validated). */
export type InventoryHost = z.output<typeof InventoryHostSchema>;

/** The inventory file. */
export const InventoryFileSchema = z.strictObject({
  defaults: CtxMapSchema.default({}),
  hosts: z.array(InventoryHostSchema).default([]),
});
/** The inventory file (validated). */
export type InventoryFile = z.output<typeof InventoryFileSchema>;

/** A context map shared between events (frozen: never mutate it). */
export type Ctx = Readonly<Record<string, string>>;

interface Matcher {
  readonly exact?: string;
  readonly test?: (value: string) => boolean;
}

interface Entry {
  /** Position in the file: the first matching entry wins. */
  readonly index: number;
  readonly tenant: Matcher;
  readonly host: Matcher;
  readonly ctx: Ctx;
}

type GlobFn = (value: string) => boolean;
type Picomatch = ((glob: string, options: Record<string, boolean>) => GlobFn) & {
  scan(glob: string): { isGlob: boolean };
};
const pm = picomatch as unknown as Picomatch;
const GLOB_OPTIONS = { dot: true, bash: true };

/** True when `pattern` has glob syntax (`*`, `?`, `[...]`, `{a,b}`, extglobs). */
export function isGlob(pattern: string): boolean {
  return pm.scan(pattern).isGlob;
}

/** Compiles a pattern once: exact strings compare with `===`, globs use a precompiled picomatch test. */
export function compileMatcher(pattern: string): (value: string) => boolean {
  if (!isGlob(pattern)) return (value) => value === pattern;
  return pm(pattern, GLOB_OPTIONS);
}

function matcher(pattern: string): Matcher {
  return isGlob(pattern) ? { test: pm(pattern, GLOB_OPTIONS) } : { exact: pattern };
}

function matches(m: Matcher, value: string): boolean {
  return m.exact !== undefined ? m.exact === value : (m.test as GlobFn)(value);
}

const CACHE_MAX = 65_536;

/** A problem with one inventory entry (its index in `hosts`). */
export class InventoryEntryError extends Error {
  override name = "InventoryEntryError";
  /** Builds the error for `hosts[index]`. */
  constructor(readonly index: number, message: string) {
    super(message);
  }
}

/** A compiled inventory: resolve tenant/host to a (shared, frozen) context. */
export class Inventory {
  /** Exact tenant + exact host. */
  readonly #exact = new Map<string, Ctx>();
  /** Exact host, glob tenant: by host, in file order. */
  readonly #byHost = new Map<string, Entry[]>();
  /** Glob host: in file order. */
  readonly #globs: Entry[] = [];
  readonly #unknown: Ctx;
  /** Resolved contexts by tenant, then host: no key string built per event. */
  #cache = new Map<string, Map<string, Ctx>>();
  #cached = 0;
  readonly #cacheMax: number;
  /** Number of entries. */
  readonly size: number;

  /** Use {@link compileInventory} or {@link parseInventory}. Throws on a repeated tenant/host pair. */
  constructor(file: InventoryFile, cacheMax = CACHE_MAX) {
    this.#cacheMax = cacheMax;
    const defaults = file.defaults;
    this.#unknown = Object.freeze({ ...defaults, [UNKNOWN_HOST_CTX.key]: UNKNOWN_HOST_CTX.value });
    const seen = new Map<string, number>();
    file.hosts.forEach((entry, index) => {
      const pair = `${entry.tenant}\u0000${entry.host}`;
      const first = seen.get(pair);
      if (first !== undefined) {
        throw new InventoryEntryError(
          index,
          `hosts[${index}]: same tenant and host as hosts[${first}] (${entry.tenant} / ${entry.host})`,
        );
      }
      seen.set(pair, index);
      const ctx: Record<string, string> = { ...defaults };
      for (const field of NAMED_FIELDS) {
        const value = entry[field];
        if (value !== undefined) ctx[field] = value;
      }
      Object.assign(ctx, entry.labels);
      Object.freeze(ctx);
      const tenant = matcher(entry.tenant);
      const host = matcher(entry.host);
      if (tenant.exact !== undefined && host.exact !== undefined) this.#exact.set(pair, ctx);
      else if (host.exact !== undefined) {
        const list = this.#byHost.get(host.exact) ?? [];
        list.push({ index, tenant, host, ctx });
        this.#byHost.set(host.exact, list);
      } else this.#globs.push({ index, tenant, host, ctx });
    });
    this.size = file.hosts.length;
  }

  /** The context of tenant/host; cached (bounded: emptied when full). */
  lookup(tenant: string, host: string): Ctx {
    let hosts = this.#cache.get(tenant);
    const cached = hosts?.get(host);
    if (cached !== undefined) return cached;
    const ctx = this.#exact.get(`${tenant}\u0000${host}`) ?? this.#resolve(tenant, host);
    if (this.#cached >= this.#cacheMax) {
      this.#cache = new Map();
      this.#cached = 0;
      hosts = undefined;
    }
    if (hosts === undefined) this.#cache.set(tenant, hosts = new Map());
    hosts.set(host, ctx);
    this.#cached++;
    return ctx;
  }

  #resolve(tenant: string, host: string): Ctx {
    let best: Entry | undefined;
    for (const entry of this.#byHost.get(host) ?? []) {
      if (matches(entry.tenant, tenant)) {
        best = entry;
        break;
      }
    }
    for (const entry of this.#globs) {
      if (best !== undefined && entry.index > best.index) break;
      if (matches(entry.tenant, tenant) && matches(entry.host, host)) {
        best = entry;
        break;
      }
    }
    return best?.ctx ?? this.#unknown;
  }
}

/** Compiles a validated inventory file (globs compiled once). Throws on duplicate exact entries. */
export function compileInventory(parsed: InventoryFile): Inventory {
  return new Inventory(parsed);
}

/** An inventory with no entries: every host gets `inventory: "unknown"`. */
export function emptyInventory(): Inventory {
  return new Inventory({ defaults: {}, hosts: [] });
}

/**
 * Parses and compiles inventory YAML. Throws a {@link SpecError} naming the file, line, key path
 * and expectation (`inventory.yaml:7:5: hosts[1].host: missing (expected string)`).
 */
export function parseInventory(text: string, file: string): Inventory {
  const parsed = parseYamlSpec(text, file, InventoryFileSchema);
  try {
    return compileInventory(parsed);
  } catch (error) {
    if (error instanceof InventoryEntryError) {
      throw new SpecError([`${file}${lineOf(text, ["hosts", error.index])}: ${error.message}`]);
    }
    throw error;
  }
}
