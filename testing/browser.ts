/// <reference lib="dom" />
/**
 * Headless Debian Chromium driven by playwright-core, for the dashboard tests (`EVENTOPS_CHROMIUM`,
 * default `/usr/bin/chromium`).
 *
 * @module
 */
import fs from "node:fs";
import type { Browser, Page } from "playwright-core";

const CHROMIUM = Deno.env.get("EVENTOPS_CHROMIUM") ?? "/usr/bin/chromium";

/**
 * Loads playwright-core under the test permission set. At load it checks whether it runs on WSL with
 * `fs.existsSync("/proc/sys/fs/binfmt_misc/WSLInterop")`, and Deno allows touching that path only
 * with --allow-all (even `--allow-read` is not enough); answer "no" for the two WSL probe paths.
 */
export async function loadPlaywright(): Promise<typeof import("playwright-core")> {
  const existsSync = fs.existsSync;
  const wslProbes = new Set(["/proc/sys/fs/binfmt_misc/WSLInterop", "/run/WSL"]);
  fs.existsSync = (path: fs.PathLike) => (wslProbes.has(String(path)) ? false : existsSync(path));
  try {
    return await import("playwright-core");
  } finally {
    fs.existsSync = existsSync;
  }
}

/** Launches headless Chromium (playwright gives every launch a fresh temporary user-data-dir). */
export async function launch(): Promise<Browser> {
  const { chromium } = await loadPlaywright();
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Collects console errors, page errors and failed requests of a page. */
export function watchProblems(page: Page, label: string): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`${label}: console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`${label}: page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    // Closing the page ends its EventSource connections; that is not a failure.
    if (!request.url().includes("/stream")) {
      problems.push(`${label}: request failed: ${request.url()} ${request.failure()?.errorText}`);
    }
  });
  return problems;
}
