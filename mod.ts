/**
 * EventOps Flow: the public API of the edge agent, for embedding it or reusing its pure stages.
 *
 * ```ts
 * import { loadConfig, startAgent, createLogger } from "./mod.ts";
 * const config = await loadConfig("eventops.yaml");
 * const agent = await startAgent(config, createLogger("info"));
 * // ... later
 * await agent.stop();
 * ```
 *
 * @module
 */

// Contracts (zod schemas; the TypeScript types are inferred from them).
export { type Alert, AlertSchema, type AlertState, type Severity } from "./model/alert.ts";
export {
  type Envelope,
  EnvelopeSchema,
  eventId,
  type NormalizedEvent,
  seriesKey,
  type Source,
  toEnvelope,
} from "./model/envelope.ts";
export { type FeatureRecord, FeatureRecordSchema } from "./model/feature.ts";
export { type RawEvent, RawEventSchema } from "./model/raw.ts";
export { type DeadLetter, DeadLetterSchema } from "./model/dlq.ts";

// Configuration.
export { type Config, ConfigSchema } from "./config/schema.ts";
export { buildConfig, ConfigError, loadConfig } from "./config/load.ts";

// Pure stages.
export {
  normalizeMessage,
  normalizeMessageTo,
  type NormalizeResult,
  type NormalizeSink,
} from "./stages/normalize/mod.ts";
export { enrich, enrichedContext } from "./stages/enrich.ts";
export { emptyInventory, type Inventory, parseInventory } from "./stages/inventory.ts";
export { FeatureEngine } from "./stages/features.ts";
export { type CompiledRule, defaultRules, parseRules, RuleEngine } from "./stages/rules.ts";
export { runRuleTests } from "./stages/rule_tests.ts";

// Edges: the store, the HTTP app, the agent.
export { openStore, ParquetArchiver, StoreReader, StoreWriter } from "./store/mod.ts";
export { createApp, serveApi } from "./api/mod.ts";
export { type Agent, startAgent } from "./agent/mod.ts";
export { createLogger, type Logger } from "./lib/log.ts";
export { VERSION } from "./version.ts";
