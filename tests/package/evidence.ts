/**
 * Pure readers of the evidence the package tests collect: network system calls in `strace` output,
 * and the syscall allow-list a systemd unit's `SystemCallFilter=` lines give (with the groups that
 * `systemd-analyze syscall-filter` prints).
 *
 * @module
 */

/** One socket address a traced process connected, sent or bound to. */
export interface NetworkCall {
  /** The process (empty in `strace -ff` files, which hold one process each). */
  pid: string;
  call: string;
  family: string;
  address: string;
  line: string;
}

const CALL = /^(?:(\d+)\s+)?(connect|sendto|sendmsg|bind)\((.*)$/;

/**
 * Every connect/sendto/sendmsg/bind with a socket address in `strace -f` (or `-ff`) output (a send
 * on a connected socket names no address: its connect did).
 */
export function networkCalls(strace: string): NetworkCall[] {
  const calls: NetworkCall[] = [];
  for (const line of strace.split("\n")) {
    const match = line.match(CALL);
    const family = match?.[3].match(/sa_family=(AF_[A-Z0-9]+)/);
    if (!match || !family) continue;
    const [, pid, call, rest] = match;
    const ip = rest.match(/inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6,\s*"([^"]+)"/);
    const path = rest.match(/sun_path="([^"]*)"/);
    calls.push({
      pid: pid ?? "",
      call,
      family: family[1],
      address: ip?.[1] ?? ip?.[2] ?? path?.[1] ?? "",
      line,
    });
  }
  return calls;
}

/** Whether a call stays on this machine: loopback IP, a Unix socket, or netlink (the kernel). */
export function isLocal(call: NetworkCall): boolean {
  switch (call.family) {
    case "AF_UNIX":
    case "AF_NETLINK":
      return true;
    case "AF_INET":
      return /^127\./.test(call.address) || (call.call === "bind" && call.address === "0.0.0.0");
    case "AF_INET6":
      return call.address === "::1" || /^::ffff:127\./.test(call.address) ||
        (call.call === "bind" && call.address === "::");
    default:
      return false;
  }
}

/** The groups of `systemd-analyze syscall-filter` (name -> members, which may be groups). */
export function parseSyscallGroups(text: string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (raw.startsWith("@")) {
      current = [];
      groups.set(line, current);
    } else if (line && !line.startsWith("#") && current) {
      current.push(line);
    }
  }
  return groups;
}

function expand(name: string, groups: Map<string, string[]>, seen = new Set<string>()): string[] {
  if (!name.startsWith("@")) return [name];
  const members = groups.get(name);
  if (!members) throw new Error(`unknown syscall group ${name}`);
  if (seen.has(name)) return [];
  seen.add(name);
  return members.flatMap((member) => expand(member, groups, seen));
}

/**
 * The syscalls a unit allows, as systemd computes them: the first `SystemCallFilter=` line sets
 * the mode (an allow-list, which always includes `@default`, or with `~` a deny-list); later lines
 * add to the allow-list, or with `~` remove from it. Throws for a deny-list unit (there is no
 * finite allow-list to give).
 */
export function allowedSyscalls(unit: string, groups: Map<string, string[]>): string[] {
  const lines = unit.split("\n").map((line) => line.trim()).filter((line) =>
    line.startsWith("SystemCallFilter=")
  );
  if (lines.length === 0) throw new Error("the unit has no SystemCallFilter=");
  const allowed = new Set<string>();
  lines.forEach((line, index) => {
    let value = line.slice("SystemCallFilter=".length).trim();
    const deny = value.startsWith("~");
    if (deny) value = value.slice(1);
    if (index === 0) {
      if (deny) throw new Error("a deny-list SystemCallFilter= has no finite allow-list");
      for (const name of expand("@default", groups)) allowed.add(name);
    }
    for (const word of value.split(/\s+/).filter(Boolean)) {
      if (word.includes(":")) throw new Error(`errno actions are not modelled: ${word}`);
      for (const name of expand(word, groups)) deny ? allowed.delete(name) : allowed.add(name);
    }
  });
  return [...allowed].sort();
}
