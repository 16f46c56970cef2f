#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller) for tests and `make run`.
#
#   deploy/local/kafka.sh start    start (idempotent) and wait until the broker answers;
#                                  last stdout line: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:<port>
#   deploy/local/kafka.sh stop     SIGTERM, wait, then SIGKILL (idempotent)
#   deploy/local/kafka.sh status   exit 0 if running and answering (prints the bootstrap line)
#   deploy/local/kafka.sh logs [-f]  show (or follow) the broker log
#
# Jars come from Maven Central via deploy/local/kafka/pom.xml; all state (jars, data,
# logs, pid) lives in ${ESCALATOR_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/escalator}/kafka.
# Env: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP_OPTS (-Xms512m -Xmx1g),
#      KAFKA_START_TIMEOUT (90 seconds), ESCALATOR_STATE_DIR.
# Only stdout line is the bootstrap address; everything else goes to stderr.
set -euo pipefail

SCRIPT_NAME=kafka.sh
# shellcheck source=deploy/local/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ASSETS=$SCRIPT_DIR/kafka
POM=$ASSETS/pom.xml
TEMPLATE=$ASSETS/server.properties.template
LOG4J_CONFIG=$ASSETS/log4j2.properties

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}

KDIR=$STATE_ROOT/kafka
LIBS=$KDIR/libs
LIBS_STAMP=$KDIR/libs.pom.sha256
CONF_DIR=$KDIR/config
CONF=$CONF_DIR/server.properties
DATA=$KDIR/data
LOGS=$KDIR/logs
PIDFILE=$KDIR/kafka.pid
FORMAT_STAMP=$KDIR/formatted.cluster-id
LOCKFILE=$KDIR/.lock


usage() {
  sed -n '2,15s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

check_port_var() {
  if ! [[ $2 =~ ^[0-9]+$ ]] || ((10#$2 < 1 || 10#$2 > 65535)); then
    die "$1=$2 is not a valid TCP port"
  fi
}

# ---------------------------------------------------------------- prerequisites



ensure_java() {
  command -v java >/dev/null 2>&1 || apt_install --no-install-recommends openjdk-17-jre-headless
  local spec
  spec=$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2; exit}')
  if ! [[ $spec =~ ^[0-9]+$ ]] || ((spec < 17)); then
    die "Kafka 4.x needs Java 17+, found: ${spec:-unknown} ($(command -v java))"
  fi
}

ensure_mvn() {
  command -v mvn >/dev/null 2>&1 || apt_install --no-install-recommends maven
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

libs_current() {
  [[ -d $LIBS && -f $LIBS_STAMP && $(cat "$LIBS_STAMP") == "$(pom_hash)" ]]
}

# Resolve the jars from Maven Central into $LIBS, only when missing or the pom changed.
ensure_libs() {
  libs_current && return 0
  ensure_mvn
  log "resolving Kafka jars from Maven Central into $LIBS (first run or pom.xml changed) ..."
  local tmp
  tmp=$(mktemp -d "$KDIR/libs.tmp.XXXXXX")
  # (Maven 3.8 prints stray ANSI resets even with -q -B: strip them.)
  if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2; then
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (see output above)"
  fi
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "no kafka_2.13 jar was resolved"; }
  rm -rf "$LIBS.old"
  if [[ -d $LIBS ]]; then mv "$LIBS" "$LIBS.old"; fi
  chmod 755 "$tmp"
  mv "$tmp" "$LIBS"
  rm -rf "$LIBS.old"
  pom_hash >"$LIBS_STAMP"
  log "jars ready: $(find "$LIBS" -name '*.jar' | wc -l) files, $(du -sh "$LIBS" | cut -f1)"
}

# ---------------------------------------------------------------- process helpers

# Is $1 the pid of a Kafka server started from this state dir?
is_our_kafka() {
  local pid=$1 cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmdline == *" kafka.Kafka $CONF"* ]]
}

# Print the pid of our running Kafka (pid file first, /proc scan as fallback).
find_pid() {
  local pid=
  [[ -f $PIDFILE ]] && pid=$(<"$PIDFILE")
  if is_our_kafka "$pid"; then
    echo "$pid"
    return 0
  fi
  local f
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    if is_our_kafka "$pid"; then
      echo "$pid" >"$PIDFILE"
      echo "$pid"
      return 0
    fi
  done
  return 1
}

tcp_open() {
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# Send a Kafka ApiVersions v0 request and check that a response with our correlation id
# comes back: the broker only processes requests once startup is complete.
probe_kafka() {
  local out
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash
  out=$(timeout 3 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
      # size=15 | api_key=18 ApiVersions | version=0 | correlation_id="ESC1" | client_id="probe"
      printf "\x00\x00\x00\x0f\x00\x12\x00\x00ESC1\x00\x05probe" >&3
      head -c 8 <&3 | od -An -v -tx1' _ "$1" 2>/dev/null | tr -d ' \n') || return 1
  [[ $out == ????????45534331 ]]
}

# Port the running instance was configured with (the rendered config is only rewritten
# while Kafka is stopped, so it describes the running process).
running_port() {
  sed -n 's/^advertised\.listeners=PLAINTEXT:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$CONF" 2>/dev/null
}

java_cp() {
  java -cp "$LIBS/*" "$@"
}

# Metadata round trip through the real client (AdminClient): lists topics.
metadata_check() {
  timeout 40 java -Xms64m -Xmx256m -XX:TieredStopAtLevel=1 -Dlog4j2.level=ERROR -cp "$LIBS/*" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$1" --list
}

show_log_tail() {
  if [[ -s $LOGS/server.log ]]; then
    log "---- last lines of $LOGS/server.log ----"
    tail -n 40 "$LOGS/server.log" >&2
  fi
  if [[ -s $LOGS/kafka.out ]]; then
    log "---- JVM stdout/stderr of the last start ($LOGS/kafka.out) ----"
    tac "$LOGS/kafka.out" | sed '/^===== .* kafka.sh start =====$/q' | tac | tail -n 40 >&2
  fi
}

print_bootstrap() {
  printf 'KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:%s\n' "$1"
}

take_lock() {
  mkdir -p "$KDIR"
  exec 9>"$LOCKFILE"
  flock -w 180 9 || die "timed out waiting for another kafka.sh holding $LOCKFILE"
}

# ---------------------------------------------------------------- start steps

render_config() {
  [[ -f $TEMPLATE ]] || die "missing $TEMPLATE"
  local tpl
  tpl=$(<"$TEMPLATE")
  tpl=${tpl//@KAFKA_PORT@/"$KAFKA_PORT"}
  tpl=${tpl//@KAFKA_CONTROLLER_PORT@/"$KAFKA_CONTROLLER_PORT"}
  tpl=${tpl//@DATA_DIR@/"$DATA"}
  mkdir -p "$CONF_DIR"
  printf '# GENERATED by %s at each start from %s - do not edit.\n%s\n' \
    "${BASH_SOURCE[0]}" "$TEMPLATE" "$tpl" >"$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
}

new_cluster_id() {
  # 16 random bytes, URL-safe base64 without padding (Kafka Uuid string form); Kafka's own
  # generator avoids a leading '-' so the id cannot be mistaken for a CLI flag.
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ ${#id} -eq 22 && $id != -* ]] && break
  done
  echo "$id"
}

format_once() {
  if [[ -f $FORMAT_STAMP && -f $DATA/meta.properties ]]; then
    return 0
  fi
  local id
  if [[ -f $DATA/meta.properties ]]; then
    id=$(sed -n 's/^cluster\.id=//p' "$DATA/meta.properties")
  else
    id=$(new_cluster_id)
  fi
  log "formatting KRaft storage in $DATA (cluster id $id) ..."
  mkdir -p "$DATA" "$LOGS"
  java_cp -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$LOGS" \
    kafka.tools.StorageTool format --ignore-formatted -t "$id" -c "$CONF" >&2 ||
    die "kafka-storage format failed"
  echo "$id" >"$FORMAT_STAMP"
}

launch() {
  mkdir -p "$LOGS"
  printf '\n===== %s kafka.sh start =====\n' "$(date -Is)" >>"$LOGS/kafka.out"
  local -a heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  # setsid: own session, so the broker survives the calling shell / CI step.
  (
    exec 9>&- # do not leak the kafka.sh lock into the broker
    cd "$KDIR"
    exec setsid nohup java \
      "${heap[@]}" \
      -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Djava.net.preferIPv4Stack=true \
      -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$LOGS" \
      -cp "$LIBS/*" kafka.Kafka "$CONF"
  ) >>"$LOGS/kafka.out" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  # The subshell execs into java (setsid does not fork: we are not a group leader).
  for _ in $(seq 50); do
    is_our_kafka "$pid" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  is_our_kafka "$pid" || { show_log_tail; die "Kafka JVM did not start (pid $pid)"; }
  log "launched Kafka JVM pid $pid (heap: $KAFKA_HEAP_OPTS)"
}

# Wait until the broker answers; $1 = pid, $2 = port.
wait_ready() {
  local pid=$1 port=$2 deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  log "waiting up to ${KAFKA_START_TIMEOUT}s for the broker on 127.0.0.1:$port ..."
  until probe_kafka "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log_tail
      die "Kafka exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      show_log_tail
      die "Kafka did not answer on 127.0.0.1:$port within ${KAFKA_START_TIMEOUT}s (pid $pid still running; '$0 stop' to kill it)"
    fi
    sleep 0.25
  done
  local out
  until out=$(metadata_check "$port" 2>&1); do
    if ((SECONDS >= deadline)) || ! kill -0 "$pid" 2>/dev/null; then
      printf '%s\n' "$out" >&2
      show_log_tail
      die "Kafka answers ApiVersions but the metadata check (TopicCommand --list) failed"
    fi
    sleep 1
  done
}

# ---------------------------------------------------------------- commands

cmd_start() {
  check_port_var KAFKA_PORT "$KAFKA_PORT"
  check_port_var KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  [[ $KAFKA_START_TIMEOUT =~ ^[0-9]+$ ]] || die "KAFKA_START_TIMEOUT must be a number of seconds"
  [[ $KAFKA_PORT != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"
  take_lock

  local pid port
  if pid=$(find_pid); then
    port=$(running_port)
    if [[ -n $port && $port != "$KAFKA_PORT" ]]; then
      die "Kafka from $KDIR is already running on port $port (pid $pid), not $KAFKA_PORT; run '$0 stop' first or unset KAFKA_PORT"
    fi
    port=${port:-$KAFKA_PORT}
    if probe_kafka "$port"; then
      log "already running (pid $pid) on 127.0.0.1:$port"
    else
      log "running (pid $pid) but not answering yet"
      wait_ready "$pid" "$port"
      log "ready"
    fi
    libs_current || log "WARNING: $POM changed since the jars were resolved; '$0 stop && $0 start' to upgrade"
    print_bootstrap "$port"
    return 0
  fi

  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if tcp_open "$p"; then
      die "127.0.0.1:$p is already in use by another process (not the Kafka of $KDIR); set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    fi
  done

  local t0=$SECONDS
  mkdir -p "$DATA" "$LOGS" "$CONF_DIR"
  ensure_java
  ensure_libs
  render_config
  format_once
  launch
  pid=$(<"$PIDFILE")
  wait_ready "$pid" "$KAFKA_PORT"
  log "Kafka ready on 127.0.0.1:$KAFKA_PORT after $((SECONDS - t0))s (pid $pid, state $KDIR)"
  print_bootstrap "$KAFKA_PORT"
}

cmd_stop() {
  [[ -d $KDIR ]] || { log "not running (no state in $KDIR)"; return 0; }
  take_lock
  local pid
  if ! pid=$(find_pid); then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  log "stopping Kafka pid $pid (SIGTERM) ..."
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + ${KAFKA_STOP_TIMEOUT:-60}))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${KAFKA_STOP_TIMEOUT:-60}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && die "pid $pid survived SIGKILL"
  fi
  rm -f "$PIDFILE"
  log "stopped"
}

cmd_status() {
  local pid port
  if ! pid=$(find_pid 2>/dev/null); then
    log "not running"
    return 3
  fi
  port=$(running_port)
  port=${port:-$KAFKA_PORT}
  if probe_kafka "$port"; then
    log "running (pid $pid), answering on 127.0.0.1:$port; state in $KDIR"
    print_bootstrap "$port"
    return 0
  fi
  log "running (pid $pid) but not answering on 127.0.0.1:$port"
  return 1
}


case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  logs) shift; show_log "$LOGS/server.log" "$@" ;;
  *) usage ;;
esac
