/**
 * Enrich stage (pure apart from the inventory's lookup cache): adds the inventory context to an
 * envelope. Hosts with no inventory entry get `ctx.inventory = "unknown"`; count them with
 * {@link isUnknownHost}.
 *
 * @module
 */
import type { Envelope } from "../model/envelope.ts";
import { type Inventory, UNKNOWN_HOST_CTX } from "./inventory.ts";

function isEmpty(map: Readonly<Record<string, string>>): boolean {
  for (const _ in map) return false;
  return true;
}

/**
 * Returns a copy of `event` whose `ctx` is the inventory context of its tenant/host. The context
 * object is shared between events of the same host and frozen. A non-empty incoming `ctx` is kept
 * and overridden by the inventory keys.
 */
export function enrich(event: Envelope, inventory: Inventory): Envelope {
  const ctx = inventory.lookup(event.tenant, event.host);
  return { ...event, ctx: isEmpty(event.ctx) ? ctx as Record<string, string> : { ...event.ctx, ...ctx } };
}

/** True when enrichment found no inventory entry for the event's tenant/host. */
export function isUnknownHost(event: Pick<Envelope, "ctx">): boolean {
  return event.ctx[UNKNOWN_HOST_CTX.key] === UNKNOWN_HOST_CTX.value;
}
