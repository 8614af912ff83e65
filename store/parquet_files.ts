/**
 * Files of the Parquet tree: listing the part files of the partitions, removing empty
 * directories, the staging directory of changes in progress.
 *
 * @module
 */
import { joinPath } from "./paths.ts";

/** Directory (in the data directory) where DuckDB writes new parts before they are linked in. */
export const STAGING_DIR = ".staging";

/** A file found in the Parquet tree. */
export interface FoundFile {
  /** Absolute path. */
  abs: string;
  /** Path relative to the listed root. */
  rel: string;
  /** Directory relative to the listed root. */
  dir: string;
  name: string;
}

/** Every regular file three directory levels below `root` (`tenant=/metric=/date=/file`). */
export async function listPartitionFiles(root: string): Promise<FoundFile[]> {
  const out: FoundFile[] = [];
  async function walk(dir: string, rel: string, depth: number): Promise<void> {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      const abs = joinPath(dir, entry.name);
      const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (depth < 3 && entry.isDirectory) await walk(abs, childRel, depth + 1);
      else if (depth === 3 && entry.isFile) out.push({ abs, rel: childRel, dir: rel, name: entry.name });
    }
  }
  await walk(root, "", 0);
  return out;
}

/** Every `*.parquet` file three directory levels below `root`. */
export async function listParquetFiles(root: string): Promise<FoundFile[]> {
  return (await listPartitionFiles(root)).filter((f) => f.name.endsWith(".parquet"));
}

/** Removes `dir` when it is an empty directory (never a link); whether it did. */
export async function removeIfEmpty(dir: string): Promise<boolean> {
  try {
    if ((await Deno.lstat(dir)).isSymlink) return false; // left for the open-time check to report
    await Deno.remove(dir); // fails when not empty
    return true;
  } catch {
    return false;
  }
}

/** Removes empty partition directories below `root` (never `root` itself). */
export async function removeEmptyDirs(root: string): Promise<void> {
  async function prune(dir: string): Promise<boolean> {
    let empty = true;
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      return false;
    }
    for (const entry of entries) {
      if (entry.isDirectory && await prune(joinPath(dir, entry.name))) continue;
      empty = false;
    }
    return empty && dir !== root && await removeIfEmpty(dir);
  }
  await prune(root);
}
