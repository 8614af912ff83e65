/**
 * Silences, with Alertmanager's semantics: a silence mutes the alerts whose labels pass all its
 * matchers while it is active (`startsAt <= now <= endsAt`); silenced alerts are still stored and
 * shown, but not notified. Creating with the id of a silence that is not expired updates it in
 * place when only its end, comment or author change (or its start, while pending); otherwise the
 * old one is expired and a new one made. Deleting expires it (pending ones end at once).
 *
 * @module
 */
import {
  fromApiMatcher,
  type LabelMatcher,
  type LabelSet,
  matchesAll,
  matchesValue,
  toApiMatcher,
} from "../config/notify_matchers.ts";

import type { GettableSilence, PostableSilence, SilenceState } from "../model/notification.ts";

export type { GettableSilence, PostableSilence, SilenceState };

/** A stored silence (times in epoch ms). */
export interface Silence {
  readonly id: string;
  readonly matchers: readonly LabelMatcher[];
  readonly startsAt: number;
  readonly endsAt: number;
  readonly createdBy: string;
  readonly comment: string;
  readonly updatedAt: number;
}

/** The state of `silence` at `now`. */
export function silenceState(silence: Pick<Silence, "startsAt" | "endsAt">, now: number): SilenceState {
  if (now < silence.startsAt) return "pending";
  if (now > silence.endsAt) return "expired";
  return "active";
}

/** The ids of the active silences that mute `labels` at `now`. */
export function silencedBy(silences: Iterable<Silence>, labels: LabelSet, now: number): string[] {
  const ids: string[] = [];
  for (const silence of silences) {
    if (silenceState(silence, now) === "active" && matchesAll(silence.matchers, labels)) ids.push(silence.id);
  }
  return ids;
}

/** Go's RFC 3339 text of a time: no fractional part when it is whole seconds. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, "Z");
}

/** The v2 API shape of `silence`. */
export function gettableSilence(silence: Silence, now: number): GettableSilence {
  return {
    id: silence.id,
    status: { state: silenceState(silence, now) },
    updatedAt: rfc3339(silence.updatedAt),
    matchers: silence.matchers.map(toApiMatcher),
    startsAt: rfc3339(silence.startsAt),
    endsAt: rfc3339(silence.endsAt),
    createdBy: silence.createdBy,
    comment: silence.comment,
  };
}

/** A silence that cannot be set, with the HTTP status Alertmanager answers. */
export class SilenceError extends Error {
  override name = "SilenceError";
  /** 400 invalid, 404 unknown id. */
  readonly status: 400 | 404;

  /** Builds the error. */
  constructor(status: 400 | 404, message: string) {
    super(message);
    this.status = status;
  }
}

/** What setting a silence changes: the silence to store, and the one it replaces (expired), if any. */
export interface SilenceChange {
  readonly silence: Silence;
  readonly expired?: Silence;
}

function sameMatchers(a: readonly LabelMatcher[], b: readonly LabelMatcher[]): boolean {
  return a.length === b.length &&
    a.every((m, i) => m.name === b[i].name && m.type === b[i].type && m.value === b[i].value);
}

/**
 * Validates `posted` and decides what to store (Alertmanager's `Set`): `previous` is the stored
 * silence of `posted.id` (undefined when there is none), `newId` the id for a new silence.
 */
export function setSilence(
  posted: PostableSilence,
  previous: Silence | undefined,
  now: number,
  newId: string,
): SilenceChange {
  let matchers: LabelMatcher[];
  try {
    matchers = posted.matchers.map(fromApiMatcher);
  } catch (error) {
    throw new SilenceError(400, `invalid matcher: ${error instanceof Error ? error.message : error}`);
  }
  if (matchers.every((matcher) => matchesValue(matcher, ""))) {
    throw new SilenceError(400, "at least one matcher must not match the empty string");
  }
  let startsAt = Date.parse(posted.startsAt);
  const endsAt = Date.parse(posted.endsAt);
  if (startsAt >= endsAt) throw new SilenceError(400, "start time must be before end time");
  if (endsAt < now) throw new SilenceError(400, "end time can't be in the past");
  if (posted.id !== undefined && previous === undefined) {
    throw new SilenceError(404, `silence ${posted.id} not found`);
  }
  const fields = { matchers, endsAt, createdBy: posted.createdBy, comment: posted.comment, updatedAt: now };
  if (previous !== undefined && canUpdate(previous, matchers, startsAt, endsAt, now)) {
    return { silence: { ...previous, ...fields, startsAt } };
  }
  if (startsAt < now) startsAt = now;
  const silence: Silence = { id: newId, ...fields, startsAt };
  if (previous !== undefined && silenceState(previous, now) !== "expired") {
    return { silence, expired: expireSilence(previous, now) };
  }
  return { silence };
}

function canUpdate(
  previous: Silence,
  matchers: readonly LabelMatcher[],
  startsAt: number,
  endsAt: number,
  now: number,
): boolean {
  if (!sameMatchers(previous.matchers, matchers)) return false;
  switch (silenceState(previous, now)) {
    case "active":
      return Math.floor(startsAt / 1000) === Math.floor(previous.startsAt / 1000) && endsAt >= now;
    case "pending":
      return startsAt >= now;
    case "expired":
      return false;
  }
}

/** `silence` expired at `now` (a pending one starts and ends now); unchanged when already expired. */
export function expireSilence(silence: Silence, now: number): Silence {
  switch (silenceState(silence, now)) {
    case "expired":
      return silence;
    case "active":
      return { ...silence, endsAt: now, updatedAt: now };
    case "pending":
      return { ...silence, startsAt: now, endsAt: now, updatedAt: now };
  }
}

/**
 * Whether `silence` has, for each of `filter`, a matcher with its name, operator and value
 * (Alertmanager's `filter` of `GET /api/v2/silences`).
 */
export function silenceMatchesFilter(silence: Silence, filter: readonly LabelMatcher[]): boolean {
  return filter.every((wanted) =>
    silence.matchers.some((m) => m.name === wanted.name && m.type === wanted.type && m.value === wanted.value)
  );
}

/**
 * Alertmanager's order of silences: active ones first (ending soonest first), then pending ones
 * (starting soonest first), then expired ones (most recently ended first).
 */
export function sortSilences(silences: readonly Silence[], now: number): Silence[] {
  const rank = { active: 0, pending: 1, expired: 2 } as const;
  return [...silences].sort((a, b) => {
    const sa = silenceState(a, now);
    const sb = silenceState(b, now);
    if (sa !== sb) return rank[sa] - rank[sb];
    if (sa === "active") return a.endsAt - b.endsAt;
    if (sa === "pending") return a.startsAt - b.startsAt;
    return b.endsAt - a.endsAt;
  });
}

/** A silence from another agent's API shape; undefined when a matcher or a time does not parse. */
export function silenceFromGettable(gettable: GettableSilence): Silence | undefined {
  const startsAt = Date.parse(gettable.startsAt);
  const endsAt = Date.parse(gettable.endsAt);
  const updatedAt = Date.parse(gettable.updatedAt);
  if (!Number.isFinite(startsAt) || !Number.isFinite(endsAt) || !Number.isFinite(updatedAt)) return undefined;
  try {
    return {
      id: gettable.id,
      matchers: gettable.matchers.map(fromApiMatcher),
      startsAt,
      endsAt,
      createdBy: gettable.createdBy,
      comment: gettable.comment,
      updatedAt,
    };
  } catch {
    return undefined;
  }
}

/**
 * The silences of another agent (`GET /silences` there) to take as they are: those not held here,
 * or held in an older version (`updatedAt`: the last writer wins, as in Alertmanager's gossip);
 * ones that do not parse are left out.
 */
export function silencesToTake(
  local: ReadonlyMap<string, Silence>,
  peer: readonly GettableSilence[],
): Silence[] {
  const taken: Silence[] = [];
  for (const gettable of peer) {
    const silence = silenceFromGettable(gettable);
    if (silence === undefined) continue;
    const held = local.get(silence.id);
    if (held !== undefined && held.updatedAt >= silence.updatedAt) continue;
    taken.push(silence);
  }
  return taken;
}
