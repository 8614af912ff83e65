/**
 * Error messages for people: nested causes and aggregated errors flattened into one line.
 *
 * @module
 */

/** Describes `error` with its causes and aggregated errors, e.g. "Listing topics failed: connect ECONNREFUSED 127.0.0.1:9092". */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): void => {
    if (value === undefined || value === null || seen.has(value) || depth > 5) return;
    seen.add(value);
    if (value instanceof Error) {
      if (value.message && !parts.includes(value.message)) parts.push(value.message);
      const nested = (value as Error & { errors?: unknown }).errors;
      if (Array.isArray(nested)) { for (const inner of nested.slice(0, 3)) visit(inner, depth + 1); }
      visit(value.cause, depth + 1);
    } else {
      parts.push(String(value));
    }
  };
  visit(error, 0);
  return parts.join(": ") || "unknown error";
}
