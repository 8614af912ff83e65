/**
 * Issue 22 (7): a symbolic link placed in the data directory let DuckDB write outside it (its
 * `allowed_directories` compares path strings, the OS follows the link). A data directory holding a
 * link is refused at open; a link placed while the store runs stops the export, compaction and
 * retention before they write or delete through it: nothing appears in (or goes from) the link's target.
 */
import { equal, match, ok, rejects } from "node:assert/strict";
import { SymlinkError } from "../../store/confine.ts";
import { ParquetArchiver } from "../../store/parquet.ts";
import { StoreWriter } from "../../store/writer.ts";
import { counts, listFiles, makeEvents, open, symlink, tempDataDir } from "./helpers.ts";

const BASE = Date.UTC(2025, 9, 21);
const DAY = 86_400_000;

/** A directory under /tmp, outside every data directory; removed after `use`. */
async function withOutside(use: (outside: string) => Promise<void>): Promise<void> {
  const outside = await Deno.makeTempDir({ dir: "/tmp", prefix: "eventops-outside-" });
  try {
    await use(outside);
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
}

Deno.test("symlinks: a data directory holding a link is refused at open, nothing written through it", async () => {
  const { dir, cleanup } = await tempDataDir("symlink-open");
  try {
    await withOutside(async (outside) => {
      (await open(dir)).close();
      await symlink(outside, `${dir}/parquet/tenant=acme`);
      const error = await rejects(() => open(dir), (e: Error) => {
        ok(e instanceof SymlinkError, String(e));
        match(e.message, /contains symbolic links \(parquet\/tenant=acme -> \/tmp\/eventops-outside-\w+\)/);
        match(e.message, /remove them, or point data_dir at the real directory/);
        return true;
      });
      equal(error, undefined);
      await rejects(() => open(dir, true), SymlinkError);
      await Deno.remove(`${dir}/parquet/tenant=acme`);
      await symlink(`${outside}/db.wal`, `${dir}/metrics.duckdb.wal`);
      await rejects(() => open(dir), /metrics\.duckdb\.wal -> /);
      equal((await listFiles(outside)).length, 0, "nothing was written outside");
    });
  } finally {
    await cleanup();
  }
});

Deno.test("symlinks: export, compaction and retention never write or delete through a link", async () => {
  const { dir, cleanup } = await tempDataDir("symlink-maintenance");
  const store = await open(dir);
  const writer = await StoreWriter.open(store);
  const archiver = await ParquetArchiver.open(store);
  try {
    await withOutside(async (outside) => {
      const events = makeEvents(600, {
        tenants: ["acme"],
        metrics: ["cpu_load"],
        baseTs: BASE,
        stepMs: 60_000,
      });
      await writer.writeBatch(events.slice(0, 300), []);

      // A link where the export would create acme's partition.
      await symlink(outside, `${store.parquetDir}/tenant=acme`);
      await rejects(() => archiver.exportCold(0, BASE + DAY), (e: Error) => {
        ok(e instanceof SymlinkError, String(e));
        match(
          e.message,
          /tenant=acme is a symbolic link to \/tmp\/eventops-outside-\w+; the store does not write/,
        );
        return true;
      });
      equal((await counts(store)).rows, 300, "the rows stay hot");
      await Deno.remove(`${store.parquetDir}/tenant=acme`);

      // A link as the staging directory the export writes into first.
      await symlink(outside, `${store.dataDir}/.staging`);
      await rejects(() => archiver.exportCold(0, BASE + DAY), /\.staging is a symbolic link/);
      await Deno.remove(`${store.dataDir}/.staging`);
      equal((await listFiles(outside)).length, 0, "nothing was written outside");

      // Without links: two exports, two parts of one partition.
      equal((await archiver.exportCold(0, BASE + DAY)).rows, 300);
      await writer.writeBatch(events.slice(300), []);
      equal((await archiver.exportCold(0, BASE + DAY)).rows, 300);
      const partition = `${store.parquetDir}/tenant=acme`;
      const parts = await listFiles(partition);
      equal(parts.length, 2);

      // The partition moved outside and replaced by a link to it: compaction and retention refuse.
      await Deno.rename(partition, `${outside}/moved`);
      await symlink(`${outside}/moved`, partition);
      await rejects(
        () => archiver.compact(2),
        /leads to \/tmp\/eventops-outside-\w+\/moved.* through a symbolic link/,
      );
      await rejects(() => archiver.applyRetention(DAY, BASE + 30 * DAY), SymlinkError);
      equal((await listFiles(`${outside}/moved`)).join(), parts.join(), "nothing added or deleted outside");
    });
  } finally {
    await archiver.close();
    await writer.close();
    store.close();
    await cleanup();
  }
});
