/**
 * The README's list of metric families, written from their one declaration (`families.ts`,
 * `counters.ts`): `deno task docs:metrics` puts it between the markers, a test fails when it is stale.
 *
 * @module
 */
import { PIPELINE_COUNTERS } from "./counters.ts";
import { FAMILIES, type FamilyDeclaration } from "./families.ts";

/** The line before the generated list in README.md. */
export const BEGIN_MARKER = "<!-- metric families: generated from telemetry/ by `deno task docs:metrics` -->";
/** The line after it. */
export const END_MARKER = "<!-- end of metric families -->";

const PART_ORDER: readonly FamilyDeclaration["part"][] = [
  "pipeline",
  "consumer groups",
  "store",
  "alert delivery",
  "http",
  "process",
];

function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** The list: a table of every family by part, and the pipeline counters' stages and kinds. */
export function metricFamiliesMarkdown(): string {
  const families: FamilyDeclaration[] = Object.values(FAMILIES);
  const rows = PART_ORDER.flatMap((part) =>
    families.filter((family) => family.part === part).map((family) =>
      `| \`${family.name}\` | ${family.type} | ${(family.labels ?? []).map((l) => `\`${l}\``).join(", ")} | ${
        cell(family.help)
      } |`
    )
  );
  const counters = Object.entries(PIPELINE_COUNTERS).map(([stage, kinds]) =>
    `\`${stage}\` (${kinds.map((kind) => `\`${kind}\``).join(", ")})`
  );
  return [
    "| family | type | labels | what it counts |",
    "| --- | --- | --- | --- |",
    ...rows,
    "",
    `\`eventops_pipeline_events_total\` has one series per stage and kind, the same counters \`/status\` reports as \`totals\` (\`"normalize.in"\`, ...): ${
      counters.join("; ")
    }.`,
  ].join("\n");
}

/** `readme` with the text between the markers replaced by the generated list (throws without markers). */
export function withMetricFamilies(readme: string, list: string = metricFamiliesMarkdown()): string {
  const begin = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (begin < 0 || end < begin) {
    throw new Error(`README.md lacks the markers ${BEGIN_MARKER} ... ${END_MARKER}`);
  }
  return `${readme.slice(0, begin + BEGIN_MARKER.length)}\n\n${list}\n\n${readme.slice(end)}`;
}
