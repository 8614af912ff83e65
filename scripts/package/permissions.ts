/**
 * The packaged agent's Deno flags, made from deno.json: the `eventops` task's flags and the
 * permission set it names (`-P=agent`), with relative paths placed for an install.
 *
 * `deno task eventops` runs in the project directory, which is at once where the agent's code is
 * and where its data and config files are. An install separates the two: the code is unpacked into
 * the app directory, the data and config stay in the working directory (or the absolute paths of
 * the set, such as /etc/eventops and /var/lib/eventops). So a relative read or write path is granted
 * in the working directory as in development, and also in the app directory when the app ships
 * something there (its modules, its node_modules); an FFI path only in the app directory (the native
 * bindings it ships). Net, env and sys lists are copied unchanged.
 *
 * @module
 */

/** One Deno permission set of deno.json's `permissions`. */
export interface PermissionSet {
  read?: string[] | boolean;
  write?: string[] | boolean;
  net?: string[] | boolean;
  env?: string[] | boolean;
  sys?: string[] | boolean;
  ffi?: string[] | boolean;
  run?: string[] | boolean;
  import?: string[] | boolean;
}

/** The `eventops` task split into its environment, its Deno flags and its entry module. */
export interface AgentTask {
  env: Record<string, string>;
  /** Flags between `deno run` and the entry module, `-P=<set>` excluded. */
  flags: string[];
  permissionSet: string;
  entry: string;
}

/** A word of the generated command: literal text, or the app directory (known at run time only). */
export type Part = { text: string } | { app: true };

/** Parses `NAME=value ... deno run -P=<set> <flags> <entry>` (the eventops task of deno.json). */
export function parseAgentTask(task: string): AgentTask {
  const words = task.split(/\s+/).filter(Boolean);
  const env: Record<string, string> = {};
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [name, ...value] = words.shift()!.split("=");
    env[name] = value.join("=");
  }
  if (words[0] !== "deno" || words[1] !== "run") throw new Error(`unexpected eventops task: ${task}`);
  const rest = words.slice(2);
  const entry = rest.pop();
  if (!entry || entry.startsWith("-")) throw new Error(`eventops task has no entry module: ${task}`);
  const permission = rest.find((word) => /^(-P|--permission-set)=/.test(word));
  if (!permission) throw new Error(`eventops task names no permission set (-P=<name>): ${task}`);
  return {
    env,
    flags: rest.filter((word) => word !== permission),
    permissionSet: permission.slice(permission.indexOf("=") + 1),
    entry,
  };
}

function isRelative(path: string): boolean {
  return !path.startsWith("/");
}

function relativeName(path: string): string {
  return path.replace(/^\.\//, "").replace(/\/$/, "");
}

/**
 * The `--allow-*` flags equal to `set`, with relative paths placed as the module comment says.
 * `shipped(path)` tells whether the app carries something at a relative path (`node_modules`,
 * `pipeline`); each flag is a list of parts joined without separators.
 */
export function permissionFlags(set: PermissionSet, shipped: (relativePath: string) => boolean): Part[][] {
  const flags: Part[][] = [];
  for (const [kind, value] of Object.entries(set) as [keyof PermissionSet, string[] | boolean][]) {
    if (value === false || value === undefined) continue;
    if (value === true) {
      flags.push([{ text: `--allow-${kind}` }]);
      continue;
    }
    if (value.length === 0) continue;
    const entries: Part[][] = [];
    for (const path of value) {
      const placesPaths = kind === "read" || kind === "write" || kind === "ffi";
      if (!placesPaths || !isRelative(path)) {
        entries.push([{ text: path }]);
        continue;
      }
      const name = relativeName(path);
      const trailing = path.endsWith("/") ? "/" : "";
      if (kind !== "ffi") entries.push([{ text: path }]);
      if (shipped(name) || kind === "ffi") entries.push([{ app: true }, { text: `/${name}${trailing}` }]);
    }
    for (const entry of entries) {
      if (entry.some((part) => "text" in part && part.text.includes(","))) {
        throw new Error(`a ${kind} entry contains a comma: ${JSON.stringify(entry)}`);
      }
    }
    flags.push([
      { text: `--allow-${kind}=` },
      ...entries.flatMap((entry, index) => index === 0 ? entry : [{ text: "," }, ...entry]),
    ]);
  }
  return flags;
}

/** A flag as one POSIX shell word: literal text single-quoted, the app directory as "$app". */
export function shellWord(parts: Part[]): string {
  let word = "";
  let text = "";
  const flush = () => {
    if (text) word += `'${text.replaceAll("'", `'\\''`)}'`;
    text = "";
  };
  for (const part of parts) {
    if ("app" in part) {
      flush();
      word += `"$app"`;
    } else {
      text += part.text;
    }
  }
  flush();
  return word;
}

/** A flag with the app directory filled in (for callers that know it, such as tests). */
export function resolveWord(parts: Part[], app: string): string {
  return parts.map((part) => "app" in part ? app : part.text).join("");
}
