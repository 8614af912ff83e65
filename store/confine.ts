/**
 * No symbolic links in the data directory. DuckDB's `allowed_directories` compares path strings and
 * the operating system then follows links, so a link placed in the data directory (say
 * `parquet/tenant=acme -> /tmp/x`) let the Parquet export write outside it, retention delete there,
 * and user SQL read there. The store refuses to open a data directory that holds a link, and checks
 * every directory it writes into or deletes from right before it does (its real path must be the
 * path itself).
 *
 * @module
 */
import { joinPath } from "./paths.ts";

/** A data directory holding a symbolic link, or a write that would go through one. */
export class SymlinkError extends Error {
  override name = "SymlinkError";
}

/** One link found: its path relative to the data directory and where it points. */
export interface FoundLink {
  path: string;
  target: string;
}

/** Up to `limit` symbolic links anywhere below `root` (links are listed, never followed). */
export async function findSymlinks(root: string, limit = 10): Promise<FoundLink[]> {
  const found: FoundLink[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      if (found.length >= limit) return;
      const path = joinPath(dir, entry.name);
      const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isSymlink) {
        found.push({ path: childRel, target: await Deno.readLink(path).catch(() => "?") });
      } else if (entry.isDirectory) await walk(path, childRel);
    }
  };
  await walk(root, "");
  return found;
}

/** Throws a {@link SymlinkError} naming the links when `dataDir` (a real path) holds any. */
export async function assertNoSymlinks(dataDir: string): Promise<void> {
  const links = await findSymlinks(dataDir);
  if (links.length === 0) return;
  const list = links.map((link) => `${link.path} -> ${link.target}`).join(", ");
  throw new SymlinkError(
    `the data directory ${dataDir} contains symbolic links (${list}); the store refuses them, as DuckDB ` +
      "would read and write through them, outside the data directory: remove them, or point data_dir at " +
      "the real directory",
  );
}

/**
 * Throws a {@link SymlinkError} unless `path` (absolute, inside the data directory, existing) is its
 * own real path, i.e. no component of it is a link. Called right before writing into or deleting from it.
 */
export async function assertRealPath(path: string): Promise<void> {
  const real = await Deno.realPath(path);
  if (real !== path) {
    throw new SymlinkError(
      `${path} leads to ${real} through a symbolic link; the store does not write or delete through ` +
        "links (they could lead outside the data directory): remove the link",
    );
  }
}

/**
 * Creates `path` (absolute, below `root`) one directory at a time, refusing to go through a link:
 * `Deno.mkdir(path, { recursive: true })` would follow one and create directories wherever it leads.
 */
export async function mkdirInside(root: string, path: string): Promise<void> {
  if (!path.startsWith(`${root}/`)) throw new SymlinkError(`${path} is not inside ${root}`);
  let current = root;
  for (const part of path.slice(root.length + 1).split("/").filter(Boolean)) {
    current = joinPath(current, part);
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.lstat(current);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (info === undefined) {
      try {
        await Deno.mkdir(current);
        continue;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
        info = await Deno.lstat(current);
      }
    }
    if (info.isSymlink) {
      throw new SymlinkError(
        `${current} is a symbolic link to ${await Deno.readLink(current).catch(() => "?")}; the store does ` +
          "not write through links (they could lead outside the data directory): remove it",
      );
    }
    if (!info.isDirectory) throw new SymlinkError(`${current} is not a directory`);
  }
}
