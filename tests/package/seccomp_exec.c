/*
 * seccomp_exec: runs a program under a syscall allow-list, the way systemd applies a unit's
 * SystemCallFilter= (libseccomp, native architecture only, no_new_privs, any other syscall kills
 * the process with SIGSYS). Names this libseccomp does not know are skipped, as systemd does.
 *
 *   seccomp_exec ALLOW_FILE PROGRAM [ARGS...]     ALLOW_FILE: one syscall name per line
 *
 * Built by tests/package (cc seccomp_exec.c -lseccomp), cached under .cache/package/.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s ALLOW_FILE PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  FILE *list = fopen(argv[1], "r");
  if (!list) {
    perror(argv[1]);
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
  if (!ctx) {
    fprintf(stderr, "seccomp_init failed\n");
    return 2;
  }
  char name[128];
  int allowed = 0;
  while (fscanf(list, "%127s", name) == 1) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    if (rc < 0 && rc != -EEXIST) {
      fprintf(stderr, "seccomp_rule_add %s: %s\n", name, strerror(-rc));
      return 2;
    }
    allowed++;
  }
  fclose(list);
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0 || seccomp_load(ctx) < 0) {
    fprintf(stderr, "seccomp_load failed\n");
    return 2;
  }
  seccomp_release(ctx);
  execvp(argv[2], argv + 2);
  perror(argv[2]);
  return 127;
}
