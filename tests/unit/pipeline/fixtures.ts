/** A valid envelope v1 for the pipeline's unit tests. */
export const VALID_ENVELOPE = {
  v: 1,
  id: "ingest.raw.agent:2:17:0",
  tenant: "acme",
  host: "host-a",
  metric: "cpu_load",
  value: 85.5,
  unit: "percent",
  ts: 1_761_040_800_000,
  ts_ingest: 1_761_040_800_123,
  tags: { env: "prod" },
  ctx: { site: "par-1", inventory: "known" },
  source: { topic: "ingest.raw.agent", partition: 2, offset: "17", index: 0 },
};
