/// <reference lib="dom" />
/**
 * The dashboard against any agent (issue 24), in headless Chromium: two real agents in the same groups
 * split the 24 series; the page served by the second shows a series the first stores (catalog fanned
 * out, points forwarded), every agent's alerts, and live what the first one stores and fires next (its
 * events relayed, its alert from the alerts topic). Every wait is on a DOM condition.
 */
import assert from "node:assert/strict";
import type { Browser } from "playwright-core";
import { eventually } from "../../testing/agent.ts";
import { launch, watchProblems } from "../../testing/browser.ts";
import { kcatProduce } from "../../testing/kcat.ts";
import {
  clusterSettled,
  CRITICAL_TRANSITIONS,
  getJson,
  HOSTS,
  produceHosts,
  startAgents,
  STILL_FIRING,
  stopAll,
} from "../../testing/scaleout.ts";

const WAIT = { timeout: 30_000 };

Deno.test({
  name: "dashboard in headless Chromium on one agent shows the series and alerts another agent stores, live",
  // playwright keeps its own timers and sockets to the browser process.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const run = await startAgents("browserso", 2);
    const [first, second] = run.urls;
    let browser: Browser | undefined;
    try {
      await clusterSettled(run.urls);
      await produceHosts(run.topics.raw);
      await eventually(
        async () => {
          const alerts = await getJson(`${second}/alerts?severity=critical&limit=100`);
          const catalog = await getJson(`${second}/metrics`);
          return alerts.body.count === CRITICAL_TRANSITIONS &&
              (catalog.body.series as unknown[]).length === HOSTS.length || undefined;
        },
        90_000,
        "every series and alert stored",
      );
      // A host the first agent stores whose alert resolved: a new critical value fires it again.
      const own = (await getJson(`${first}/metrics`, { "X-EventOps-Forwarded": "1" })).body.series as {
        host: string;
      }[];
      const host = HOSTS.find((name, index) => !STILL_FIRING(index) && own.some((s) => s.host === name));
      assert.ok(host, `the first agent stores a resolved host: ${own.map((s) => s.host)}`);
      const otherHost = HOSTS.find((name) => !own.some((s) => s.host === name))!;

      browser = await launch();
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      const problems = watchProblems(page, "second agent");
      await page.addInitScript(() => localStorage.setItem("eventops.token", "test-token"));
      await page.goto(`${second}/#tenant=so&host=${host}&metric=cpu_load&range=all`, {
        waitUntil: "domcontentloaded",
      });

      // The series of the other agent, drawn; every host of both agents to choose from.
      await page.waitForFunction(
        (text) => document.getElementById("series-sub")?.textContent === text,
        `so · ${host} · 5 points`,
        WAIT,
      );
      assert.equal(await page.locator("#host option").count(), HOSTS.length);
      assert.equal(await page.locator("#last-value").textContent(), "20");

      // The alerts of both agents, each once; the hosts still firing.
      await page.waitForFunction(
        (count) => document.querySelectorAll("#alerts li").length === count,
        CRITICAL_TRANSITIONS,
        WAIT,
      );
      const items = await page.locator("#alerts li").allInnerTexts();
      assert.ok(items.some((text) => text.includes(`so / ${host} ·`)), "an alert of the first agent");
      assert.ok(items.some((text) => text.includes(`so / ${otherHost} ·`)), "an alert of the second agent");
      const stillFiring = HOSTS.filter((_, index) => STILL_FIRING(index)).length;
      assert.equal(await page.locator("#firing-count").textContent(), `${stillFiring} firing`);
      await page.waitForFunction(
        (count) => document.querySelectorAll("#active-alerts li").length === count,
        stillFiring,
        WAIT,
      );
      await page.waitForSelector("#conn[data-state=live]", WAIT);

      // Live, without a reload: the first agent stores the host's next event and fires its alert.
      const ts = new Date(Date.UTC(2025, 9, 21, 10, 5, 0)).toISOString();
      await kcatProduce(run.topics.raw, [
        JSON.stringify({
          tenant_id: "so",
          host,
          metric: "cpu_load",
          value: 99,
          ts_event: ts,
          unit: "percent",
        }),
      ], host);
      await page.waitForFunction(
        ([count, text]) =>
          document.querySelectorAll("#alerts li").length === count &&
          document.querySelector("#alerts li")?.textContent?.includes(text as string) === true &&
          document.getElementById("last-value")?.textContent === "99",
        [CRITICAL_TRANSITIONS + 1, `so / ${host} · cpu_load 99`] as const,
        WAIT,
      );
      assert.match(await page.locator("#alerts li").first().innerText(), /critical[\s\S]*cpu_high/i);
      assert.equal(await page.locator("#series-sub").textContent(), `so · ${host} · 6 points`);
      assert.equal(await page.locator("#firing-count").textContent(), `${stillFiring + 1} firing`);
      assert.deepEqual(problems, []);
    } finally {
      await browser?.close();
      const codes = await stopAll(run.agents);
      assert.deepEqual(codes, [0, 0], "both agents stop cleanly");
    }
  },
});
