/**
 * Network addresses as users reach the agent: loopback, LAN and wildcard checks, and the address
 * other machines reach a listener at (used by `eventops urls` and for the advertised API address).
 *
 * @module
 */

/** An interface address, as `Deno.networkInterfaces()` gives it. */
export interface InterfaceAddress {
  family: "IPv4" | "IPv6";
  address: string;
}

/** Addresses that mean "every interface". */
export const WILDCARDS: ReadonlySet<string> = new Set(["0.0.0.0", "::", "[::]"]);

/** The host part of a URL for an address (IPv6 in brackets). */
export function hostPart(address: string): string {
  return address.includes(":") ? `[${address.replace(/^\[|\]$/g, "")}]` : address;
}

/** Whether an address is loopback. */
export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address === "[::1]" || address === "localhost";
}

/** Whether an address is usable from the local network (not loopback, not IPv6 link-local). */
export function reachable(entry: InterfaceAddress): boolean {
  if (isLoopback(entry.address)) return false;
  return !(entry.family === "IPv6" && /^fe80:/i.test(entry.address));
}

/**
 * The base URL other machines reach a listener on `host:port` at (pure): the host itself unless it
 * is a wildcard, else the first LAN IPv4 address, else loopback.
 */
export function reachableBaseUrl(
  host: string,
  port: number,
  interfaces: readonly InterfaceAddress[],
): string {
  if (!WILDCARDS.has(host)) return `http://${hostPart(host)}:${port}`;
  const lan = interfaces.find((entry) => entry.family === "IPv4" && reachable(entry));
  return `http://${lan?.address ?? "127.0.0.1"}:${port}`;
}
