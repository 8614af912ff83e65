#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for tests, CI and the demo.
#
#   scripts/broker/broker.sh start|stop|status|wait|restart|logs
#
# Environment (all optional):
#   EVENTOPS_BROKER_PORT        client port on 127.0.0.1            (default 9092)
#   EVENTOPS_CONTROLLER_PORT    KRaft controller port                (default port+1000)
#   EVENTOPS_BROKER_DIR         data dir: server.properties, data/, broker.log, broker.pid
#                                                                    (default <repo>/.cache/broker-<port>)
#   EVENTOPS_KAFKA_VERSION      Kafka version fetched from Maven Central (default 4.4.0; needs Java 17+)
#   EVENTOPS_CACHE              folder for the Kafka jars           (default <repo>/.cache/kafka/<version>/libs)
#   EVENTOPS_BROKER_TIMEOUT     seconds to wait for readiness        (default 90)
#   EVENTOPS_BROKER_HEAP        JVM heap flags                       (default "-Xmx512m -Xms256m")
#   EVENTOPS_BROKER_JAVA_OPTS   extra JVM flags
#   JAVA_HOME                   Java 17+ to run the broker (default: java on PATH)
#   EVENTOPS_MVN_ARGS           extra Maven flags for the one-time fetch (e.g. -Dmaven.repo.local=...)
#
# Readiness = the log says "Kafka Server started" for this run AND a metadata request answers
# (kcat -L when kcat is on PATH, see scripts/install-kcat.sh; otherwise a TCP connect).
# Timings go to stderr. Exit codes: status 0 running / 1 stopped; others 0 ok / 1 error.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

KAFKA_VERSION="${EVENTOPS_KAFKA_VERSION:-4.4.0}"
PORT="${EVENTOPS_BROKER_PORT:-9092}"
CPORT="${EVENTOPS_CONTROLLER_PORT:-$((PORT + 1000))}"
BROKER_DIR="${EVENTOPS_BROKER_DIR:-$REPO_ROOT/.cache/broker-$PORT}"
LIBS_DIR="${EVENTOPS_CACHE:-$REPO_ROOT/.cache/kafka/$KAFKA_VERSION/libs}"
TIMEOUT="${EVENTOPS_BROKER_TIMEOUT:-90}"
HEAP="${EVENTOPS_BROKER_HEAP:--Xmx512m -Xms256m}"
HOST=127.0.0.1

PID_FILE="$BROKER_DIR/broker.pid"
LOG_FILE="$BROKER_DIR/broker.log"
OUT_FILE="$BROKER_DIR/broker.out"      # JVM stdout/stderr (crashes, early errors)
PROPS="$BROKER_DIR/server.properties"
DATA_DIR="$BROKER_DIR/data"
MARKER="$LIBS_DIR/.fetch-complete"

log() { echo "broker[$PORT]: $*" >&2; }
die() { echo "broker[$PORT]: ERROR: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then command -v java
  else die "java not found (Kafka $KAFKA_VERSION needs Java 17+; set JAVA_HOME)"; fi
}

check_java() {
  local j ver major
  j="$(java_bin)"
  ver="$("$j" -version 2>&1 | awk -F'"' '/version/ { print $2; exit }')"
  major="${ver%%.*}"; [ "$major" = 1 ] && major="$(echo "$ver" | cut -d. -f2)"
  if ! [[ "$major" =~ ^[0-9]+$ ]] || [ "$major" -lt 17 ]; then
    die "Kafka $KAFKA_VERSION brokers need Java 17+, found '$ver' at $j (set JAVA_HOME)"
  fi
}

# ---------------------------------------------------------------- fetch (once)
fetch() {
  [ -f "$MARKER" ] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found: needed once to fetch Kafka $KAFKA_VERSION into $LIBS_DIR"
  mkdir -p "$(dirname "$LIBS_DIR")"
  local lock="$LIBS_DIR.lock"
  # serialise concurrent first starts (two ports started at once)
  exec 8>"$lock"
  if command -v flock >/dev/null 2>&1; then flock 8; fi
  if [ -f "$MARKER" ]; then exec 8>&-; return 0; fi

  local t0 tmp
  t0="$(now)"
  tmp="$LIBS_DIR.tmp.$$"
  rm -rf "$tmp"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR ..."
  # shellcheck disable=SC2086
  local mvn_args=(-B -q -f "$SCRIPT_DIR/pom.xml" -Dkafka.version="$KAFKA_VERSION"
    dependency:copy-dependencies -DoutputDirectory="$tmp" -DincludeScope=runtime
    ${EVENTOPS_MVN_ARGS:-})
  # offline first (everything may already be in the local Maven repo), then online
  if ! mvn -o "${mvn_args[@]}" >/dev/null 2>&1; then
    rm -rf "$tmp"
    mvn "${mvn_args[@]}" >"$LIBS_DIR.mvn.log" 2>&1 || {
      tail -n 30 "$LIBS_DIR.mvn.log" >&2; rm -rf "$tmp"; die "Maven fetch of Kafka $KAFKA_VERSION failed (log: $LIBS_DIR.mvn.log)"; }
  fi
  ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "fetch produced no kafka_2.13 jar in $tmp"; }
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  echo "kafka $KAFKA_VERSION fetched $(date -u +%FT%TZ)" >"$MARKER"
  rm -f "$LIBS_DIR.mvn.log"
  log "timing: fetch $(elapsed "$t0") s ($(ls "$LIBS_DIR"/*.jar | wc -l) jars, $(du -sh "$LIBS_DIR" | cut -f1))"
  exec 8>&-
}

# ---------------------------------------------------------------- process helpers
read_pid() { [ -f "$PID_FILE" ] && tr -dc '0-9' <"$PID_FILE" || true; }

# pid alive AND it is our broker (guards against pid reuse)
pid_alive() {
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "kafka.Kafka $PROPS" || return 1
  fi
  return 0
}

port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

metadata_ok() {
  if command -v kcat >/dev/null 2>&1; then
    timeout 6 kcat -L -b "$HOST:$PORT" -m 4 2>/dev/null | grep -q "at $HOST:$PORT"
  else
    port_open "$PORT"
  fi
}

started_in_log() { [ -f "$LOG_FILE" ] && grep -q "Kafka Server started" "$LOG_FILE"; }

show_log_tail() {
  local f shown=0
  for f in "$OUT_FILE" "$LOG_FILE"; do
    if [ -s "$f" ]; then echo "----- last lines of $f -----" >&2; tail -n 25 "$f" >&2; shown=1; fi
  done
  [ "$shown" = 1 ] || echo "(broker.log / broker.out still empty)" >&2
}

# wait until ready; $1 = start time for the timing line (optional)
wait_ready() {
  local t0="${1:-$(now)}" deadline=$((SECONDS + TIMEOUT)) pid
  while :; do
    pid="$(read_pid)"
    if [ -n "$pid" ] && ! pid_alive "$pid"; then
      show_log_tail; die "broker process $pid exited during start-up"
    fi
    if [ -n "$pid" ] && started_in_log && metadata_ok; then
      log "ready on $HOST:$PORT (pid $pid) - timing: start-up $(elapsed "$t0") s"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_log_tail
      die "broker on $HOST:$PORT not ready after ${TIMEOUT}s (pid ${pid:-?} left running: 'broker.sh wait' to keep waiting, 'broker.sh stop' to clean up; log: $LOG_FILE)"
    fi
    sleep 0.3
  done
}

write_props() {
  cat >"$PROPS" <<PROPS
# generated by scripts/broker/broker.sh - rewritten on every start
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CPORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CPORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR
auto.create.topics.enable=true
num.partitions=3
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
}

format_storage() {
  [ -f "$DATA_DIR/meta.properties" ] && return 0
  local t0 cid
  t0="$(now)"
  # random 16-byte cluster id, base64url without padding (the Uuid text form Kafka uses); drawn
  # again when it starts with '-', as Kafka's Uuid.randomUuid does (the tool would read it as a flag)
  cid="-"
  while [ "${cid#-}" != "$cid" ]; do
    cid="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  log "formatting $DATA_DIR (cluster id $cid)"
  "$(java_bin)" -Xmx256m -cp "$LIBS_DIR/*" -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
    -Deventops.broker.log="$BROKER_DIR/format.log" \
    kafka.tools.StorageTool format -t "$cid" -c "$PROPS" >"$BROKER_DIR/format.out" 2>&1 || {
      cat "$BROKER_DIR/format.out" >&2; die "storage format failed"; }
  log "timing: format $(elapsed "$t0") s"
}

# ---------------------------------------------------------------- commands
cmd_start() {
  local pid t0
  pid="$(read_pid)"
  if pid_alive "$pid"; then
    if port_open "$PORT"; then log "already running (pid $pid) on $HOST:$PORT"; return 0; fi
    log "process $pid is up but port $PORT not answering yet; waiting"
    wait_ready; return 0
  fi
  rm -f "$PID_FILE"
  port_open "$PORT" && die "port $PORT is in use by another process (set EVENTOPS_BROKER_PORT)"
  port_open "$CPORT" && die "controller port $CPORT is in use by another process (set EVENTOPS_CONTROLLER_PORT)"

  check_java
  fetch
  mkdir -p "$BROKER_DIR" "$DATA_DIR"
  write_props
  format_storage

  # keep one previous log; readiness is judged on this run's log only
  [ -f "$LOG_FILE" ] && mv -f "$LOG_FILE" "$LOG_FILE.prev"
  rm -f "$LOG_FILE".[0-9]*
  : >"$OUT_FILE"

  t0="$(now)"
  local java; java="$(java_bin)"
  # shellcheck disable=SC2086
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
    "$java" $HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$SCRIPT_DIR/log4j2.properties" \
    -Deventops.broker.log="$LOG_FILE" ${EVENTOPS_BROKER_JAVA_OPTS:-} \
    -cp "$LIBS_DIR/*" kafka.Kafka "$PROPS" </dev/null >>"$OUT_FILE" 2>&1 &
  # wait for the pid file written by the launcher
  local i
  for i in $(seq 1 50); do [ -s "$PID_FILE" ] && break; sleep 0.1; done
  log "started pid $(read_pid), log $LOG_FILE"
  wait_ready "$t0"
}

cmd_stop() {
  local pid
  pid="$(read_pid)"
  if ! pid_alive "$pid"; then
    rm -f "$PID_FILE"; log "not running"; return 0
  fi
  local t0; t0="$(now)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after 30 s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  log "stopped (pid $pid) in $(elapsed "$t0") s"
}

cmd_status() {
  local pid; pid="$(read_pid)"
  if pid_alive "$pid" && port_open "$PORT"; then
    echo "running: pid $pid on $HOST:$PORT (controller $CPORT, dir $BROKER_DIR)"; return 0
  elif pid_alive "$pid"; then
    echo "starting: pid $pid, port $PORT not answering yet"; return 1
  fi
  echo "stopped: $HOST:$PORT"; return 1
}

cmd_wait() {
  [ -n "$(read_pid)" ] || die "not started (no $PID_FILE)"
  wait_ready
}

case "${1:-}" in
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  wait)    cmd_wait ;;
  restart) cmd_stop; cmd_start ;;
  logs)    tail -n "${2:-50}" "$LOG_FILE" ;;
  *) echo "usage: $0 start|stop|status|wait|restart|logs [n]" >&2; exit 2 ;;
esac
