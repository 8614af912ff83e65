/**
 * The store's identity: a random id kept in `<data_dir>/store.id`, created with the store. An agent
 * advertises it in its consumer groups (`kafka/membership.ts`), so the others recognise its store
 * after a restart (a new process, the same rows): the restore of a departed agent's rows
 * (`pipeline/restore.ts`) is not needed for an agent that came back.
 *
 * @module
 */
import { joinPath } from "./paths.ts";

/** The name of the identity file in the data directory. */
export const STORE_ID_FILE = "store.id";

/** Reads the store's id in `dataDir`, creating it on first use (the store's lock is held: one writer). */
export async function storeIdentity(dataDir: string): Promise<string> {
  const path = joinPath(dataDir, STORE_ID_FILE);
  try {
    const id = (await Deno.readTextFile(path)).trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return id;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const id = crypto.randomUUID();
  await Deno.writeTextFile(path, `${id}\n`);
  return id;
}
