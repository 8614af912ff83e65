/**
 * Inhibition, as Alertmanager's inhibitor decides it: an alert matching a rule's target matchers
 * is muted while a firing alert matches the rule's source matchers and has the same values for the
 * rule's `equal` labels (a label missing on both counts as equal). An alert matching both sides
 * cannot be muted by an alert that also matches both (so `severity=~".*"` rules do not mute
 * themselves).
 *
 * @module
 */
import type { InhibitRule } from "../config/notify.ts";
import { type LabelSet, matchesAll } from "../config/notify_matchers.ts";

/** An alert as the inhibitor sees it. */
export interface InhibitCandidate {
  readonly fingerprint: string;
  readonly labels: LabelSet;
}

function label(labels: LabelSet, name: string): string {
  return Object.hasOwn(labels, name) ? labels[name] : "";
}

/**
 * The fingerprint of a firing alert of `sources` that mutes `target` under `rules`, or undefined
 * when none does. `sources` are the firing alerts (the target itself may be among them).
 */
export function inhibitedBy(
  rules: readonly InhibitRule[],
  target: InhibitCandidate,
  sources: readonly InhibitCandidate[],
): string | undefined {
  for (const rule of rules) {
    if (!matchesAll(rule.target, target.labels)) continue;
    const twoSided = matchesAll(rule.source, target.labels);
    for (const source of sources) {
      if (source.fingerprint === target.fingerprint) continue;
      if (!matchesAll(rule.source, source.labels)) continue;
      if (!rule.equal.every((name) => label(source.labels, name) === label(target.labels, name))) continue;
      if (twoSided && matchesAll(rule.target, source.labels)) continue;
      return source.fingerprint;
    }
  }
  return undefined;
}
