/**
 * A hard memory cap for the agent under test (the bench's Pi scenario, `--memory-cap`): a new child
 * of this process' memory cgroup with the limit, the agent started in it (a `sh` wrapper writes its
 * own pid to `cgroup.procs`, then execs Deno, so nothing is charged elsewhere first), and what the
 * kernel recorded: the peak charge, how often the limit was hit, and OOM kills.
 *
 * cgroup v2 (`memory.max`, `memory.peak`, `memory.events`) or v1 (`memory.limit_in_bytes`,
 * `memory.max_usage_in_bytes`, `memory.failcnt`, `memory.oom_control`). `prlimit --as` is no
 * substitute: V8 reserves far more address space than it uses and fails to start under it. The
 * bench reads and writes the cgroup files with `cat` and `sh` (its permission set allows running
 * commands, not writing /sys).
 *
 * @module
 */

/** A memory cgroup created for one run. */
export interface MemoryCap {
  /** The cgroup directory. */
  dir: string;
  version: 1 | 2;
  limitBytes: number;
  /** Wrapper words for the agent's command line: it joins the cgroup, then execs the rest. */
  wrapper: string[];
  /** What the kernel counted so far. */
  stats(): Promise<CapStats>;
  /** Removes the cgroup (after the agent exited). */
  remove(): Promise<void>;
}

/** The kernel's counters of a capped run. */
export interface CapStats {
  /** Highest memory charged to the cgroup (anonymous and page cache), bytes. */
  peakBytes: number;
  /** OOM kills in the cgroup. */
  oomKills: number;
  /** Times the charge hit the limit (v1 failcnt; v2 `max` events): reclaim, not a kill. */
  limitHits: number;
}

async function sh(script: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command("sh", {
    args: ["-c", script, "sh", ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!output.success) throw new Error(`${script}: ${new TextDecoder().decode(output.stderr).trim()}`);
  return new TextDecoder().decode(output.stdout);
}

/** This process' memory cgroup directory and version, from /proc/self/cgroup. */
async function ownCgroup(): Promise<{ dir: string; version: 1 | 2 }> {
  const lines = (await sh("cat /proc/self/cgroup")).trim().split("\n");
  const v1 = lines.find((line) => line.split(":")[1]?.split(",").includes("memory"));
  if (v1) return { dir: `/sys/fs/cgroup/memory${v1.split(":")[2]}`, version: 1 };
  const v2 = lines.find((line) => line.startsWith("0::"));
  if (v2) return { dir: `/sys/fs/cgroup${v2.slice(3)}`.replace(/\/$/, ""), version: 2 };
  throw new Error("no memory cgroup in /proc/self/cgroup");
}

/**
 * Creates a child memory cgroup limited to `limitBytes` (no swap), or throws saying why not (not
 * writable, no memory controller delegated).
 */
export async function createMemoryCap(name: string, limitBytes: number): Promise<MemoryCap> {
  const own = await ownCgroup();
  const dir = `${own.dir}/${name}`;
  const files = own.version === 2
    ? { limit: "memory.max", swap: "memory.swap.max" }
    : { limit: "memory.limit_in_bytes", swap: "memory.memsw.limit_in_bytes" };
  try {
    await sh('mkdir "$1" && echo "$2" > "$1/$3"', dir, String(limitBytes), files.limit);
  } catch (error) {
    throw new Error(
      `cannot create a memory cgroup under ${own.dir} (cgroup v${own.version}): ${(error as Error).message}`,
    );
  }
  // No swap beyond the limit where the kernel accounts it (absent without swap accounting).
  await sh('[ ! -e "$1/$3" ] || echo "$2" > "$1/$3"', dir, String(limitBytes), files.swap).catch(() =>
    undefined
  );
  if (own.version === 1) {
    await sh('echo 3 > "$1/memory.move_charge_at_immigrate"', dir).catch(() => undefined);
  }
  const read = (file: string) => sh('cat "$1/$2" 2>/dev/null || true', dir, file);
  return {
    dir,
    version: own.version,
    limitBytes,
    wrapper: ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir],
    async stats() {
      if (own.version === 2) {
        const events = await read("memory.events");
        const count = (key: string) => Number(new RegExp(`^${key} (\\d+)`, "m").exec(events)?.[1] ?? 0);
        return {
          peakBytes: Number((await read("memory.peak")).trim() || 0),
          oomKills: count("oom_kill"),
          limitHits: count("max"),
        };
      }
      const oom = await read("memory.oom_control");
      return {
        peakBytes: Number((await read("memory.max_usage_in_bytes")).trim() || 0),
        oomKills: Number(/^oom_kill (\d+)/m.exec(oom)?.[1] ?? 0),
        limitHits: Number((await read("memory.failcnt")).trim() || 0),
      };
    },
    async remove() {
      await sh('rmdir "$1"', dir).catch(() => undefined);
    },
  };
}
