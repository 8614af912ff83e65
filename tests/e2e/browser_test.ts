/// <reference lib="dom" />
/**
 * The dashboard in a real browser: headless Debian Chromium driven by playwright-core, against the
 * REAL agent subprocess and the test broker. The seed events go in with kcat; the page must draw
 * them, then show a new alert live (no reload) when another event crosses a threshold, and fit a
 * 375 px phone screen. Screenshots go to `data/test/<name>/`.
 *
 * Every wait is on a DOM condition (`waitForFunction` / locators), never a fixed sleep.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launch, watchProblems } from "../../testing/browser.ts";
import { SEED_EVENTS } from "../../cli/seed_events.ts";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatProduce } from "../../testing/kcat.ts";

/**
 * `kcat -P` with one key for every message, so they all land on one partition of the raw topic and
 * keep their order. Unkeyed messages go to random partitions, and events of one series consumed out
 * of event-time order are skipped by the rules (an older point after a newer one is "late").
 */
function produce(topic: string, lines: readonly string[]): Promise<void> {
  return kcatProduce(topic, lines, "e2e");
}

const ROOT = new URL("../../", import.meta.url).pathname;
const WAIT = { timeout: 30_000 };

/** Pixels of the chart canvas close to the series colour (the accent), i.e. the drawn line/points. */
function seriesPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>(".uplot canvas");
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx) return 0;
    const accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
    const probe = document.createElement("canvas").getContext("2d");
    if (!probe) return 0;
    probe.fillStyle = accent;
    probe.fillRect(0, 0, 1, 1);
    const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (
        data[i + 3] > 200 && Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40 &&
        Math.abs(data[i + 2] - b) < 40
      ) count++;
    }
    return count;
  });
}

Deno.test({
  name: "dashboard in headless Chromium: seed series drawn, a new alert appears live, fits 375 px",
  // playwright keeps its own timers and sockets to the browser process.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const name = uniqueName("browser");
    const { file, port, topics } = await writeTestConfig(name);
    const outDir = `${ROOT}data/test/${name}`;
    const agent = await startAgent(file, port);
    let browser: Browser | undefined;
    try {
      await produce(topics.raw, [...SEED_EVENTS]);
      await eventually(
        async () => {
          const response = await fetch(`${agent.baseUrl}/alerts`);
          const body = await response.json();
          return body.count >= 2 ? true : undefined;
        },
        30_000,
        "seed events stored with their two alerts",
      );

      browser = await launch();
      const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      const problems = watchProblems(page, "desktop");

      await t.step("the seed series is drawn: uPlot canvas, 2 points, values in the page", async () => {
        await page.goto(agent.baseUrl, { waitUntil: "domcontentloaded" });
        await page.waitForSelector(".uplot canvas", WAIT);
        await page.waitForFunction(
          () => document.getElementById("series-sub")?.textContent?.includes("2 points"),
          undefined,
          WAIT,
        );
        assert.equal(await page.locator("#series-title").textContent(), "cpu_load");
        assert.match(await page.locator("#series-sub").textContent() ?? "", /^acme · host-a · 2 points$/);
        assert.equal(await page.locator("#tenant").inputValue(), "acme");
        assert.equal(await page.locator("#host").inputValue(), "host-a");
        assert.equal(await page.locator("#metric").inputValue(), "cpu_load");
        // The latest value with its unit, and the legend with the rule's thresholds.
        assert.equal(await page.locator("#last-value").textContent(), "97");
        assert.equal(await page.locator("#last-unit").textContent(), "percent");
        assert.match(await page.locator("#last-value").getAttribute("class") ?? "", /critical/);
        const legend = await page.locator("#legend").innerText();
        assert.match(legend, /cpu_load/);
        assert.match(legend, /warning ≥ 80/);
        assert.match(legend, /critical ≥ 95/);
        assert.equal(await page.locator("#chart-empty").isHidden(), true);
        // The line and its two points are on the canvas.
        await page.waitForFunction(
          () => {
            const canvas = document.querySelector<HTMLCanvasElement>(".uplot canvas");
            return canvas !== null && canvas.width > 200 && canvas.height > 100;
          },
          undefined,
          WAIT,
        );
        const drawn = await seriesPixels(page);
        assert.ok(drawn > 50, `series pixels on the canvas: ${drawn}`);
        // Hovering the left part of the plot shows the first point's value (85).
        const box = await page.locator(".uplot .u-over").boundingBox();
        assert.ok(box, "the plot area");
        await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
        await page.waitForFunction(
          () => document.getElementById("last-value")?.textContent === "85",
          undefined,
          WAIT,
        );
        await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
        await page.waitForFunction(
          () => document.getElementById("last-value")?.textContent === "97",
          undefined,
          WAIT,
        );
        await page.mouse.move(0, 0);
      });

      await t.step("the alerts panel lists the seed alerts and the stream is live", async () => {
        await page.waitForFunction(
          () => document.querySelectorAll("#alerts li").length === 2,
          undefined,
          WAIT,
        );
        const items = await page.locator("#alerts li").allInnerTexts();
        assert.match(items[0], /critical[\s\S]*cpu_high[\s\S]*acme \/ host-a · cpu_load 97 ≥ 95/i);
        assert.match(items[1], /warning[\s\S]*cpu_high[\s\S]*acme \/ host-a · cpu_load 85 ≥ 80/i);
        assert.equal(await page.locator("#firing-count").textContent(), "1 firing");
        await page.waitForSelector("#conn[data-state=live]", WAIT);
        await page.waitForSelector("#status .stat", WAIT);
      });

      await t.step(
        "a new alert appears live without a reload, and the chart gets the new point",
        async () => {
          await page.evaluate(() => {
            (globalThis as unknown as { __noReload: boolean }).__noReload = true;
          });
          await produce(topics.raw, [
            '{"tenant_id":"acme","host":"host-b","metric":"cpu_load","value":99,"ts_event":"2025-10-21T10:06:00Z","unit":"percent"}',
            '{"tenant_id":"acme","host":"host-a","metric":"cpu_load","value":70,"ts_event":"2025-10-21T10:10:00Z","unit":"percent"}',
          ]);
          await page.waitForFunction(
            () =>
              [...document.querySelectorAll("#alerts li")].some((li) => li.textContent?.includes("host-b")),
            undefined,
            WAIT,
          );
          const first = page.locator("#alerts li").filter({ hasText: "host-b" });
          assert.match(await first.innerText(), /critical[\s\S]*acme \/ host-b · cpu_load 99 ≥ 95/i);
          // host-a's 70 resolves its alert; the live event stream adds the point to the chart.
          await page.waitForFunction(
            () =>
              document.querySelectorAll("#alerts li").length === 4 &&
              document.getElementById("last-value")?.textContent === "70",
            undefined,
            WAIT,
          );
          const resolved = page.locator("#alerts li.resolved");
          assert.equal(await resolved.count(), 1);
          assert.match(
            await resolved.innerText(),
            /resolved[\s\S]*acme \/ host-a · cpu_load 70 \(back below 75\)/i,
          );
          assert.equal(await page.locator("#series-sub").textContent(), "acme · host-a · 3 points");
          assert.equal(await page.locator("#firing-count").textContent(), "1 firing", "host-b only");
          assert.equal(
            await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload),
            true,
            "the page was not reloaded",
          );
          await page.screenshot({ path: `${outDir}/dashboard.png`, fullPage: true });
          assert.deepEqual(problems, []);
        },
      );

      await t.step(
        "firing now: acknowledge and silence host-b from the page (token asked), expire the silence",
        async () => {
          const row = page.locator("#active-alerts li").filter({ hasText: "host-b" });
          await row.waitFor(WAIT);
          assert.equal(
            await page.locator("#active-alerts li").count(),
            1,
            "host-a resolved: only host-b fires",
          );
          assert.match(await row.innerText(), /critical[\s\S]*cpu_high[\s\S]*acme \/ host-b · cpu_load 99/i);
          // Writes need the token: the page asks for it, then reloads with it.
          await row.getByRole("button", { name: "Ack" }).click();
          await page.waitForSelector("#token-banner:not([hidden])", WAIT);
          assert.match(await page.locator("#token-why").textContent() ?? "", /need the API token/);
          await page.fill("#token-input", "test-token");
          await Promise.all([page.waitForEvent("load"), page.click("#token-form button")]);
          const again = page.locator("#active-alerts li").filter({ hasText: "host-b" });
          await again.waitFor(WAIT);
          await again.getByRole("button", { name: "Ack" }).click();
          await again.locator(".badge.acked").waitFor(WAIT);
          assert.equal(await again.locator(".badge.acked").textContent(), "acked by dashboard");
          const active = await (await fetch(`${agent.baseUrl}/alerts/active`)).json();
          assert.equal(active.alerts[0].acked.acked_by, "dashboard");
          await again.getByRole("button", { name: "Silence 1h" }).click();
          await again.locator(".badge.silenced").waitFor(WAIT);
          await page.locator("#silences li").waitFor(WAIT);
          assert.match(
            await page.locator("#silences li").innerText(),
            /alertname="cpu_high", tenant="acme", host="host-b"[\s\S]*dashboard: silenced from the dashboard/,
          );
          const silences = await (await fetch(`${agent.baseUrl}/silences`)).json();
          assert.equal(silences.length, 1);
          assert.equal(silences[0].status.state, "active");
          await page.locator("#silences li").getByRole("button", { name: "Expire" }).click();
          await page.waitForSelector("#silences-block[hidden]", { state: "attached", ...WAIT });
          await page.waitForFunction(
            () => document.querySelector("#active-alerts .badge.silenced") === null,
            undefined,
            WAIT,
          );
          const after = await (await fetch(`${agent.baseUrl}/silences`)).json();
          assert.equal(after[0].status.state, "expired");
          await page.screenshot({ path: `${outDir}/dashboard-notify.png`, fullPage: true });
          assert.deepEqual(problems.filter((p) => !p.includes("/alerts/") && !p.includes("401")), []);
        },
      );

      await t.step("a 375 px wide phone screen has no horizontal overflow", async () => {
        const phone = await browser!.newPage({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2 });
        const phoneProblems = watchProblems(phone, "phone");
        try {
          await phone.goto(agent.baseUrl, { waitUntil: "domcontentloaded" });
          await phone.waitForSelector(".uplot canvas", WAIT);
          await phone.waitForFunction(
            () => document.querySelectorAll("#alerts li").length === 4,
            undefined,
            WAIT,
          );
          await phone.waitForSelector("#status .stat", WAIT);
          const overflow = await phone.evaluate(() => ({
            page: document.documentElement.scrollWidth - innerWidth,
            wide: [...document.querySelectorAll<HTMLElement>("body *")]
              .filter((node) => node.getBoundingClientRect().right > innerWidth + 0.5)
              .map((node) => `${node.tagName.toLowerCase()}#${node.id}.${node.className}`)
              .slice(0, 5),
          }));
          assert.equal(overflow.page, 0, `horizontal overflow: ${JSON.stringify(overflow)}`);
          assert.deepEqual(overflow.wide, []);
          const chartWidth = await phone.evaluate(() =>
            document.querySelector<HTMLElement>(".uplot")?.getBoundingClientRect().width ?? 0
          );
          assert.ok(chartWidth > 250 && chartWidth <= 375, `chart width ${chartWidth}`);
          await phone.screenshot({ path: `${outDir}/dashboard-375.png`, fullPage: true });
          assert.deepEqual(phoneProblems, []);
        } finally {
          await phone.close();
        }
      });
    } finally {
      await browser?.close();
      const code = await agent.stop();
      assert.equal(code, 0, `graceful stop; logs:\n${agent.logs().slice(-4000)}`);
    }
  },
});
