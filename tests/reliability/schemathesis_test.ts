/**
 * schemathesis (PyPI, pinned: scripts/install-schemathesis.sh) over `/openapi.json` of the REAL agent
 * (its sandbox flags, the test broker, DuckDB), with every check (`--checks all`: server errors,
 * status codes, content types, response schemas, SSE events, negative data refused, valid data
 * accepted, methods, auth) and the API token. The run must find 0 server errors and 0 contract
 * violations. Settings: tests/reliability/schemathesis.toml.
 *
 * The budget is `EVENTOPS_SCHEMATHESIS_EXAMPLES` examples per operation (default 20: about 750 cases
 * in under a minute) with seed `EVENTOPS_SCHEMATHESIS_SEED` (default fixed, so CI is repeatable).
 */
import assert from "node:assert/strict";
import { SEED_EVENTS } from "../../cli/seed_events.ts";
import { eventually, freePort, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TOKEN = "test-token";
const EXAMPLES = Number(Deno.env.get("EVENTOPS_SCHEMATHESIS_EXAMPLES") ?? "20");
const SEED = Deno.env.get("EVENTOPS_SCHEMATHESIS_SEED") ?? "20261204";

/** The parts of schemathesis' JSON report the test reads. */
interface Report {
  schemathesis_version: string;
  exit_code: number;
  operations: { total: number; selected: number; tested: number; errored: number };
  test_cases: { generated: number; with_failures: number; errored: number };
  failures: { code: string; title: string; count: number; operations: string[] }[];
  errors: unknown[];
  /** Advice by kind, e.g. `validation_mismatch: ["POST /query"]` (random SQL is mostly refused). */
  warnings: Record<string, string[]>;
}

/** schemathesis' output with long lines (reproductions with megabyte bodies) cut to 400 characters. */
function shortened(output: string): string {
  return output.split("\n").map((line) => line.length > 400 ? `${line.slice(0, 400)} [...]` : line).join("\n")
    .slice(-12_000);
}

/** Installs schemathesis if needed (idempotent) and returns the executable's path. */
async function installSchemathesis(): Promise<string> {
  const out = await new Deno.Command("bash", {
    args: [`${ROOT}scripts/install-schemathesis.sh`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0, "scripts/install-schemathesis.sh failed");
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("schemathesis over /openapi.json: 0 server errors and 0 contract violations", async () => {
  const schemathesis = await installSchemathesis();
  const name = uniqueName("schemathesis");
  const port = await freePort();
  const { file } = await writeTestConfig(name, {
    // The fuzzer sends wrong tokens on purpose (ignored_auth); the wrong-token throttle has tests of
    // its own (tests/api/limits_test.ts, tests/e2e/http_edge_test.ts) and would only answer 429 here.
    http: { host: "127.0.0.1", port, token: TOKEN, auth_failure_burst: 1_000_000 },
  });
  const agent = await startAgent(file, port);
  let stopped: number | undefined;
  let report: Report | undefined;
  let output = "";
  try {
    // Data to read: the brief's two events give metrics, and a warning and a critical alert.
    const ingest = await fetch(`${agent.baseUrl}/ingest`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/x-ndjson" },
      body: SEED_EVENTS.join("\n"),
    });
    assert.equal(ingest.status, 202);
    await ingest.body?.cancel();
    await eventually(
      async () => {
        const alerts = await (await fetch(`${agent.baseUrl}/alerts`)).json();
        return alerts.count >= 2 ? true : undefined;
      },
      30_000,
      "the seed alerts stored",
    );

    const reportDir = `${ROOT}data/test/${name}/schemathesis`;
    await Deno.mkdir(reportDir, { recursive: true });
    const run = await new Deno.Command(schemathesis, {
      args: [
        "--config-file",
        `${ROOT}tests/reliability/schemathesis.toml`,
        "run",
        `${agent.baseUrl}/openapi.json`,
        "--checks",
        "all",
        "--header",
        `Authorization: Bearer ${TOKEN}`,
        "--max-examples",
        String(EXAMPLES),
        "--seed",
        SEED,
        // One worker: Python 3.11's ast module fails under Hypothesis' threads ("AST constructor
        // recursion depth mismatch"), reported as runtime errors.
        "--workers",
        "1",
        "--report",
        "json",
        "--report-dir",
        reportDir,
      ],
      cwd: reportDir,
      // The hooks give the protobuf request bodies of the collect receivers a serializer.
      env: {
        NO_COLOR: "1",
        COLUMNS: "120",
        SCHEMATHESIS_HOOKS: `${ROOT}tests/reliability/schemathesis_hooks.py`,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    output = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    await Deno.writeTextFile(`${reportDir}/output.txt`, output);
    const reports = [...Deno.readDirSync(reportDir)].filter((e) => /^json-.*\.json$/.test(e.name));
    assert.equal(reports.length, 1, `one JSON report in ${reportDir}; output:\n${output.slice(-4000)}`);
    report = JSON.parse(await Deno.readTextFile(`${reportDir}/${reports[0].name}`)) as Report;
  } finally {
    stopped = await agent.stop();
  }
  if (report === undefined) throw new Error(`no schemathesis report; output:\n${output.slice(-4000)}`);
  const serverErrors = report.failures.filter((f) => f.code === "ST101").reduce((n, f) => n + f.count, 0);
  const violations = report.failures.filter((f) => f.code !== "ST101").reduce((n, f) => n + f.count, 0);
  console.log(
    `schemathesis ${report.schemathesis_version}: ${report.test_cases.generated} cases over ` +
      `${report.operations.tested}/${report.operations.total} operations (max ${EXAMPLES} examples each, ` +
      `seed ${SEED}): ${serverErrors} server errors, ${violations} contract violations, ` +
      `${report.errors.length} runtime errors; warnings: ${
        Object.entries(report.warnings).filter(([, ops]) => ops.length > 0)
          .map(([kind, ops]) => `${kind} (${ops.join(", ")})`).join("; ") || "none"
      }`,
  );
  const summary = report.failures.map((f) => `${f.code} ${f.title} x${f.count} (${f.operations.join(", ")})`);
  assert.deepEqual(summary, [], `schemathesis failures; its output:\n${shortened(output)}`);
  assert.equal(report.errors.length, 0, `schemathesis runtime errors; its output:\n${shortened(output)}`);
  assert.equal(report.exit_code, 0);
  assert.equal(report.operations.tested, report.operations.total, "every operation tested");
  assert.ok(report.operations.total >= 15, `${report.operations.total} operations`);
  assert.ok(
    report.test_cases.generated >= report.operations.total * 10,
    `${report.test_cases.generated} cases`,
  );
  assert.equal(stopped, 0, `graceful stop; logs:\n${agent.logs().slice(-3000)}`);
});
