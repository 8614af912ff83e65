/**
 * The agent's local credential: a random secret the agent keeps in its data directory
 * (`<data_dir>/local.credential`, mode 0600, created at its first start and kept across restarts)
 * so that `eventops query` on the same machine, run by a user who can read the data directory, needs
 * no configured API token. The agent accepts it only for `POST /query` and only from a loopback
 * client: who can read the file can read the store files anyway, and a request from another machine
 * needs `http.token`, whatever it sends.
 *
 * @module
 */

/** The file name, in the data directory. */
export const LOCAL_CREDENTIAL_FILE = "local.credential";

const SHAPE = /^[0-9a-f]{64}$/;

/** The path of the local credential of a data directory. */
export function localCredentialPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, "")}/${LOCAL_CREDENTIAL_FILE}`;
}

function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function create(path: string): string {
  const secret = newSecret();
  const file = Deno.openSync(path, { write: true, createNew: true, mode: 0o600 });
  try {
    file.writeSync(new TextEncoder().encode(`${secret}\n`));
  } finally {
    file.close();
  }
  Deno.chmodSync(path, 0o600);
  return secret;
}

/**
 * Returns the data directory's local credential, creating it (mode 0600) when there is none or it is
 * malformed, and taking away any group or other permission an existing one has. Throws when the path
 * is a symbolic link or not a regular file (it is never followed).
 */
export function ensureLocalCredential(dataDir: string): string {
  const path = localCredentialPath(dataDir);
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return create(path);
    throw error;
  }
  if (info.isSymlink || !info.isFile) {
    throw new Error(`${path} is not a regular file; remove it and start the agent again`);
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) Deno.chmodSync(path, 0o600);
  const secret = Deno.readTextFileSync(path).trim();
  if (SHAPE.test(secret)) return secret;
  Deno.removeSync(path);
  return create(path);
}

/**
 * Reads the local credential of a data directory, for the CLI; undefined when there is none, the
 * caller cannot read it, or it is a symbolic link or malformed.
 */
export function readLocalCredential(dataDir: string): string | undefined {
  const path = localCredentialPath(dataDir);
  try {
    const info = Deno.lstatSync(path);
    if (info.isSymlink || !info.isFile) return undefined;
    const secret = Deno.readTextFileSync(path).trim();
    return SHAPE.test(secret) ? secret : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a client address is on this machine (127.0.0.0/8, ::1, or IPv4-mapped 127.x). */
export function isLoopbackAddress(address: string): boolean {
  const host = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  const v4 = /^(?:::ffff:)?(\d{1,3})\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.exec(host);
  if (v4) return v4[1] === "127";
  return /^(?:0{0,4}:){7}0{0,3}1$|^::1$/.test(host);
}
