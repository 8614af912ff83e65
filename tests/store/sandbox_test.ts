/**
 * DuckDB ignores Deno's permissions, so the store locks it into the data directory with DuckDB's own
 * settings. These escapes must all fail, while Parquet inside the data directory keeps working.
 */
import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { open, tempDataDir, withStore } from "./helpers.ts";

const ESCAPES: [string, string][] = [
  ["read_csv outside", "SELECT * FROM read_csv('/etc/passwd')"],
  ["read_text outside", "SELECT * FROM read_text('/etc/hostname')"],
  ["read_blob outside", "SELECT * FROM read_blob('/etc/hostname')"],
  ["glob outside", "SELECT * FROM glob('/etc/*')"],
  ["COPY TO outside", "COPY (SELECT 1 AS x) TO '/tmp/eventops-escape.csv'"],
  ["COPY TO via ..", "COPY (SELECT 1 AS x) TO '__DATA__/../eventops-escape.csv'"],
  ["ATTACH outside", "ATTACH '/tmp/eventops-escape.db' AS escape"],
  ["EXPORT DATABASE", "EXPORT DATABASE '/tmp/eventops-export'"],
  ["INSTALL", "INSTALL httpfs"],
  ["LOAD", "LOAD httpfs"],
  ["unlock", "SET lock_configuration = false"],
  ["re-enable external access", "SET enable_external_access = true"],
  ["widen allowed_directories", "SET allowed_directories = ['/']"],
  ["autoload", "SET autoload_known_extensions = true"],
];

Deno.test("sandbox: escapes from the data directory are rejected", async (t) => {
  await withStore("sandbox", async (store) => {
    const conn = await store.connect();
    for (const [name, sql] of ESCAPES) {
      await t.step(name, async () => {
        await rejects(
          () => conn.run(sql.replace("__DATA__", store.dataDir)),
          /Permission Error|disabled|locked/,
        );
      });
    }
  });
});

Deno.test("sandbox: Parquet inside the data directory works, settings are locked", async () => {
  await withStore("sandbox-ok", async (store) => {
    const conn = await store.connect();
    const file = `${store.parquetDir}/probe.parquet`;
    await conn.run(`COPY (SELECT 42 AS answer) TO '${file}' (FORMAT parquet)`);
    const reader = await conn.runAndReadAll(
      `SELECT answer FROM read_parquet('${store.parquetDir}/*.parquet')`,
    );
    deepStrictEqual(reader.getRows(), [[42]]);
    const settings = await conn.runAndReadAll(
      `SELECT current_setting('enable_external_access'), current_setting('lock_configuration'),
              current_setting('autoload_known_extensions'), current_setting('autoinstall_known_extensions'),
              current_setting('TimeZone')`,
    );
    deepStrictEqual(settings.getRows()[0], [false, true, false, false, "UTC"]);
    const allowed = await conn.runAndReadAll("SELECT current_setting('allowed_directories')::VARCHAR");
    ok(String(allowed.getRows()[0][0]).includes(`${store.dataDir}/`));
    await Deno.remove(file);
  });
});

Deno.test("sandbox: a read-only open cannot write", async () => {
  const { dir, cleanup } = await tempDataDir("sandbox-ro");
  (await open(dir)).close();
  const store = await open(dir, true);
  const conn = await store.connect();
  try {
    await rejects(() => conn.run("CREATE TABLE x (a INTEGER)"), /read-only/);
    await rejects(() => conn.run("COPY (SELECT 1) TO '/tmp/eventops-escape.csv'"), /Permission Error/);
  } finally {
    store.close();
    await cleanup();
  }
});
