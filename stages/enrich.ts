/**
 * Enrich stage (pure apart from the inventory's lookup cache): adds the inventory context to an
 * envelope. Hosts with no inventory entry get `ctx.inventory = "unknown"`; count them with
 * {@link isUnknownHost}.
 *
 * @module
 */
import type { Envelope } from "../model/envelope.ts";
import { type Ctx, type Inventory, UNKNOWN_HOST_CTX } from "./inventory.ts";

function isEmpty(map: Ctx): boolean {
  for (const _ in map) return false;
  return true;
}

/**
 * The inventory context of the event's tenant/host: the shared frozen object of that host (also for
 * a normalized event, which has no `ctx`), or, when the event already has a non-empty `ctx`, that
 * overridden by the inventory keys.
 */
export function enrichedContext(
  event: Pick<Envelope, "tenant" | "host"> & Partial<Pick<Envelope, "ctx">>,
  inventory: Inventory,
): Ctx {
  const ctx = inventory.lookup(event.tenant, event.host);
  return event.ctx === undefined || isEmpty(event.ctx) ? ctx : { ...event.ctx, ...ctx };
}

/** Returns a copy of `event` whose `ctx` is {@link enrichedContext}. */
export function enrich(event: Envelope, inventory: Inventory): Envelope {
  return { ...event, ctx: enrichedContext(event, inventory) as Record<string, string> };
}

/** True when enrichment found no inventory entry for the event's tenant/host. */
export function isUnknownHost(event: Pick<Envelope, "ctx">): boolean {
  return isUnknownContext(event.ctx);
}

/** True when `ctx` is the context of a host with no inventory entry. */
export function isUnknownContext(ctx: Ctx): boolean {
  return ctx[UNKNOWN_HOST_CTX.key] === UNKNOWN_HOST_CTX.value;
}
