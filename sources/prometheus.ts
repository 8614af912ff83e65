/**
 * Prometheus remote write 1.0 (pure): a Snappy block-compressed `WriteRequest` protobuf to raw
 * events, one per sample. `__name__` is the metric; `tenant_id` and `host` (else `instance`) name
 * the tenant and host (else the request's defaults); the other labels are tags. Timestamps are epoch
 * milliseconds. Non-finite samples (NaN, the stale marker, ±Inf) are rejected with a reason.
 *
 * @module
 */
// @ts-types="./snappyjs.d.ts"
import { compress, uncompress } from "snappyjs";
import type { RawEvent } from "../model/raw.ts";
import { type Conversion, type RequestDefaults, type Unconvertible, UnreadableBody } from "./convert.ts";
import { messageType } from "./protobuf.ts";

const REMOTE_WRITE_PROTO = `
syntax = "proto3";
package prometheus;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
`;

const writeRequest = messageType(REMOTE_WRITE_PROTO, "prometheus.WriteRequest");

interface Series {
  labels?: { name?: string; value?: string }[];
  samples?: { value?: number; timestamp?: string }[];
}

/** Most bytes a decompressed request may take (bounds memory whatever the Snappy header claims). */
export const MAX_REMOTE_WRITE_BYTES = 64 * 1024 * 1024;

/** A `WriteRequest` as the client sends it (Snappy-compressed protobuf), for tests and the bench. */
export function encodeRemoteWrite(series: Series[]): Uint8Array {
  return compress(writeRequest.encode({ timeseries: series }));
}

/**
 * Converts a remote-write body (Snappy block + protobuf) to raw events; throws {@link UnreadableBody}
 * for a body that is not Snappy or not a `WriteRequest`. `maxBytes` caps the decompressed size.
 */
export function decodeRemoteWrite(
  body: Uint8Array,
  defaults: RequestDefaults,
  maxBytes = MAX_REMOTE_WRITE_BYTES,
): Conversion {
  let bytes: Uint8Array;
  try {
    bytes = uncompress(body, maxBytes);
  } catch (err) {
    throw new UnreadableBody(
      `body is not Snappy block-compressed (${err instanceof Error ? err.message : err}); ` +
        "remote write 1.0 sends Content-Encoding: snappy",
    );
  }
  let request: Record<string, unknown>;
  try {
    request = writeRequest.decode(bytes);
  } catch (err) {
    throw new UnreadableBody(
      `body is not a remote-write WriteRequest protobuf (${err instanceof Error ? err.message : err})`,
    );
  }
  const events: RawEvent[] = [];
  const rejected: Unconvertible[] = [];
  const series = (request.timeseries ?? []) as Series[];
  series.forEach((one, s) => {
    const tags: Record<string, string> = {};
    let metric: string | undefined;
    let tenant = defaults.tenant;
    let host = defaults.host;
    let instance: string | undefined;
    for (const { name = "", value = "" } of one.labels ?? []) {
      if (name === "__name__") metric = value;
      else if (name === "tenant_id") tenant = value;
      else if (name === "host") host = value;
      else {
        if (name === "instance") instance = value;
        tags[name] = value;
      }
    }
    host ??= instance;
    const where = `series ${s}`;
    const original = () => JSON.stringify(one).slice(0, 65_536);
    const problem = metric === undefined || metric === ""
      ? "has no __name__ label"
      : tenant === undefined
      ? "has no tenant_id label (or add ?tenant= to the URL)"
      : host === undefined
      ? "has no host or instance label (or add ?host= to the URL)"
      : undefined;
    if (problem !== undefined) {
      rejected.push({ where, reason: `${where} ${problem}`, original: original() });
      return;
    }
    const hasTags = Object.keys(tags).length > 0;
    (one.samples ?? []).forEach((sample, k) => {
      const value = sample.value ?? 0;
      if (!Number.isFinite(value)) {
        rejected.push({
          where: `${where} sample ${k}`,
          reason: `${where} (${metric}) sample ${k} is ${value} (not a finite number)`,
          original: original(),
        });
        return;
      }
      const event: RawEvent = {
        tenant_id: tenant!,
        host: host!,
        metric: metric!,
        value,
        ts_event: Number(sample.timestamp ?? "0"),
      };
      if (hasTags) event.tags = { ...tags };
      events.push(event);
    });
  });
  return { events, rejected };
}
