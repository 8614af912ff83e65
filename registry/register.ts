/**
 * Registering the agent's subjects and checking them against the registry: `eventops init` and
 * `eventops schemas push` register (idempotent: a schema already there keeps its id) and set each
 * subject's compatibility; `eventops schemas check` asks whether this build's schemas are compatible
 * with what the registry holds.
 *
 * @module
 */
import type { RegistryClient } from "./client.ts";
import type { AgentSubject } from "./subjects.ts";

/** What happened to one subject. */
export interface SubjectResult {
  subject: string;
  /** `registered` (new version), `exists` (this schema was there), `compatible`, `incompatible`. */
  outcome: "registered" | "exists" | "compatible" | "incompatible";
  id?: number;
  messages?: string[];
}

/** Checks each subject's schema against the latest version registered under it. */
export async function checkSubjects(
  client: RegistryClient,
  subjects: AgentSubject[],
): Promise<SubjectResult[]> {
  const results: SubjectResult[] = [];
  for (const { subject, schema } of subjects) {
    const answer = await client.compatible(subject, schema);
    results.push({
      subject,
      outcome: answer.compatible ? "compatible" : "incompatible",
      ...(answer.messages.length > 0 ? { messages: answer.messages } : {}),
    });
  }
  return results;
}

/** Sets each subject's compatibility level, then registers its schema (refused when incompatible: throws). */
export async function pushSubjects(
  client: RegistryClient,
  subjects: AgentSubject[],
  compatibility: string,
): Promise<SubjectResult[]> {
  const results: SubjectResult[] = [];
  for (const { subject, schema } of subjects) {
    const existing = await client.lookup(subject, schema);
    await client.setCompatibility(subject, compatibility);
    if (existing !== undefined) {
      results.push({ subject, outcome: "exists", id: existing });
      continue;
    }
    results.push({ subject, outcome: "registered", id: await client.register(subject, schema) });
  }
  return results;
}
