/**
 * Folds the bench's result files into a summary and keeps only the latest runs whole:
 * `bench/results/summary.ndjson` holds one line per run ever summarized (time, mode, label,
 * workload, throughput, CPU, memory, latency, check, versions, and the note), `summary.md` the same
 * as a table, newest first; the result files beyond the latest `--keep` per mode (default 10) are
 * deleted once their line is in the summary (git history keeps them). Run after a batch of runs:
 *
 * ```sh
 * deno task bench:summary [--keep 10]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

const RESULTS = new URL("./results/", import.meta.url).pathname;
const SUMMARY_NDJSON = `${RESULTS}summary.ndjson`;
const SUMMARY_MD = `${RESULTS}summary.md`;

/** One run, as the summary keeps it (every figure optional: the result format grew over time). */
export interface RunSummary {
  at: string;
  mode: string;
  label?: string;
  events?: number;
  rate?: number;
  seconds?: number;
  events_per_s?: number;
  cpu_us_per_event?: number;
  cpu_cores?: number;
  peak_rss_mb?: number;
  p50_ms?: number;
  p95_ms?: number;
  p99_ms?: number;
  check_ok?: boolean;
  options?: string;
  deno?: string;
  note?: string;
  /** The result file's name while it is kept. */
  file?: string;
}

type Json = Record<string, unknown>;
const object = (value: unknown): Json => (typeof value === "object" && value !== null ? value as Json : {});
const number = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined);
const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;

/** The summary line of one result file's content (`bench/run.ts`'s format). */
export function summarizeRun(result: Json, file?: string): RunSummary {
  const config = object(result.config);
  const workload = object(config.workload);
  const agent = object(result.agent);
  const latency = object(object(result.latency).produce_to_stored);
  const check = object(result.check);
  const produce = object(result.produce);
  const options = [
    config.split === true ? "split" : "",
    config.single_thread === true ? "single-thread" : "",
    ...((config.agent_flags as string[] | undefined) ?? []),
    ...Object.entries(object(config.agent_kafka)).map(([key, value]) => `kafka.${key}=${value}`),
    workload.perMessage !== undefined && workload.perMessage !== 1
      ? `per-message=${workload.perMessage}`
      : "",
  ].filter((option) => option !== "").join(" ");
  const summary: RunSummary = {
    at: String(result.at),
    mode: String(result.mode),
    label: text(result.label),
    events: number(workload.events),
    rate: number(produce.rate_target),
    seconds: number(agent.seconds) ?? number(produce.seconds),
    events_per_s: number(agent.events_per_s),
    cpu_us_per_event: number(agent.cpu_us_per_event),
    cpu_cores: number(agent.cpu_cores_used),
    peak_rss_mb: number(agent.peak_rss_mb),
    p50_ms: number(latency.p50_ms),
    p95_ms: number(latency.p95_ms),
    p99_ms: number(latency.p99_ms),
    check_ok: typeof check.ok === "boolean" ? check.ok : undefined,
    options: options === "" ? undefined : options,
    deno: text(object(result.versions).deno),
    note: text(result.note),
    file,
  };
  for (const key of Object.keys(summary) as (keyof RunSummary)[]) {
    if (summary[key] === undefined) delete summary[key];
  }
  return summary;
}

/** The runs of `existing` and `fresh` by time (a fresh one replaces a summarized one of the same time), newest first. */
export function mergeRuns(existing: readonly RunSummary[], fresh: readonly RunSummary[]): RunSummary[] {
  const byTime = new Map<string, RunSummary>();
  for (const run of existing) byTime.set(run.at, run);
  for (const run of fresh) byTime.set(run.at, run);
  return [...byTime.values()].sort((a, b) => b.at.localeCompare(a.at));
}

/** The result files to delete: all but the newest `keep` of each mode (`files` are the kept runs' names). */
export function filesToPrune(runs: readonly RunSummary[], keep: number): string[] {
  const kept = new Map<string, number>();
  const prune: string[] = [];
  for (const run of runs) {
    if (run.file === undefined) continue;
    const count = kept.get(run.mode) ?? 0;
    if (count < keep) kept.set(run.mode, count + 1);
    else prune.push(run.file);
  }
  return prune;
}

const cell = (value: unknown) => (value === undefined ? "" : String(value).replaceAll("|", "\\|"));

/** The summary as a Markdown table, newest first. */
export function summaryTable(runs: readonly RunSummary[]): string {
  const header = [
    "at (UTC)",
    "mode",
    "label",
    "events",
    "rate/s",
    "events/s",
    "µs CPU/event",
    "cores",
    "peak RSS MB",
    "p50/p95/p99 ms",
    "ok",
    "options",
    "note",
  ];
  const rows = runs.map((run) =>
    [
      run.at.slice(0, 16).replace("T", " "),
      run.mode,
      run.label,
      run.events?.toLocaleString("en-US"),
      run.rate?.toLocaleString("en-US"),
      run.events_per_s?.toLocaleString("en-US"),
      run.cpu_us_per_event,
      run.cpu_cores,
      run.peak_rss_mb,
      run.p50_ms === undefined ? undefined : `${run.p50_ms} / ${run.p95_ms} / ${run.p99_ms}`,
      run.check_ok === undefined ? undefined : run.check_ok ? "yes" : "NO",
      run.options,
      run.note,
    ].map(cell)
  );
  return [
    "# Bench runs",
    "",
    "Generated by `deno task bench:summary` from `summary.ndjson` (one line per run); the latest runs'",
    "result files are kept beside it, older ones are in git history. Shared 2-core VM: compare runs made",
    "close together, not across days.",
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
    "",
  ].join("\n");
}

async function readSummary(): Promise<RunSummary[]> {
  try {
    return (await Deno.readTextFile(SUMMARY_NDJSON)).split("\n").filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as RunSummary);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ args: Deno.args, options: { keep: { type: "string", default: "10" } } });
  const keep = Number(values.keep);
  if (!Number.isInteger(keep) || keep < 0) {
    throw new Error(`--keep: expected a whole number, got ${values.keep}`);
  }
  const fresh: RunSummary[] = [];
  for await (const entry of Deno.readDir(RESULTS)) {
    if (!entry.isFile || !/^\d{4}-.*\.json$/.test(entry.name)) continue;
    fresh.push(summarizeRun(JSON.parse(await Deno.readTextFile(`${RESULTS}${entry.name}`)), entry.name));
  }
  // A summarized run whose file is gone keeps its line, without the file.
  const present = new Set(fresh.map((run) => run.file));
  const existing = (await readSummary()).map((run) => {
    if (run.file === undefined || present.has(run.file)) return run;
    const { file: _, ...rest } = run;
    return rest;
  });
  const runs = mergeRuns(existing, fresh);
  const prune = new Set(filesToPrune(runs, keep));
  const summarized = runs.map((run) => {
    if (run.file === undefined || !prune.has(run.file)) return run;
    const { file: _, ...rest } = run;
    return rest;
  });
  await Deno.writeTextFile(SUMMARY_NDJSON, summarized.map((run) => JSON.stringify(run)).join("\n") + "\n");
  await Deno.writeTextFile(SUMMARY_MD, summaryTable(summarized));
  for (const file of prune) await Deno.remove(`${RESULTS}${file}`);
  console.log(
    `${summarized.length} runs in bench/results/summary.ndjson and summary.md; ${prune.size} result files folded in and removed`,
  );
}
