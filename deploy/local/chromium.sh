#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/e2e/test_ui_*.py), installed with apt when
# /usr/bin/chromium is missing. Idempotent: does nothing when it is already there.
#
#   deploy/local/chromium.sh          install if missing; last stdout line: CHROMIUM=/usr/bin/chromium
#
# Never downloads a browser from anywhere but the configured Debian mirrors (no
# `playwright install`): the tests drive this Chromium through Python playwright with
# executable_path. Env: ESCALATOR_CHROMIUM (another binary to use instead; not installed).
set -euo pipefail

CHROMIUM=${ESCALATOR_CHROMIUM:-/usr/bin/chromium}

log() { printf 'chromium.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

apt_install() {
  log "installing Debian package(s): $* (apt-get)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 ||
    ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2; then
    die "could not install $* (need root or passwordless sudo): apt-get install $*"
  fi
}

if [[ ! -x $CHROMIUM ]]; then
  [[ -n ${ESCALATOR_CHROMIUM:-} ]] && die "ESCALATOR_CHROMIUM=$CHROMIUM is not an executable"
  # fonts-liberation: metric-compatible fonts, so screenshots do not fall back to boxes.
  apt_install chromium fonts-liberation
fi
"$CHROMIUM" --headless --no-sandbox --disable-gpu --version >&2 || die "$CHROMIUM does not run"
printf 'CHROMIUM=%s\n' "$CHROMIUM"
