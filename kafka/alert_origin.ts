/**
 * Which agent produced an alert record (scale-out: every agent's SSE alert stream carries the others'
 * alerts, read from the alerts topic, and its own from its store, so it must tell them apart). Each
 * alert record carries two headers: the producing process's instance id and its advertised API address.
 *
 * @module
 */
import { AGENT_INSTANCE } from "./membership.ts";

/** Header: the instance id of the agent process that produced the alert (`AGENT_INSTANCE`). */
export const ORIGIN_INSTANCE_HEADER = "eventops-instance";
/** Header: the advertised API base URL of that agent (`http.advertise`; absent when it has none). */
export const ORIGIN_AGENT_HEADER = "eventops-agent";

/** Record headers as the producer takes them. */
export type RecordHeaders = Map<Buffer, Buffer>;

let cached: { advertise: string; headers: RecordHeaders } | undefined;

/** The headers of this process's alert records (built once per address, shared: do not mutate). */
export function alertOriginHeaders(advertise: string): RecordHeaders {
  if (cached?.advertise !== advertise) {
    const headers: RecordHeaders = new Map([[
      Buffer.from(ORIGIN_INSTANCE_HEADER),
      Buffer.from(AGENT_INSTANCE),
    ]]);
    if (advertise !== "") headers.set(Buffer.from(ORIGIN_AGENT_HEADER), Buffer.from(advertise));
    cached = { advertise, headers };
  }
  return cached.headers;
}

/** The origin of a consumed record: its instance id and address (undefined when a header is absent). */
export function originOf(
  headers: Iterable<readonly [Buffer | null, Buffer | null]> | undefined,
): { instance?: string; agent?: string } {
  const origin: { instance?: string; agent?: string } = {};
  for (const [key, value] of headers ?? []) {
    if (key === null || value === null) continue;
    const name = key.toString();
    if (name === ORIGIN_INSTANCE_HEADER) origin.instance = value.toString();
    else if (name === ORIGIN_AGENT_HEADER) origin.agent = value.toString();
  }
  return origin;
}
