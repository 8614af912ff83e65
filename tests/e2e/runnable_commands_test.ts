/**
 * Every command the documentation marks as runnable (README code blocks after `<!-- runnable -->`, and
 * `# $ command` lines in file headers: `testing/runnable.ts`) runs as written against the demo's setup
 * and gives the exit code and output listed here. A marked command without an entry here, or an entry
 * whose command is no longer marked, fails the test: the list follows the documentation.
 *
 * By default the test starts what `./scripts/demo.sh` starts, on the test broker: an agent with no API
 * token and `retention: 0s`, with the seed events sent, and maps the demo's addresses and names in the
 * commands to it (`localhost:9092` -> the test broker, `localhost:8088` -> the agent's port, the raw and
 * DLQ topics -> the test's; `./eventops` reads the test's config through `EVENTOPS_CONFIG`). With
 * `EVENTOPS_RUNNABLE_DEMO=1` it runs them verbatim against a running `./scripts/demo.sh` instead.
 */
import assert from "node:assert/strict";
import {
  BROKERS,
  eventually,
  freePort,
  runEventops,
  startAgent,
  uniqueName,
  writeTestConfig,
} from "../../testing/agent.ts";
import { markdownCommands, promptCommands, type RunnableCommand } from "../../testing/runnable.ts";
import { removeTestDir } from "./store_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const AGAINST_DEMO = Deno.env.get("EVENTOPS_RUNNABLE_DEMO") === "1";

/** What a command must give; `eventually`: run again until it does (it reads what the agent processes). */
interface Expectation {
  code: number;
  stdout: RegExp;
  eventually?: boolean;
}

const KCAT_85 = `kcat -b localhost:9092 -t ingest.raw.agent -P <<'EOF'
{"tenant_id":"acme","host":"host-a","metric":"cpu_load","value":85,"ts_event":"2025-10-21T10:00:00Z","unit":"percent","tags":{"env":"prod"}}
EOF`;
const KCAT_97 = KCAT_85.replace('"value":85', '"value":97').replace("10:00:00Z", "10:05:00Z");

const EXPECTED: Record<string, Expectation> = {
  [KCAT_85]: { code: 0, stdout: /^$/ },
  [KCAT_97]: { code: 0, stdout: /^$/ },
  'curl "http://localhost:8088/metrics/cpu?tenant=acme&host=host-a"   # cpu resolves to cpu_load': {
    code: 0,
    stdout: /^\{"metric":"cpu_load".*"value":85,.*"value":97,/,
    eventually: true,
  },
  "curl -N --max-time 3 http://localhost:8088/alerts/stream            # SSE: warning (85), critical (97), then live":
    {
      code: 28, // curl's "operation timed out": --max-time ended the stream
      stdout:
        /event: alert\n[\s\S]*"severity":"warning"[^\n]*"value":85,[\s\S]*"severity":"critical"[^\n]*"value":97,/,
    },
  [`echo '{"tenant_id":"acme","host":"host-a","metric":"cpu_load","value":"high"}' | kcat -b localhost:9092 -t ingest.raw.agent -P`]:
    { code: 0, stdout: /^$/ },
  "kcat -b localhost:9092 -t dlq.agent -C -e -q": {
    code: 0,
    stdout:
      /"stage":"normalize","reason":"value: expected a finite number, got \\"high\\"; missing field ts_event"/,
    eventually: true,
  },
  './eventops query "SELECT tenant, host, metric, value, ts FROM metrics_all ORDER BY ts DESC LIMIT 5"': {
    code: 0,
    // The newest row: the brief's last seed event, or on the demo (collect.host on) the machine's own.
    stdout:
      /^tenant +host +metric +value +ts\n[- ]+\n(acme +host-a +cpu_load +97 +2025-10-21T10:05:00\.000Z|local +\S+ +[a-z0-9_]+ +[\d.]+ +\d{4}-\d\d-\d\dT[\d:.]+Z)\n/,
  },
  "./eventops version": { code: 0, stdout: /^eventops \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+\)\n$/ },
  "./eventops urls                            # the dashboard and API, on this machine and from the network":
    {
      code: 0,
      stdout:
        /^dashboard {3}http:\/\/localhost:\d+\/\nmetrics API http:\/\/localhost:\d+\/metrics\/cpu\?tenant=acme&host=host-a\n/,
    },
  "./eventops check config/rules.test.yaml    # validate config, inventory, rules; run the example rule tests":
    {
      code: 0,
      stdout: /ok {3}config\/rules\.test\.yaml: 4 passed, 0 failed\n$/,
    },
  "./eventops check config/rules.test.yaml": {
    code: 0,
    stdout: /ok {3}config\/rules\.test\.yaml: 4 passed, 0 failed\n$/,
  },
  [`./eventops query --format csv "SELECT count(*) AS alerts FROM alerts WHERE rule = 'cpu_high'"`]: {
    code: 0,
    stdout: /^alerts\n[1-9]\d*\n$/,
  },
};

async function trackedFiles(): Promise<string[]> {
  const output = await new Deno.Command("git", { args: ["ls-files"], cwd: ROOT }).output();
  assert.equal(output.code, 0, "git ls-files");
  return new TextDecoder().decode(output.stdout).split("\n").filter((path) => path !== "");
}

/** Every runnable command of the repository, in order: Markdown files first, then file headers. */
async function runnableCommands(): Promise<RunnableCommand[]> {
  const files = (await trackedFiles()).filter((path) => !path.startsWith("node_modules/"));
  const out: RunnableCommand[] = [];
  for (const path of files.filter((path) => path.endsWith(".md"))) {
    out.push(...markdownCommands(await Deno.readTextFile(`${ROOT}${path}`), path));
  }
  for (const path of files.filter((path) => !path.endsWith(".md") && !path.startsWith("bench/results/"))) {
    let text: string;
    try {
      text = await Deno.readTextFile(`${ROOT}${path}`);
    } catch {
      continue; // not text, or absent from this checkout
    }
    if (path.startsWith("tests/") || path.startsWith("testing/")) continue; // their own examples
    out.push(...promptCommands(text, path));
  }
  return out;
}

Deno.test("every runnable command in the README and file headers works as written", async (t) => {
  const commands = await runnableCommands();
  const listed = new Set(Object.keys(EXPECTED));
  const marked = new Set(commands.map((c) => c.command));
  for (const c of commands) {
    assert.ok(listed.has(c.command), `${c.where}: add an expectation for:\n${c.command}`);
  }
  for (const command of listed) assert.ok(marked.has(command), `no longer marked runnable:\n${command}`);

  let env: Record<string, string> = { NO_COLOR: "1" };
  let map = (command: string) => command;
  let cleanup = async () => {};
  if (!AGAINST_DEMO) {
    const name = uniqueName("runnable");
    const port = freePort();
    const { file, topics } = await writeTestConfig(name, { http: { host: "127.0.0.1", port, token: "" } });
    const agent = await startAgent(file, port);
    cleanup = async () => {
      await agent.stop();
      await removeTestDir(name);
    };
    env = { ...env, EVENTOPS_CONFIG: file };
    map = (command) =>
      command.replaceAll("localhost:9092", BROKERS).replaceAll("localhost:8088", `127.0.0.1:${port}`)
        .replaceAll("ingest.raw.agent", topics.raw).replaceAll("dlq.agent", topics.dlq);
    const seed = await runEventops(["seed", "--config", file]); // as the demo does
    assert.equal(seed.code, 0, seed.stderr);
  }
  try {
    for (const c of commands) {
      const expected = EXPECTED[c.command];
      await t.step(`${c.where}: ${c.command.split("\n")[0]}`, async () => {
        const run = async () => {
          const output = await new Deno.Command("bash", { args: ["-c", map(c.command)], cwd: ROOT, env })
            .output();
          const decoder = new TextDecoder();
          return {
            code: output.code,
            stdout: decoder.decode(output.stdout),
            stderr: decoder.decode(output.stderr),
          };
        };
        const matches = (r: { code: number; stdout: string }) =>
          r.code === expected.code && expected.stdout.test(r.stdout);
        let last = await run();
        if (expected.eventually && !matches(last)) {
          last = await eventually(
            async () => {
              const again = await run();
              return matches(again) ? again : (last = again, false);
            },
            30_000,
            c.command,
          ).catch(() => last);
        }
        assert.equal(
          last.code,
          expected.code,
          `exit code of:\n${c.command}\nstdout: ${last.stdout}\nstderr: ${last.stderr}`,
        );
        assert.match(last.stdout, expected.stdout, `stdout of:\n${c.command}\nstderr: ${last.stderr}`);
        assert.doesNotMatch(last.stderr, /experimental feature/);
      });
    }
  } finally {
    await cleanup();
  }
});
