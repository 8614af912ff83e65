/** tests/package/evidence.ts: network calls from strace, a unit's syscall allow-list. */
import assert from "node:assert/strict";
import { allowedSyscalls, isLocal, networkCalls, parseSyscallGroups } from "../../package/evidence.ts";

const STRACE = `
1234  connect(21, {sa_family=AF_INET, sin_port=htons(9092), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS
1234  bind(24, {sa_family=AF_INET, sin_port=htons(8088), sin_addr=inet_addr("0.0.0.0")}, 16) = 0
1235  connect(5, {sa_family=AF_UNIX, sun_path="/run/nscd/socket"}, 110) = -1 ENOENT
1235  bind(7, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0
connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH
1236  sendto(3, "...", 40, MSG_NOSIGNAL, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.0.0.1")}, 16) = -1 ENETUNREACH
1236  sendmsg(3, {msg_name={sa_family=AF_INET6, sin6_port=htons(53), inet_pton(AF_INET6, "::1", &sin6_addr)}, msg_namelen=28}, 0) = 40
1236  socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3
`;

Deno.test("networkCalls and isLocal: loopback, Unix and netlink are local; anything else is not", () => {
  const calls = networkCalls(STRACE);
  assert.deepEqual(calls.map((call) => [call.call, call.family, call.address, isLocal(call)]), [
    ["connect", "AF_INET", "127.0.0.1", true],
    ["bind", "AF_INET", "0.0.0.0", true],
    ["connect", "AF_UNIX", "/run/nscd/socket", true],
    ["bind", "AF_NETLINK", "", true],
    ["connect", "AF_INET6", "2001:db8::1", false],
    ["sendto", "AF_INET", "10.0.0.1", false],
    ["sendmsg", "AF_INET6", "::1", true],
  ]);
  assert.equal(calls[4].pid, "");
  assert.equal(calls[0].pid, "1234");
  // connecting to 0.0.0.0 is not a bind: not local
  assert.equal(isLocal({ pid: "", call: "connect", family: "AF_INET", address: "0.0.0.0", line: "" }), false);
});

const GROUPS = parseSyscallGroups(`@default
    # System calls that are always permitted
    execve
    exit

@basic-io
    # Basic IO
    read
    write

@system-service
    # General system service operations
    @basic-io
    @default
    chown
    setuid

@pkey
    # System calls used for memory protection keys
    pkey_alloc

@privileged
    # All system calls which need super-user capabilities
    chown
    setuid
`);

Deno.test("allowedSyscalls: @default always, groups expanded, ~ lines remove", () => {
  const unit = "[Service]\nSystemCallFilter=@system-service @pkey\nSystemCallFilter=~@privileged\n";
  assert.deepEqual(allowedSyscalls(unit, GROUPS), ["execve", "exit", "pkey_alloc", "read", "write"]);
  assert.deepEqual(allowedSyscalls("SystemCallFilter=read\n", GROUPS), ["execve", "exit", "read"]);
  assert.throws(() => allowedSyscalls("SystemCallFilter=~@privileged\n", GROUPS), /deny-list/);
  assert.throws(() => allowedSyscalls("[Service]\n", GROUPS), /no SystemCallFilter/);
  assert.throws(() => allowedSyscalls("SystemCallFilter=@nope\n", GROUPS), /unknown syscall group/);
});

Deno.test("the real unit: what Deno needs at start (pkey_alloc on x86_64) is allowed, privileged calls are not", async () => {
  const output = await new Deno.Command("systemd-analyze", { args: ["syscall-filter"] }).output();
  const groups = parseSyscallGroups(new TextDecoder().decode(output.stdout));
  const allowed = new Set(allowedSyscalls(await Deno.readTextFile("deploy/eventops.service"), groups));
  for (const name of ["pkey_alloc", "pkey_mprotect", "execve", "mmap", "epoll_wait", "connect", "clone3"]) {
    assert.ok(allowed.has(name), name);
  }
  for (const name of ["mount", "setuid", "chown", "reboot", "ptrace", "setrlimit", "init_module"]) {
    assert.ok(!allowed.has(name), name);
  }
});
