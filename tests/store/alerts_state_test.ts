/**
 * `/alerts?state=firing` lists the alerts firing now: the latest transition of each fingerprint, when
 * it is firing (before the fix it listed every firing transition, also of alerts resolved later).
 */
import { deepStrictEqual } from "node:assert/strict";
import { StoreReader } from "../../store/query.ts";
import { StoreWriter } from "../../store/writer.ts";
import { makeAlert, withStore } from "./helpers.ts";

Deno.test("alerts: state=firing is the alerts firing now, state=resolved those resolved now", async () => {
  await withStore("q-alert-state", async (store) => {
    const writer = await StoreWriter.open(store);
    const reader = await StoreReader.open(store);
    const a1 = makeAlert(0); // host-0 warning firing
    const a2 = makeAlert(1); // host-1 critical firing
    const a1Critical = makeAlert(2, {
      fingerprint: a1.fingerprint,
      severity: "critical",
      starts_at: a1.starts_at,
    });
    const a1Resolved = makeAlert(4, {
      fingerprint: a1.fingerprint,
      state: "resolved",
      starts_at: a1.starts_at,
      ends_at: a1.starts_at + 300_000,
      ts: a1.starts_at + 300_000,
    });
    await writer.writeBatch([], [a1, a2]);
    await writer.writeBatch([], [a1Critical]);
    deepStrictEqual((await reader.alerts({ state: "firing", limit: 10 })).map((a) => a.id), [
      a1Critical.id,
      a2.id,
    ]);
    await writer.writeBatch([], [a1Resolved]);
    deepStrictEqual((await reader.alerts({ state: "firing", limit: 10 })).map((a) => a.id), [a2.id]);
    deepStrictEqual((await reader.alerts({ state: "resolved", limit: 10 })).map((a) => a.id), [
      a1Resolved.id,
    ]);
    deepStrictEqual(
      (await reader.alerts({ state: "firing", severity: "warning", limit: 10 })).map((a) => a.id),
      [],
      "a1's latest is resolved; its earlier warning does not count",
    );
    // Without state: every transition, newest first (the history).
    deepStrictEqual((await reader.alerts({ limit: 10 })).map((a) => a.seq), [4, 3, 2, 1]);
    reader.close();
  });
});
