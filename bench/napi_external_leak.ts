/**
 * A reproduction of the 32 bytes Deno leaves behind for every `napi_create_external` (measured on
 * Deno 2.9.6): `ext/napi/js_native_api.rs` boxes an `ExternalWrapper` for the external and never frees
 * it, even when the external is collected and its finalizer has run. `@duckdb/node-api` creates one
 * external per prepared statement, result and chunk, so an agent that runs statements for months
 * grows by it. Run under heaptrack (the agent's figures are in docs/performance.md):
 *
 *     heaptrack -o /tmp/napi deno run -P=bench --v8-flags=--expose-gc bench/napi_external_leak.ts 100000
 *     heaptrack_print -f /tmp/napi.zst --print-leaks 1 | grep -A1 "calls from$"
 *
 * Deno 2.9.6: `3.84M leaked over 120003 calls from napi_create_external` (20,000 warm-up and 100,000
 * measured prepares, each statement destroyed and collected). The same script under Node 20
 * (`node --expose-gc`, importing `@duckdb/node-api`): nothing from napi, 0.9 MB leaked in all
 * (OpenSSL's start-up). The fix proposed upstream: keep the user's finalizer and hint in the wrapper,
 * register the reference's finalizer on the wrapper itself, and free the box after calling the
 * user's finalizer (the wrapper then lives exactly as long as the external).
 *
 * @module
 */
import { DuckDBInstance } from "@duckdb/node-api";

const prepares = Number(Deno.args[0] ?? 100_000);
const instance = await DuckDBInstance.create(":memory:");
const conn = await instance.connect();
const gc = (globalThis as { gc?: () => void }).gc;

async function prepareAndDrop(count: number): Promise<void> {
  for (let index = 0; index < count; index++) (await conn.prepare("SELECT 1")).destroySync();
  // Collect the statements' JavaScript objects so their externals' finalizers run.
  for (let round = 0; round < 5; round++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

await prepareAndDrop(20_000);
await prepareAndDrop(prepares);
// RSS says little here (Node's grows as much, from its allocator): heaptrack counts what is never freed.
console.log(`${20_000 + prepares} statements prepared, destroyed and collected on Deno ${Deno.version.deno}`);
conn.closeSync();
instance.closeSync();
