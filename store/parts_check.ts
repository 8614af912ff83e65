/**
 * Checks the Parquet parts against their manifest (`parquet_parts`: path, rows, bytes), so a part
 * that is missing or damaged is found, reported, and taken out of the queries instead of failing
 * all of them (a truncated part made every read of `metrics_all` fail; a deleted one lost its rows
 * without a word).
 *
 * A part is damaged when its size is not the manifest's, it lacks Parquet's `PAR1` header or
 * footer, (deep check) DuckDB cannot read its footer or counts other rows than the manifest, or
 * (scan) DuckDB cannot decode its values.
 * Such a part moves to `<data>/quarantine/<path>` (kept, never deleted by the agent) and its manifest
 * row to `parquet_damaged` with the problem, in one step under the file lock: queries see the
 * other parts, whole. A missing part is recorded the same way. When a file with the right size and
 * rows is back at a recorded part's path (restored from a backup), it is listed again.
 *
 * Checks run at every writable open (deep), with every Parquet maintenance round (size and
 * header/footer of every part, and a rolling scrub that decodes the next parts in turn), when a
 * query fails on a part (a scan of the part it names, or of every part when DuckDB's message names
 * none; the query is then retried once), and from the readiness probe (sizes only; a suspect part
 * is then checked deeply in the background).
 * Parts past retention leave `parquet_damaged` with their day.
 *
 * @module
 */
import { runBound } from "./bound.ts";
import { type DuckDBConnection, listValue } from "@duckdb/node-api";
import { assertRealPath, mkdirInside } from "./confine.ts";
import type { Store } from "./open.ts";
import { manifestParts, parquetRowCounts, type PartRow } from "./parquet_manifest.ts";
import { joinPath, QUARANTINE_DIR, sqlString } from "./paths.ts";

/** Damaged parts listed in a report (the counts cover all). */
const REPORT_LIMIT = 10;
const MAGIC = "PAR1";

/** A part that cannot be read. */
export interface DamagedPart {
  /** Path relative to `<data>/parquet`. */
  path: string;
  tenant: string;
  metric: string;
  /** UTC day, `YYYY-MM-DD`. */
  date: string;
  /** Rows the manifest lists for it (not readable now). */
  rows: number;
  /** What is wrong with it. */
  problem: string;
  /** Where the damaged file was moved, relative to the data directory; null when it was missing. */
  quarantine: string | null;
}

/** The state of the parts after a check. */
export interface PartsReport {
  /** Parts found missing or damaged by this check (now out of queries). */
  found: DamagedPart[];
  /** Paths of parts found back in place and listed again. */
  restored: string[];
  /** All parts recorded missing or damaged. */
  damagedParts: number;
  /** Rows of those parts. */
  unreadableRows: number;
  /** Up to 10 of them, newest first. */
  damaged: DamagedPart[];
}

/** What to check. */
export interface CheckOptions {
  /** Only these parts (paths relative to `<data>/parquet`); default every part. */
  paths?: readonly string[];
  /** Also read each part's footer with DuckDB and compare its row count (default false). */
  deep?: boolean;
  /** Also decode every value of each part checked (finds corrupt pages; reads the whole file). */
  scan?: boolean;
  /**
   * Also decode the parts after the last one scrubbed, in path order, up to this many bytes (a
   * rolling scrub: every part is read in turn, round after round).
   */
  scrubBytes?: number;
}

/** Parts stat-ed at once by the readiness probe. */
const STAT_BATCH = 64;
/** Most parts the rolling scrub decodes per round (each costs a query; tiny parts are many). */
const SCRUB_PARTS = 64;

/** Where each store's rolling scrub stopped (the path of the last part scrubbed). */
const scrubbed = new WeakMap<Store, string>();

/** Decodes every value of `files`; the error message per file that fails (one query when none does). */
async function scanProblems(conn: DuckDBConnection, files: readonly string[]): Promise<Map<string, string>> {
  const scan = (list: readonly string[]) =>
    conn.run(
      `SELECT sum(hash(host, "value", unit, unit_original, ts, ts_ingest, tags, ctx, src_topic, src_partition,
         src_offset, src_index)) FROM read_parquet([${list.map(sqlString).join(", ")}])`,
    );
  const problems = new Map<string, string>();
  if (files.length === 0) return problems;
  try {
    await scan(files);
    return problems;
  } catch {
    // One of them cannot be decoded: find which.
  }
  for (const file of files) {
    try {
      await scan([file]);
    } catch (error) {
      const message = error instanceof Error ? error.message.replace(/^Error: /, "") : String(error);
      problems.set(file, `DuckDB cannot decode it: ${message.split("\n")[0]}`);
    }
  }
  return problems;
}

/** The parts the rolling scrub reads this round: after the last one scrubbed, up to `bytes`. */
function scrubSlice(store: Store, parts: readonly PartRow[], bytes: number): PartRow[] {
  if (parts.length === 0) return [];
  const after = scrubbed.get(store) ?? "";
  const start = Math.max(0, parts.findIndex((p) => p.path > after));
  const out: PartRow[] = [];
  let total = 0;
  for (
    let i = 0;
    i < Math.min(parts.length, SCRUB_PARTS) &&
    (out.length === 0 || total + parts[(start + i) % parts.length].bytes <= bytes);
    i++
  ) {
    const part = parts[(start + i) % parts.length];
    out.push(part);
    total += part.bytes;
  }
  scrubbed.set(store, out[out.length - 1].path);
  return out;
}

/** Why `path` does not match its manifest row; undefined when it does. */
async function sizeProblem(abs: string, bytes: number): Promise<string | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(abs);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "missing";
    throw error;
  }
  if (!info.isFile) return "not a regular file";
  if (info.size !== bytes) return `${info.size} bytes, the manifest says ${bytes} (truncated or overwritten)`;
  const file = await Deno.open(abs, { read: true });
  try {
    const head = new Uint8Array(4);
    const tail = new Uint8Array(4);
    const headRead = await file.read(head);
    await file.seek(-4, Deno.SeekMode.End);
    const tailRead = await file.read(tail);
    const text = (b: Uint8Array) => String.fromCharCode(...b);
    if (headRead !== 4 || tailRead !== 4 || text(head) !== MAGIC || text(tail) !== MAGIC) {
      return "no Parquet header or footer (PAR1): not a complete Parquet file";
    }
  } finally {
    file.close();
  }
  return undefined;
}

/** Row counts of `files` (absolute) read by DuckDB, or the error per file that cannot be read. */
async function footerRows(
  conn: DuckDBConnection,
  files: readonly string[],
): Promise<Map<string, number | string>> {
  const out = new Map<string, number | string>();
  if (files.length === 0) return out;
  try {
    for (const [file, rows] of await parquetRowCounts(conn, files)) out.set(file, rows);
    return out;
  } catch {
    // One of them is unreadable: find which.
  }
  for (const file of files) {
    try {
      out.set(file, (await parquetRowCounts(conn, [file])).get(file) ?? 0);
    } catch (error) {
      out.set(file, error instanceof Error ? error.message.replace(/^Error: /, "") : String(error));
    }
  }
  return out;
}

/** Why a part (present, right size) is unreadable or holds other rows; undefined when fine. */
function footerProblem(found: number | string | undefined, rows: number): string | undefined {
  if (typeof found === "string") return `DuckDB cannot read it: ${found.split("\n")[0]}`;
  if (found !== undefined && found !== rows) return `${found} rows, the manifest says ${rows}`;
  return undefined;
}

interface Finding {
  part: PartRow;
  problem: string;
  quarantine: string | null;
}

/** Moves a damaged file under `<data>/quarantine/`; returns its new path relative to the data dir. */
async function quarantine(store: Store, path: string): Promise<string> {
  let rel = joinPath(QUARANTINE_DIR, path);
  for (let n = 1; await Deno.lstat(joinPath(store.dataDir, rel)).then(() => true, () => false); n++) {
    rel = `${joinPath(QUARANTINE_DIR, path)}.${n}`;
  }
  const target = joinPath(store.dataDir, rel);
  await mkdirInside(store.dataDir, target.slice(0, target.lastIndexOf("/")));
  const source = joinPath(store.parquetDir, path);
  await assertRealPath(source.slice(0, source.lastIndexOf("/")));
  await Deno.rename(source, target);
  return rel;
}

/** Recorded parts, newest first; all of them when `limit` is undefined. */
export async function damagedParts(conn: DuckDBConnection, limit?: number): Promise<DamagedPart[]> {
  const reader = await conn.runAndReadAll(
    `SELECT path, tenant, metric, date::VARCHAR, rows::DOUBLE, problem, quarantine FROM parquet_damaged
     ORDER BY detected_at DESC, path ${limit === undefined ? "" : `LIMIT ${Math.floor(limit)}`}`,
  );
  return reader.getRows().map(([path, tenant, metric, date, rows, problem, quarantined]) => ({
    path: String(path),
    tenant: String(tenant),
    metric: String(metric),
    date: String(date),
    rows: Number(rows),
    problem: String(problem),
    quarantine: quarantined === null ? null : String(quarantined),
  }));
}

async function summary(conn: DuckDBConnection): Promise<Omit<PartsReport, "found" | "restored">> {
  const [[parts, rows]] = (await conn.runAndReadAll(
    "SELECT count(*)::DOUBLE, coalesce(sum(rows), 0)::DOUBLE FROM parquet_damaged",
  )).getRows();
  return {
    damagedParts: Number(parts),
    unreadableRows: Number(rows),
    damaged: await damagedParts(conn, REPORT_LIMIT),
  };
}

/**
 * Checks parts against the manifest (see the module doc): records and quarantines the missing and
 * damaged ones, lists restored ones again. Runs with the other Parquet maintenance, one at a time.
 */
export function checkParts(store: Store, options: CheckOptions = {}): Promise<PartsReport> {
  return store.maintenance.run(async () => {
    const conn = await store.connect();
    try {
      const report = await checkWith(store, conn, options);
      if (report.found.length > 0 || report.restored.length > 0) store.onPartsChecked?.(report);
      return report;
    } finally {
      store.release(conn);
    }
  });
}

async function checkWith(store: Store, conn: DuckDBConnection, options: CheckOptions): Promise<PartsReport> {
  if (options.paths?.length === 0) return { found: [], restored: [], ...await summary(conn) };
  const only = options.paths === undefined ? "true" : "path IN (SELECT unnest($1::VARCHAR[]))";
  const params = options.paths === undefined ? [] : [listValue([...options.paths])];
  const parts = await manifestParts(conn, only, params);
  const findings: Finding[] = [];
  const intact: PartRow[] = [];
  for (const part of parts) {
    const problem = await sizeProblem(joinPath(store.parquetDir, part.path), part.bytes);
    if (problem === undefined) intact.push(part);
    else findings.push({ part, problem, quarantine: null });
  }
  if (options.deep || options.scan) {
    const rows = await footerRows(conn, intact.map((p) => joinPath(store.parquetDir, p.path)));
    for (const part of [...intact]) {
      const problem = footerProblem(rows.get(joinPath(store.parquetDir, part.path)), part.rows);
      if (problem === undefined) continue;
      findings.push({ part, problem, quarantine: null });
      intact.splice(intact.indexOf(part), 1);
    }
  }
  const scan = options.scan
    ? intact
    : options.scrubBytes
    ? scrubSlice(store, intact, options.scrubBytes)
    : [];
  const decoded = await scanProblems(conn, scan.map((p) => joinPath(store.parquetDir, p.path)));
  for (const part of scan) {
    const problem = decoded.get(joinPath(store.parquetDir, part.path));
    if (problem !== undefined) findings.push({ part, problem, quarantine: null });
  }
  // Recorded parts whose file is back at its path: listed again when it is the manifest's file.
  const recorded = await manifestParts(conn, only, params, "parquet_damaged");
  const listed = new Set(
    recorded.length === 0 ? [] : (await manifestParts(conn, "path IN (SELECT unnest($1::VARCHAR[]))", [
      listValue(recorded.map((p) => p.path)),
    ])).map((p) => p.path),
  );
  const restored: string[] = [];
  for (const part of recorded) {
    if (listed.has(part.path)) continue; // a part of the manifest now holds that path: not ours to touch
    const abs = joinPath(store.parquetDir, part.path);
    const problem = await sizeProblem(abs, part.bytes) ??
      footerProblem((await footerRows(conn, [abs])).get(abs), part.rows);
    if (problem === undefined) restored.push(part.path);
    else if (problem !== "missing") findings.push({ part, problem, quarantine: null }); // quarantined again
  }
  if (findings.length === 0 && restored.length === 0) {
    return { found: [], restored: [], ...await summary(conn) };
  }
  await store.access.write(async () => {
    const moved: { from: string; to: string }[] = [];
    try {
      for (const finding of findings) {
        if (finding.problem === "missing") continue;
        finding.quarantine = await quarantine(store, finding.part.path);
        moved.push({
          from: joinPath(store.parquetDir, finding.part.path),
          to: joinPath(store.dataDir, finding.quarantine),
        });
      }
      await conn.run("BEGIN TRANSACTION");
      try {
        for (const { part, problem, quarantine } of findings) {
          await runBound(
            conn,
            `INSERT INTO parquet_damaged
             SELECT path, tenant, metric, date, part, rows, bytes, min_ts, max_ts, $2, $3, now()
             FROM (SELECT * EXCLUDE (created_at) FROM parquet_parts WHERE path = $1
                   UNION ALL SELECT * EXCLUDE (problem, quarantine, detected_at) FROM parquet_damaged WHERE path = $1)
             LIMIT 1
             ON CONFLICT (path) DO UPDATE SET problem = excluded.problem, quarantine = excluded.quarantine,
               detected_at = excluded.detected_at`,
            [part.path, problem, quarantine],
          );
          await runBound(conn, "DELETE FROM parquet_parts WHERE path = $1", [part.path]);
        }
        if (restored.length > 0) {
          const list = [listValue(restored)];
          await runBound(
            conn,
            `INSERT INTO parquet_parts SELECT path, tenant, metric, date, part, rows, bytes, min_ts, max_ts, now()
             FROM parquet_damaged WHERE path IN (SELECT unnest($1::VARCHAR[]))`,
            list,
          );
          await runBound(
            conn,
            "DELETE FROM parquet_damaged WHERE path IN (SELECT unnest($1::VARCHAR[]))",
            list,
          );
        }
        await conn.run("COMMIT");
      } catch (error) {
        await conn.run("ROLLBACK").catch(() => undefined);
        throw error;
      }
    } catch (error) {
      for (const { from, to } of moved) await Deno.rename(to, from).catch(() => undefined);
      throw error;
    }
    store.invalidateViews();
  });
  const found = findings.map(({ part, problem, quarantine }) => ({
    path: part.path,
    tenant: part.tenant,
    metric: part.metric,
    date: part.date,
    rows: part.rows,
    problem,
    quarantine,
  }));
  return { found, restored, ...await summary(conn) };
}

/**
 * Parts whose file is missing or not the manifest's size (a stat each, no lock): what the readiness
 * probe reports at once, before {@link checkParts} records them.
 */
export async function suspectParts(conn: DuckDBConnection, store: Store): Promise<DamagedPart[]> {
  // One JSON text instead of a JS value per cell: ~10x cheaper per part under Deno.
  const reader = await conn.runAndReadAll(
    `SELECT coalesce(to_json(list({path: path, tenant: tenant, metric: metric, date: date::VARCHAR, rows: rows,
       bytes: bytes}))::VARCHAR, '[]') FROM parquet_parts`,
  );
  const parts: PartRow[] = JSON.parse(String(reader.getRows()[0][0]));
  const out: DamagedPart[] = [];
  const check = async (part: PartRow) => {
    let problem: string | undefined;
    try {
      const info = await Deno.stat(joinPath(store.parquetDir, part.path));
      if (info.size !== part.bytes) problem = `${info.size} bytes, the manifest says ${part.bytes}`;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      problem = "missing";
    }
    if (problem !== undefined) {
      const { path, tenant, metric, date, rows } = part;
      out.push({ path, tenant, metric, date, rows, problem, quarantine: null });
    }
  };
  for (let i = 0; i < parts.length; i += STAT_BATCH) {
    await Promise.all(parts.slice(i, i + STAT_BATCH).map(check));
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The report of what is recorded now (no check). */
export async function partsReport(conn: DuckDBConnection): Promise<PartsReport> {
  return { found: [], restored: [], ...await summary(conn) };
}

/** DuckDB messages of a Parquet file it cannot decode (some do not name the file). */
const PARQUET_DAMAGE =
  /TProtocolException|don't know what type|Decompression|magic bytes|Parquet|Invalid data|Corrupt/i;

/** Whether a DuckDB error message looks like a damaged Parquet file (named or not). */
export function looksDamaged(message: string): boolean {
  return PARQUET_DAMAGE.test(message);
}

/** Part paths (relative to `<data>/parquet`) named in a DuckDB error message. */
export function partsInMessage(store: Store, message: string): string[] {
  const prefix = `${store.parquetDir}/`;
  const found = new Set<string>();
  for (const match of message.matchAll(/[^\s"'`]+\.parquet\b/g)) {
    const path = match[0];
    if (path.startsWith(prefix)) found.add(path.slice(prefix.length));
  }
  return [...found];
}
