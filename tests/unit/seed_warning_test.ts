/** `eventops seed` says when the agent would refuse the brief's 2025 events (older than the retention). */
import assert from "node:assert/strict";
import { ConfigSchema } from "../../config/schema.ts";
import { seedAgeWarning } from "../../cli/seed.ts";

const NOW = Date.parse("2026-12-04T12:00:00Z");

Deno.test("seed warns when the retention refuses the brief's events, not when everything is kept", () => {
  const warning = seedAgeWarning(ConfigSchema.parse({}), NOW);
  assert.match(
    warning ?? "",
    /from 2025-10-21, older than the store's retention \(store\.parquet\.retention 30d\)/,
  );
  assert.match(warning ?? "", /EVENTOPS_RETENTION=0s/);
  assert.equal(
    seedAgeWarning(ConfigSchema.parse({ store: { parquet: { retention: "0s" } } }), NOW),
    undefined,
  );
  assert.equal(seedAgeWarning(ConfigSchema.parse({}), Date.parse("2025-10-22T00:00:00Z")), undefined);
});
