/**
 * The hostile-payload corpus (`hostile_corpus.ts`) through the real broker and agent, with the
 * accounting check per element: every element produced is in the store or on the DLQ, exactly
 * once, never both, never neither; its fate is the one the corpus expects; and the messages add up
 * (read = produced, `[]` counted as empty).
 */
import assert from "node:assert/strict";
import {
  BROKERS,
  eventually,
  runEventops,
  startAgent,
  uniqueName,
  writeTestConfig,
} from "../../testing/agent.ts";
import { httpQuery, removeTestDir } from "../e2e/store_helpers.ts";
import { CORPUS_MAX_MESSAGE_BYTES, type Fate, HOSTILE_KINDS, hostileCorpus } from "./hostile_corpus.ts";
import { deadLetterKey, produceRaw, readDeadLetters } from "./helpers.ts";

const MESSAGES = 3_600;

Deno.test(`hostile corpus: ${MESSAGES} messages of every kind, each element stored or dead-lettered exactly once`, async () => {
  const name = uniqueName("hostile");
  const { file, port, topics } = await writeTestConfig(name, {
    normalize: { max_message_bytes: CORPUS_MAX_MESSAGE_BYTES },
  });
  try {
    const init = await runEventops(["init", "--config", file]);
    assert.equal(init.code, 0, init.stderr);
    const agent = await startAgent(file, port);
    try {
      const corpus = hostileCorpus(MESSAGES, Date.now());
      const positions = await produceRaw(
        BROKERS,
        topics.raw,
        corpus.map((message, index) => ({ partition: index % 3, value: message.value })),
      );
      /** Per element (`partition:offset:index`): its kind and expected fate. */
      const expected = new Map<string, { kind: string; fate: Fate }>();
      corpus.forEach((message, index) => {
        message.fates.forEach((fate, element) => {
          expected.set(`${positions[index]}:${element}`, { kind: message.kind, fate });
        });
      });
      const empties = corpus.filter((message) => message.fates.length === 0).length;

      // Wait until every element is accounted for (or more: that would be a duplicate, failed below).
      const account = async () => {
        const stored = await httpQuery(
          agent.baseUrl,
          `SELECT src_partition || ':' || src_offset || ':' || src_index AS element, count(*) AS n
           FROM metrics_all WHERE src_topic = '${topics.raw}' GROUP BY ALL`,
        );
        const dead = (await readDeadLetters(topics.dlq)).filter((record) =>
          record.source.topic === topics.raw
        );
        return { stored, dead };
      };
      const { stored, dead } = await eventually(
        async () => {
          const found = await account();
          return found.stored.rows.length + found.dead.length >= expected.size ? found : undefined;
        },
        120_000,
        `${expected.size} elements stored or dead-lettered`,
      );

      const storedCount = new Map<string, number>();
      for (const [element, n] of stored.rows) storedCount.set(String(element), Number(n));
      const deadCount = new Map<string, number>();
      for (const record of dead) {
        const key = deadLetterKey(record).slice(topics.raw.length + 1);
        deadCount.set(key, (deadCount.get(key) ?? 0) + 1);
      }
      const mismatches: string[] = [];
      for (const [element, { kind, fate }] of expected) {
        const inStore = storedCount.get(element) ?? 0;
        const inDlq = deadCount.get(element) ?? 0;
        if (inStore + inDlq !== 1) mismatches.push(`${kind} ${element}: stored ${inStore}, DLQ ${inDlq}`);
        else if (fate === "stored" && inStore !== 1) {
          mismatches.push(`${kind} ${element}: expected stored, on the DLQ`);
        } else if (fate === "dlq" && inDlq !== 1) {
          mismatches.push(`${kind} ${element}: expected on the DLQ, stored`);
        }
      }
      for (const element of [...storedCount.keys(), ...deadCount.keys()]) {
        if (!expected.has(element)) mismatches.push(`unexpected element ${element}`);
      }
      assert.deepEqual(mismatches.slice(0, 20), [], `${mismatches.length} mismatches`);

      const totalStored = [...storedCount.values()].reduce((sum, n) => sum + n, 0);
      assert.equal(totalStored + dead.length, expected.size, "produced elements = stored + DLQ");
      const status = await (await fetch(`${agent.baseUrl}/status`)).json();
      assert.equal(status.totals["normalize.in"], MESSAGES, "every message read once");
      assert.equal(status.totals["normalize.empty"], empties, "empty arrays counted");
      const metrics = await (await fetch(`${agent.baseUrl}/prometheus`)).text();
      assert.match(
        metrics,
        new RegExp(`eventops_pipeline_events_total\\{stage="normalize",kind="empty"\\} ${empties}\\n`),
      );
      const oversized = dead.filter((record) => record.truncated === true);
      assert.ok(oversized.length > 0 && oversized.every((record) => record.original_sha256?.length === 64));
      console.log(
        `reliability figures: hostile corpus of ${MESSAGES} messages (${HOSTILE_KINDS} kinds), ` +
          `${expected.size} elements: ${totalStored} stored + ${dead.length} DLQ = ${expected.size}, ` +
          `${mismatches.length} mismatches; ${empties} empty arrays counted`,
      );
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  } finally {
    await removeTestDir(name);
  }
});
