#!/usr/bin/env bash
# Starts, stops and reports the five Escalator services as background processes.
#   services.sh start|stop|status
# Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL in the environment for start.
# Logs: $ESCALATOR_LOG_DIR (default <repo>/.run/logs), one file per service.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE_DIR=${ESCALATOR_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/escalator}
RUN_DIR="$STATE_DIR/services"
LOG_DIR=${ESCALATOR_LOG_DIR:-$ROOT/.run/logs}
# name:module:port
SERVICES=(
  "queue-api:queue_api.main:${QUEUE_API_PORT:-8000}"
  "detector:detector.main:${DETECTOR_PORT:-8001}"
  "router:router.main:${ROUTER_PORT:-8002}"
  "notifier:notifier.main:${NOTIFIER_PORT:-8003}"
  "webhook-dispatcher:webhook_dispatcher.main:${WEBHOOK_DISPATCHER_PORT:-8004}"
)
EXTRA=("mail-sink:deploy/local/mail_sink.py:" "demo-agent:deploy/local/demo_agent.py:")

say() { printf '%s\n' "$*" >&2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

ready() { curl -fsS -m 2 "http://127.0.0.1:$1/readyz" >/dev/null 2>&1; }

start_one() {
  local name=$1 module=$2 port=$3 pidfile="$RUN_DIR/$1.pid"
  if alive "$pidfile"; then
    say "$name already running (pid $(cat "$pidfile"))"
    return 0
  fi
  local prefix
  prefix=$(printf '%s' "$name" | tr 'a-z-' 'A-Z_')
  (
    cd "$ROOT"
    [ -n "$port" ] && export "${prefix}_PORT=$port"
    export LOG_JSON="${LOG_JSON:-true}"
    local target=(-m "$module")
    [[ $module == *.py ]] && target=("$module")
    setsid nohup uv run --frozen --no-sync python "${target[@]}" >>"$LOG_DIR/$name.log" 2>&1 &
    echo $! >"$pidfile"
  )
  say "started $name (pid $(cat "$pidfile")), log $LOG_DIR/$name.log"
}

wait_ready() {
  local name=$1 port=$2 deadline=$((SECONDS + 90))
  until ready "$port"; do
    if ! alive "$RUN_DIR/$name.pid"; then
      say "$name exited; last lines of its log:"; tail -n 30 "$LOG_DIR/$name.log" >&2; return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      say "$name not ready after 90 s; last lines of its log:"; tail -n 30 "$LOG_DIR/$name.log" >&2
      return 1
    fi
    sleep 0.5
  done
}

stop_one() {
  local name=$1 pidfile="$RUN_DIR/$1.pid"
  if alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    say "stopped $name"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start)
    : "${KAFKA_BOOTSTRAP_SERVERS:?set KAFKA_BOOTSTRAP_SERVERS}" "${DATABASE_URL:?set DATABASE_URL}"
    export KAFKA_BOOTSTRAP_SERVERS DATABASE_URL
    # queue-api runs backtests on the detector (issue 11).
    export QUEUE_API_DETECTOR_URL="${QUEUE_API_DETECTOR_URL:-http://127.0.0.1:${DETECTOR_PORT:-8001}}"
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    for entry in "${SERVICES[@]}"; do IFS=: read -r name module port <<<"$entry"; start_one "$name" "$module" "$port"; done
    for entry in "${SERVICES[@]}"; do IFS=: read -r name _ port <<<"$entry"; wait_ready "$name" "$port"; done
    for entry in "${EXTRA[@]}"; do IFS=: read -r name module _ <<<"$entry"; start_one "$name" "$module" ""; done
    ;;
  stop)
    for entry in "${EXTRA[@]}" "${SERVICES[@]}"; do IFS=: read -r name _ _ <<<"$entry"; stop_one "$name"; done
    ;;
  status)
    code=0
    for entry in "${SERVICES[@]}"; do
      IFS=: read -r name _ port <<<"$entry"
      if ready "$port"; then say "$name: ready on :$port"; else say "$name: not ready"; code=1; fi
    done
    for entry in "${EXTRA[@]}"; do
      IFS=: read -r name _ _ <<<"$entry"
      if alive "$RUN_DIR/$name.pid"; then say "$name: running"; else say "$name: stopped"; fi
    done
    exit $code
    ;;
  *) say "usage: $0 start|stop|status"; exit 2 ;;
esac
