/**
 * The brief's two example events: a CPU warning (85) and a CPU critical (97) for acme/host-a.
 *
 * @module
 */

/** The seed events exactly as the brief sends them with kcat. */
export const SEED_EVENTS: readonly string[] = [
  '{"tenant_id":"acme","host":"host-a","metric":"cpu_load","value":85,"ts_event":"2025-10-21T10:00:00Z","unit":"percent","tags":{"env":"prod"}}',
  '{"tenant_id":"acme","host":"host-a","metric":"cpu_load","value":97,"ts_event":"2025-10-21T10:05:00Z","unit":"percent","tags":{"env":"prod"}}',
];
