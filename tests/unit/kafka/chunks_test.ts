/** planChunks: consecutive requests within the budget, in order; records too large alone set apart. */
import { deepStrictEqual } from "node:assert/strict";
import { planChunks } from "../../../kafka/clients.ts";

Deno.test("planChunks keeps the order and fills each request up to the budget (32 bytes of framing per record)", () => {
  deepStrictEqual(planChunks([68, 68, 68, 68, 68], 1_000, 200), {
    chunks: [[0, 1], [2, 3], [4]],
    oversized: [],
  });
});

Deno.test("planChunks sets apart records above the record limit and goes on with the next", () => {
  deepStrictEqual(planChunks([10, 5_000, 10, 10], 1_000, 1_000), { chunks: [[0, 2, 3]], oversized: [1] });
});

Deno.test("planChunks sends a record as large as a request on its own", () => {
  deepStrictEqual(planChunks([10, 990, 10], 1_000, 1_000), { chunks: [[0], [1], [2]], oversized: [] });
});

Deno.test("planChunks of nothing is nothing", () => {
  deepStrictEqual(planChunks([], 1_000), { chunks: [], oversized: [] });
});
