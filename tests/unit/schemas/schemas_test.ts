/** schemas/: generated from the zod contracts, committed up to date, and usable as Avro. */
import assert from "node:assert/strict";
import avro from "avsc";
import { generateSchemas } from "../../../scripts/gen_schemas.ts";
import { type Envelope, EnvelopeSchema } from "../../../model/envelope.ts";

Deno.test("the committed schemas/ files equal what the zod contracts generate (deno task schemas)", async () => {
  for (const [path, content] of Object.entries(generateSchemas())) {
    assert.equal(await Deno.readTextFile(path), content, `${path} is stale: run deno task schemas`);
  }
});

Deno.test("envelope.avsc is a valid Avro schema that round-trips an envelope", async () => {
  // avsc: the Avro library @platformatic/kafka itself depends on (same locked version).
  const type = avro.Type.forSchema(JSON.parse(await Deno.readTextFile("schemas/envelope.avsc")));
  const envelope: Envelope = {
    v: 1,
    id: "ingest.raw.agent:0:5:0",
    tenant: "acme",
    host: "host-a",
    metric: "cpu_load",
    value: 85,
    unit: "percent",
    ts: 1_761_040_800_000,
    ts_ingest: 1_761_040_801_000,
    tags: { env: "prod" },
    ctx: { site: "par-1" },
    source: { topic: "ingest.raw.agent", partition: 0, offset: "5", index: 0 },
  };
  const decoded = type.fromBuffer(type.toBuffer({ ...envelope, unit_original: null }));
  const { unit_original: _, ...rest } = decoded as Envelope & { unit_original: string | null };
  assert.deepEqual(EnvelopeSchema.parse(rest), envelope);
});
