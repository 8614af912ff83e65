/**
 * What every receiver's parser returns: the raw events (the `POST /ingest` shape, `model/raw.ts`)
 * it converted, and the items it could not convert, each with a reason and its original text.
 *
 * @module
 */
import type { RawEvent } from "../model/raw.ts";

/** An item a parser could not convert: where it was, why, and its original (for the DLQ). */
export interface Unconvertible {
  /** Where in the request: e.g. `line 3`, `series 2 sample 0`, `metric 1 (http.requests)`. */
  where: string;
  reason: string;
  /** The item's original text (a line, or a JSON rendering of the decoded item). */
  original: string;
}

/** The result of parsing one request body. */
export interface Conversion {
  events: RawEvent[];
  rejected: Unconvertible[];
}

/** Defaults a receiver takes from the request (query parameters) for items that do not name them. */
export interface RequestDefaults {
  /** Tenant for items without a `tenant_id` tag/label/attribute. */
  tenant?: string;
  /** Host for items without a `host` tag/label/attribute. */
  host?: string;
  /** Epoch ms of the request, for items without a timestamp. */
  nowMs: number;
}

/** Most rejected items whose reasons a response lists (the count is always exact). */
export const MAX_LISTED_REJECTIONS = 20;

/** A body a parser cannot read at all (not the protocol, corrupt): the receiver answers `status`. */
export class UnreadableBody extends Error {
  /** 400 (corrupt), 415 (wrong media type). */
  readonly status: 400 | 415;
  constructor(message: string, status: 400 | 415 = 400) {
    super(message);
    this.name = "UnreadableBody";
    this.status = status;
  }
}
