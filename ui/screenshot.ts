/**
 * Screenshots of the dashboard demo at desktop (1280 px) and phone (375 px) widths, with Debian's
 * chromium driven by playwright-core.
 *
 * ```sh
 * deno run -A ui/screenshot.ts [out-dir]    # default: ui/screenshots/
 * ```
 *
 * @module
 */
import { chromium } from "playwright-core";
import { startDevServer } from "./dev_server.ts";

const outDir = Deno.args[0] ?? new URL("screenshots/", import.meta.url).pathname;
await Deno.mkdir(outDir, { recursive: true });

const dev = startDevServer({ port: 0, live: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const problems: string[] = [];
try {
  for (const [name, width, height] of [["desktop", 1280, 860], ["phone", 375, 812]] as const) {
    const page = await browser.newPage({
      viewport: { width, height },
      deviceScaleFactor: name === "phone" ? 2 : 1,
    });
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(`${name}: console: ${msg.text()}`);
    });
    page.on("pageerror", (err) => problems.push(`${name}: page error: ${err.message}`));
    await page.goto(dev.url);
    await page.waitForSelector(".uplot canvas");
    await page.waitForSelector("#alerts li");
    await page.waitForSelector("#status .stat");
    await page.waitForTimeout(2_500); // a few live points
    const overflow = (await page.evaluate("document.documentElement.scrollWidth - innerWidth")) as number;
    if (overflow > 0) problems.push(`${name}: horizontal overflow of ${overflow}px`);
    const file = `${outDir.replace(/\/$/, "")}/dashboard-${width}.png`;
    await page.screenshot({ path: file, fullPage: true });
    console.error(`wrote ${file}`);
    await page.close();
  }
} finally {
  await browser.close();
  await dev.close();
}
if (problems.length > 0) {
  console.error(problems.join("\n"));
  Deno.exit(1);
}
