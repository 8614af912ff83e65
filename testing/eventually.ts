/**
 * Waiting for an observable signal instead of sleeping a fixed time: the one polling helper of the
 * tests, the bench and the dev tools.
 *
 * @module
 */

/** The first poll comes after this many ms; each next one waits twice as long, up to {@link MAX_POLL_MS}. */
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 200;

/**
 * Polls `probe` until it returns a value other than `undefined` or `false`, and returns that value;
 * throws after `timeoutMs`, naming `what` and the last error the probe threw (a probe that throws is
 * polled again: a server not listening yet, a file not written yet). Polls often at first (an
 * in-memory condition is met within milliseconds), then every 200 ms (a broker, a subprocess).
 */
export async function eventually<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let wait = FIRST_POLL_MS;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
    wait = Math.min(MAX_POLL_MS, wait * 2);
  }
}
