/**
 * A full disk under the store: the group that stores (stateful, or the local one) pauses with a clear error in the log, commits no
 * offset (nothing is lost), and once space is freed it resumes and stores everything exactly once.
 * The store directory is a small tmpfs mounted for the test (needs root; skipped, with a message,
 * where `mount` is not permitted).
 */
import assert from "node:assert/strict";
import { eventually, runEventops, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";
import {
  assertExactlyOnce,
  committedOffsets,
  endOffsets,
  EXACTLY_ONCE_SQL,
  httpNumber,
  httpQuery,
  logLines,
  ndjsonMessages,
  produceMessages,
  removeTestDir,
  waitForRows,
} from "./store_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIRST = 5_000;
const SECOND = 20_000;
/** Events whose values alternate 99 / 10 per host: each one changes the default rule's alert state. */
const ALERTING = 40;

async function run(command: string, args: string[]): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr).trim() };
}

/** Writes zeros to `path` until the file system is full; returns the bytes written. */
async function fill(path: string): Promise<number> {
  const file = await Deno.open(path, { write: true, create: true });
  const chunk = new Uint8Array(64 * 1024);
  let bytes = 0;
  try {
    for (;;) bytes += await file.write(chunk);
  } catch (error) {
    if (!(error instanceof Error) || !/No space left on device/.test(error.message)) throw error;
  } finally {
    file.close();
  }
  return bytes;
}

function storeErrors(logs: string): Record<string, unknown>[] {
  return logLines(logs).filter((line) =>
    line.msg === "batch failed; consumption paused, retrying the same batch" &&
    /No space left on device/.test(String((line.error as { message?: string } | undefined)?.message))
  );
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`disk full under the store: consumption pauses, nothing is committed or lost, then resumes (topology ${topology})`, async (t) => {
    const name = uniqueName(`store-diskfull-${topology}`);
    const { file, port, topics, dataDir } = await writeTestConfig(name, {
      topology,
      store: { parquet: { retention: "0s", interval: "1h" } },
    });
    // The group that stores, and the topic it commits: the stateful group's events.enriched, or in
    // the local topology the one group's raw topic.
    const group = topology === "local" ? `${name}-stateless` : `${name}-stateful`;
    const stored = topology === "local" ? topics.raw : topics.enriched;
    const storeDir = `${ROOT}${dataDir}`;
    await Deno.mkdir(storeDir, { recursive: true });
    const mounted = await run("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", storeDir]);
    if (mounted.code !== 0) {
      console.log(`SKIPPED: cannot mount a tmpfs for the store (${mounted.stderr}); run the test as root`);
      await removeTestDir(name);
      return;
    }
    const filler = `${storeDir}/filler`;
    try {
      const init = await runEventops(["init", "--config", file]);
      assert.equal(init.code, 0, init.stderr);
      const agent = await startAgent(file, port);
      try {
        const events = (n: number, startMs: number) =>
          ndjsonMessages({ events: n, perMessage: 500, hosts: 10, startMs, stepMs: 10 }).messages;
        const startMs = Date.now() - 10 * 60_000;
        let committed = 0n;

        await t.step(`${FIRST} events stored and committed while there is space`, async () => {
          await produceMessages(topics.raw, events(FIRST, startMs));
          await waitForRows(agent.baseUrl, FIRST, 60_000);
          committed = await eventually(
            async () => {
              // Enriched messages carry many events each: all of the topic is committed.
              const sum = await committedOffsets(group, stored);
              return sum > 0n && sum === await endOffsets(stored) ? sum : undefined;
            },
            30_000,
            `${group} to commit all of ${stored}`,
          );
        });

        await t.step("disk full: a clear error, no new rows, no offset commit, not ready", async () => {
          const bytes = await fill(filler);
          console.log(`filled the store's tmpfs with ${Math.round(bytes / 1024)} KiB`);
          await produceMessages(topics.raw, events(SECOND, startMs + FIRST * 10));
          // Batches whose store write fails are retried; their alerts must be produced and stored once.
          await produceMessages(
            topics.raw,
            ndjsonMessages({
              events: ALERTING,
              perMessage: 10,
              hosts: 2,
              hostPrefix: "alerting",
              startMs,
              stepMs: 1_000,
              value: (k) => (k % 2 === 0 ? 99 : 10),
            }).messages,
          );
          const errors = await eventually(
            () => {
              const found = storeErrors(agent.logs());
              return Promise.resolve(found.length >= 2 ? found : undefined);
            },
            60_000,
            "two failed attempts logged with 'No space left on device'",
          );
          assert.equal(errors[0].group, group);
          assert.match(String((errors[0].error as { message: string }).message), /metrics\.duckdb\.wal/);
          assert.equal(await httpNumber(agent.baseUrl, "SELECT count(*) FROM metrics"), FIRST);
          assert.equal(await committedOffsets(group, stored), committed);
          assert.ok(await endOffsets(stored) > committed, "messages wait uncommitted");
          const ready = await fetch(`${agent.baseUrl}/readyz`);
          assert.equal(ready.status, 503);
          const body = await ready.json();
          assert.equal(body.checks.store.ok, false);
          const leftovers = [...Deno.readDirSync(storeDir)].map((entry) => entry.name).filter((n) =>
            n.startsWith(".")
          );
          assert.deepEqual(leftovers, [], "no probe files left behind");
        });

        await t.step("space freed: it resumes and stores everything exactly once", async () => {
          await Deno.remove(filler);
          await waitForRows(agent.baseUrl, FIRST + SECOND + ALERTING, 60_000);
          const reply = await httpQuery(agent.baseUrl, EXACTLY_ONCE_SQL);
          const row = Object.fromEntries(reply.columns.map((c, i) => [c.name, reply.rows[0][i]]));
          assertExactlyOnce(row, FIRST + SECOND + ALERTING);
          const storedAlerts = await httpNumber(
            agent.baseUrl,
            "SELECT count(*) FROM alerts WHERE host LIKE 'alerting%'",
          );
          assert.equal(storedAlerts, ALERTING, "every alert of the retried batches stored");
          const produced = (await kcatConsumeAll(topics.alerts)).filter((text) =>
            text.includes('"host":"alerting')
          );
          assert.equal(produced.length, ALERTING, "every alert produced once, not once per attempt");
          await eventually(
            async () =>
              (await committedOffsets(group, stored)) === await endOffsets(stored) &&
                (await endOffsets(stored)) > committed
                ? true
                : undefined,
            30_000,
            "all offsets committed",
          );
          await eventually(
            async () => {
              const ready = await fetch(`${agent.baseUrl}/readyz`);
              await ready.body?.cancel();
              return ready.status === 200 ? true : undefined;
            },
            30_000,
            "ready again",
          );
        });
      } finally {
        assert.equal(await agent.stop(), 0, agent.logs());
      }
    } finally {
      await Deno.remove(filler).catch(() => undefined);
      const unmounted = await run("umount", [storeDir]);
      assert.equal(unmounted.code, 0, unmounted.stderr);
      await removeTestDir(name);
    }
  });
}
