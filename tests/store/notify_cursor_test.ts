/**
 * The dispatcher's cursor on a real store: a step that makes nothing stores it at most once a
 * second (it would be one statement, and one leaked native handle, per batch with alerts); a stop
 * stores it; a restart rebuilds from it.
 *
 * @module
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { createLogger } from "../../lib/log.ts";
import { Notifier, type NotifyMetrics } from "../../notify/notifier.ts";
import { emptyPlan } from "../../notify/plan.ts";
import { NotifyStore } from "../../store/notify.ts";
import { StoreWriter } from "../../store/writer.ts";
import { eventually } from "../../testing/eventually.ts";
import { makeAlert, open, tempDataDir } from "./helpers.ts";

const metrics: NotifyMetrics = { sent: () => {}, failed: () => {}, retried: () => {}, queue: () => {} };

Deno.test("notifier: a step that makes nothing stores the cursor at most once a second; stop stores it", async () => {
  const { dir, cleanup } = await tempDataDir("notify-cursor");
  const store = await open(dir);
  const writer = await StoreWriter.open(store);
  const ledger = await NotifyStore.open(store);
  let clock = Date.UTC(2026, 0, 1);
  const start = () =>
    Notifier.start({
      ledger,
      plan: emptyPlan("http://localhost:8088"),
      secrets: new Map(),
      contextOf: () => ({}),
      log: createLogger("error"),
      metrics,
      userAgent: "test",
      now: () => clock,
    });
  let notifier = await start();
  try {
    // Each alert its own fingerprint, so each one is a firing alert the dispatcher tracks.
    let n = 0;
    const storeOne = async () => {
      const alert = makeAlert(n, { fingerprint: `cpu_high|acme|host-${n}|cpu_load` });
      n++;
      notifier.wake((await writer.writeBatch([], [alert])).storedAlerts);
      const applied = n;
      await eventually(() => notifier.activeAlerts().length === applied, 5_000);
    };
    await storeOne(); // the first step stores the cursor
    equal(await ledger.cursor(), 1);
    clock += 500;
    await storeOne(); // applied, not stored: 500 ms since the last save
    equal(await ledger.cursor(), 1);
    clock += 600;
    await storeOne(); // 1.1 s since: stored
    equal(await ledger.cursor(), 3);
    clock += 100;
    await storeOne();
    equal(await ledger.cursor(), 3);
    await notifier.stop();
    equal(await ledger.cursor(), 4, "stop stores the cursor");
    notifier = await start();
    deepStrictEqual(notifier.activeAlerts().length, 4, "rebuilt from the stored cursor");
  } finally {
    await notifier.stop();
    ledger.close();
    await writer.close();
    await store.close();
    await cleanup();
  }
});
