/**
 * Who is asking: the client's IP address as the key of the per-client limits. IPv4 addresses count
 * one by one; IPv6 addresses count per /64 network (one host usually holds a whole /64, so counting
 * single addresses would let it take every slot); IPv4-mapped IPv6 addresses count as IPv4.
 *
 * The address reaches the Hono app as its `env` (`app.fetch(request, { remoteAddr })`, set by
 * `serveApi`; tests pass it to `app.request(path, init, env)`).
 *
 * @module
 */
import type { Context } from "hono";

/** Key of requests whose address is unknown (in-process `app.request` calls). */
export const UNKNOWN_CLIENT = "unknown";

/** What `serveApi` passes as the app's `env`. */
export interface ClientEnv {
  remoteAddr: { hostname: string };
}

/** Expands an IPv6 address to its eight 16-bit groups, or undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  const zoneless = address.replace(/%.*$/, "");
  const halves = zoneless.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const groups: number[] = [];
    const pieces = part.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = piece.split(".").map(Number);
        if (v4.length !== 4 || v4.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) return undefined;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-f]{1,4}$/i.test(piece)) return undefined;
      groups.push(parseInt(piece, 16));
    }
    return groups;
  };
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
}

/** The limits' key of an IP address: the IPv4 address, or the /64 prefix of an IPv6 address. */
export function clientKey(address: string): string {
  const host = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  if (!host.includes(":")) return host;
  const groups = ipv6Groups(host);
  if (groups === undefined) return host;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) return `${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
}

/** The client's IP address as the front saw it; "" when unknown (in-process requests). */
export function requestAddress(c: Context): string {
  const env: unknown = c.env;
  if (typeof env !== "object" || env === null || !("remoteAddr" in env)) return "";
  const addr: unknown = env.remoteAddr;
  if (typeof addr !== "object" || addr === null || !("hostname" in addr)) return "";
  return typeof addr.hostname === "string" ? addr.hostname : "";
}

/** The limits' key of the client of a request (see {@link clientKey}). */
export function requestClient(c: Context): string {
  const env: unknown = c.env;
  if (typeof env !== "object" || env === null || !("remoteAddr" in env)) return UNKNOWN_CLIENT;
  const addr: unknown = env.remoteAddr;
  if (typeof addr !== "object" || addr === null || !("hostname" in addr)) return UNKNOWN_CLIENT;
  return typeof addr.hostname === "string" ? clientKey(addr.hostname) : UNKNOWN_CLIENT;
}
