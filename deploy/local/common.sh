# Shared by the deploy/local scripts (sourced, not run): logging, privileges, apt installs,
# the state folder and log viewing. Each script sets SCRIPT_NAME before sourcing this file.
# shellcheck shell=bash

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Where local infrastructure keeps its state (jars, data, logs, pid files): outside the repo.
STATE_ROOT=${ESCALATOR_STATE_DIR:-${XDG_STATE_HOME:-${HOME:?HOME is not set}/.local/state}/escalator}
case $STATE_ROOT in /*) ;; *) STATE_ROOT=$PWD/$STATE_ROOT ;; esac
export STATE_ROOT

as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

# apt_install [apt-get install options…] PACKAGE…
apt_install() {
  log "installing Debian package(s): $* (apt-get)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
    ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; then
    die "could not install $* (need root or passwordless sudo): apt-get install $*"
  fi
}

# show_log FILE [-f]: the last LOG_LINES (100) lines of FILE, or follow it.
show_log() {
  local file=$1
  [[ -f $file ]] || die "no log yet at $file"
  if [[ ${2:-} == -f ]]; then
    exec tail -n "${LOG_LINES:-100}" -F "$file"
  fi
  tail -n "${LOG_LINES:-100}" "$file"
}
