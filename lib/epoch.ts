/**
 * Epoch numbers in any of the usual units, told apart by magnitude: the one rule for event
 * timestamps (normalize) and for query times (the API's `from`/`to`).
 *
 * @module
 */

/**
 * Epoch numbers are told apart by magnitude (absolute value): below 1e11 seconds (up to year
 * 5138), below 1e14 milliseconds (from 1973-03-03), below 1e17 microseconds, below 1e20
 * nanoseconds; larger numbers are out of range.
 */
export const EPOCH_CUTOFFS = {
  seconds: 1e11,
  milliseconds: 1e14,
  microseconds: 1e17,
  nanoseconds: 1e20,
} as const;

/**
 * Epoch milliseconds of an epoch number in seconds, milliseconds, microseconds or nanoseconds
 * ({@link EPOCH_CUTOFFS}); undefined when it is out of range. Seconds may have a fraction (rounded
 * to the millisecond); finer units are truncated to the millisecond.
 */
export function epochToMs(n: number): number | undefined {
  const abs = Math.abs(n);
  if (abs < EPOCH_CUTOFFS.seconds) return Math.round(n * 1_000);
  if (abs < EPOCH_CUTOFFS.milliseconds) return Math.floor(n);
  if (abs < EPOCH_CUTOFFS.microseconds) return Math.floor(n / 1_000);
  if (abs < EPOCH_CUTOFFS.nanoseconds) return Math.floor(n / 1_000_000);
  return undefined;
}
