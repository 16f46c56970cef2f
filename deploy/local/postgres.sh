#!/usr/bin/env bash
# Local PostgreSQL (Debian's package, private cluster) for tests and `make run`.
#
#   deploy/local/postgres.sh start     start (idempotent), wait with pg_isready, create role and
#                                      database `escalator`; last stdout line:
#                                      DATABASE_URL=postgresql://escalator:escalator@127.0.0.1:<port>/escalator
#   deploy/local/postgres.sh stop      fast shutdown, then immediate if needed (idempotent)
#   deploy/local/postgres.sh status    exit 0 if running and answering (prints DATABASE_URL)
#   deploy/local/postgres.sh logs [-f] show (or follow) the server log
#
# The cluster lives in ${ESCALATOR_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/escalator}/postgres
# (data/, run/ = unix socket, log/, port) and listens on 127.0.0.1 only. It never touches the
# Debian "main" cluster. When run as root the server runs as the `postgres` system user.
# Env: PGPORT_ESCALATOR (default: remembered port, else 5432 if free, else next free from 5433),
#      PG_START_TIMEOUT (60 seconds), ESCALATOR_PG_BIN (override /usr/lib/postgresql/<ver>/bin),
#      ESCALATOR_STATE_DIR.
# Only stdout line is DATABASE_URL; everything else goes to stderr.
set -euo pipefail

SCRIPT_NAME=postgres.sh
# shellcheck source=deploy/local/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

DB_NAME=escalator
DB_USER=escalator
DB_PASSWORD=escalator # local dev only

PG_START_TIMEOUT=${PG_START_TIMEOUT:-60}

PDIR=$STATE_ROOT/postgres
DATA=$PDIR/data
SOCKET_DIR=$PDIR/run
LOG_DIR=$PDIR/log
LOG_FILE=$LOG_DIR/postgres.log
PORT_FILE=$PDIR/port
LOCKFILE=$PDIR/.lock


usage() {
  sed -n '2,18s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# ---------------------------------------------------------------- users / privileges

if [[ $EUID -eq 0 ]]; then
  RUN_AS=postgres # the server refuses to run as root
  SUPERUSER=postgres
else
  RUN_AS=
  SUPERUSER=$(id -un)
fi

# Run a PostgreSQL program as the cluster owner (from / so that an unreadable cwd is harmless).
as_owner() {
  if [[ -n $RUN_AS ]]; then
    (cd / && runuser -u "$RUN_AS" -- "$@")
  else
    "$@"
  fi
}



ensure_owner_user() {
  [[ -n $RUN_AS ]] || return 0
  id -u "$RUN_AS" >/dev/null 2>&1 && return 0
  log "creating system user $RUN_AS"
  useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
    --shell /usr/sbin/nologin "$RUN_AS"
}

# The cluster owner must be able to reach $PDIR. The default state dir is under $HOME,
# which for root is /root (mode 700): grant the owner search-only (x) access on exactly
# the blocking ancestors with a POSIX ACL rather than opening them to everybody.
ensure_owner_can_reach() {
  [[ -n $RUN_AS ]] || return 0
  as_owner test -x "$PDIR" 2>/dev/null && return 0
  local d path=
  local -a parts
  IFS=/ read -r -a parts <<<"${PDIR#/}"
  for d in "" "${parts[@]}"; do
    path=$path/$d
    path=${path//\/\//\/}
    as_owner test -x "$path" 2>/dev/null && continue
    command -v setfacl >/dev/null 2>&1 || apt_install acl
    log "granting user $RUN_AS search-only access (ACL u:$RUN_AS:--x) to $path"
    setfacl -m "u:$RUN_AS:x" "$path" ||
      die "cannot make $path traversable for $RUN_AS; use ESCALATOR_STATE_DIR=<dir outside $path>"
  done
  as_owner test -x "$PDIR" || die "user $RUN_AS still cannot reach $PDIR"
}

# ---------------------------------------------------------------- binaries

# Echo the bin dir of the PostgreSQL major version $1 (or the newest installed one).
find_pg_bin() {
  if [[ -n ${ESCALATOR_PG_BIN:-} ]]; then
    echo "$ESCALATOR_PG_BIN"
    return 0
  fi
  local want=${1:-} d best=
  if [[ -n $want ]]; then
    d=/usr/lib/postgresql/$want/bin
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return 0; }
    return 1
  fi
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]] || continue
    if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n1) == "$d" ]]; then
      best=$d
    fi
  done
  [[ -n $best ]] && echo "$best"
}

ensure_pg_bin() {
  local ver=
  [[ -s $DATA/PG_VERSION ]] && ver=$(<"$DATA/PG_VERSION")
  if PG_BIN=$(find_pg_bin "$ver"); then return 0; fi
  if [[ -n $ver ]]; then
    # Existing cluster: only its own major version can run it.
    apt_install "postgresql-$ver"
  else
    apt_install postgresql
  fi
  PG_BIN=$(find_pg_bin "$ver") || die "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin after install"
}

# ---------------------------------------------------------------- helpers

port_in_use() {
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

check_port_value() {
  if ! [[ $2 =~ ^[0-9]+$ ]] || ((10#$2 < 1 || 10#$2 > 65535)); then
    die "$1=$2 is not a valid TCP port"
  fi
}

# Port for a new start: env, else remembered, else 5432 if free, else the next free one.
choose_port() {
  local port=
  if [[ -n ${PGPORT_ESCALATOR:-} ]]; then
    check_port_value PGPORT_ESCALATOR "$PGPORT_ESCALATOR"
    port=$PGPORT_ESCALATOR
  elif [[ -s $PORT_FILE ]]; then
    port=$(<"$PORT_FILE")
    check_port_value "port in $PORT_FILE" "$port"
  else
    port=5432
    if port_in_use "$port"; then
      port=5433
      while port_in_use "$port"; do
        ((port < 65535)) || die "no free TCP port found"
        port=$((port + 1))
      done
    fi
    log "chose port $port (remembered in $PORT_FILE)"
  fi
  if port_in_use "$port"; then
    die "127.0.0.1:$port is in use by another process; set PGPORT_ESCALATOR=<port> (or delete $PORT_FILE to pick a free one)"
  fi
  echo "$port" >"$PORT_FILE"
  echo "$port"
}

server_running() {
  [[ -f $DATA/PG_VERSION ]] || return 1
  as_owner "$PG_BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

# Port of the running postmaster (line 4 of postmaster.pid).
running_port() {
  sed -n '4p' "$DATA/postmaster.pid" 2>/dev/null
}

is_ready() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$1" -t 2 >/dev/null 2>&1
}

database_url() {
  printf 'DATABASE_URL=postgresql://%s:%s@127.0.0.1:%s/%s\n' "$DB_USER" "$DB_PASSWORD" "$1" "$DB_NAME"
}

show_log_tail() {
  [[ -s $LOG_FILE ]] || return 0
  log "---- last lines of $LOG_FILE ----"
  tail -n 40 "$LOG_FILE" >&2
}

take_lock() {
  mkdir -p "$PDIR"
  exec 9>"$LOCKFILE"
  flock -w 120 9 || die "timed out waiting for another postgres.sh holding $LOCKFILE"
}

sql_quote() { printf "'%s'" "${1//\'/\'\'}"; }

# ---------------------------------------------------------------- start steps

prepare_dirs() {
  mkdir -p "$PDIR"
  chmod 755 "$PDIR"
  mkdir -p "$SOCKET_DIR" "$LOG_DIR"
  if [[ -n $RUN_AS ]]; then
    ensure_owner_user
    chown "$RUN_AS:" "$SOCKET_DIR" "$LOG_DIR"
    ensure_owner_can_reach
  fi
  chmod 755 "$SOCKET_DIR"
  chmod 700 "$LOG_DIR"
}

init_cluster_once() {
  [[ -s $DATA/PG_VERSION ]] && return 0
  local tmp=$PDIR/data.initdb
  rm -rf "$tmp"
  mkdir -p "$tmp"
  chmod 700 "$tmp"
  [[ -z $RUN_AS ]] || chown "$RUN_AS:" "$tmp"
  log "initdb $DATA ($("$PG_BIN/postgres" --version))"
  as_owner "$PG_BIN/initdb" -D "$tmp" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=peer --auth-host=scram-sha-256 --no-instructions >&2 ||
    die "initdb failed"
  rm -rf "$DATA"
  mv "$tmp" "$DATA"
}

write_config() {
  local port=$1 conf=$DATA/escalator.conf
  {
    echo "# Managed by deploy/local/postgres.sh - rewritten on every start."
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = $(sql_quote "$SOCKET_DIR")"
    echo "max_connections = 200"
    echo "shared_buffers = 128MB"
  } >"$conf.tmp"
  [[ -z $RUN_AS ]] || chown "$RUN_AS:" "$conf.tmp"
  mv "$conf.tmp" "$conf"
  if ! grep -q "^include_if_exists = 'escalator.conf'" "$DATA/postgresql.conf"; then
    printf "\n# Local settings of deploy/local/postgres.sh\ninclude_if_exists = 'escalator.conf'\n" \
      >>"$DATA/postgresql.conf"
  fi
}

wait_ready() {
  local port=$1 deadline=$((SECONDS + PG_START_TIMEOUT))
  until is_ready "$port"; do
    if ((SECONDS >= deadline)); then
      show_log_tail
      die "PostgreSQL did not answer on 127.0.0.1:$port within ${PG_START_TIMEOUT}s"
    fi
    if ! server_running; then
      show_log_tail
      die "PostgreSQL is not running"
    fi
    sleep 0.25
  done
}

# Role and database (idempotent), through the unix socket as the cluster superuser.
bootstrap_db() {
  local port=$1
  as_owner "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$port" -U "$SUPERUSER" -d postgres >&2 <<SQL ||
SELECT format('CREATE ROLE %I', '$DB_USER')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '$DB_USER')\\gexec
ALTER ROLE "$DB_USER" WITH LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
SELECT format('CREATE DATABASE %I OWNER %I', '$DB_NAME', '$DB_USER')
 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = '$DB_NAME')\\gexec
SQL
    die "could not create role/database $DB_NAME"
}

# ---------------------------------------------------------------- commands

cmd_start() {
  [[ $PG_START_TIMEOUT =~ ^[0-9]+$ ]] || die "PG_START_TIMEOUT must be a number of seconds"
  take_lock
  ensure_pg_bin
  prepare_dirs

  local port
  if server_running; then
    port=$(running_port)
    if [[ -n ${PGPORT_ESCALATOR:-} && $PGPORT_ESCALATOR != "$port" ]]; then
      die "PostgreSQL from $PDIR is already running on port $port, not $PGPORT_ESCALATOR; run '$0 stop' first"
    fi
    wait_ready "$port"
    bootstrap_db "$port"
    log "already running on 127.0.0.1:$port (data $DATA)"
    database_url "$port"
    return 0
  fi

  local t0=$SECONDS
  init_cluster_once
  port=$(choose_port)
  write_config "$port"
  log "starting PostgreSQL on 127.0.0.1:$port (data $DATA, log $LOG_FILE) ..."
  # 9>&-: do not leak the postgres.sh lock into the postmaster.
  if ! as_owner "$PG_BIN/pg_ctl" start -D "$DATA" -l "$LOG_FILE" -w -t "$PG_START_TIMEOUT" -s 9>&- >&2; then
    show_log_tail
    die "pg_ctl start failed"
  fi
  wait_ready "$port"
  bootstrap_db "$port"
  log "PostgreSQL ready on 127.0.0.1:$port after $((SECONDS - t0))s"
  database_url "$port"
}

cmd_stop() {
  [[ -d $PDIR ]] || { log "not running (no state in $PDIR)"; return 0; }
  take_lock
  PG_BIN=$(find_pg_bin "$(cat "$DATA/PG_VERSION" 2>/dev/null)") || { log "not running (no PostgreSQL binaries)"; return 0; }
  if ! server_running; then
    log "not running"
    return 0
  fi
  log "stopping PostgreSQL (fast shutdown) ..."
  if ! as_owner "$PG_BIN/pg_ctl" stop -D "$DATA" -m fast -w -t "${PG_STOP_TIMEOUT:-60}" -s >&2; then
    log "fast shutdown did not finish, using immediate shutdown"
    as_owner "$PG_BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t 30 -s >&2 || die "could not stop PostgreSQL"
  fi
  log "stopped"
}

cmd_status() {
  if ! PG_BIN=$(find_pg_bin "$(cat "$DATA/PG_VERSION" 2>/dev/null)") || ! server_running; then
    log "not running"
    return 3
  fi
  local port
  port=$(running_port)
  if is_ready "$port"; then
    log "running, answering on 127.0.0.1:$port (data $DATA)"
    database_url "$port"
    return 0
  fi
  log "running but not answering on 127.0.0.1:${port:-?}"
  return 1
}


case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  logs) shift; show_log "$LOG_FILE" "$@" ;;
  *) usage ;;
esac
