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

SCRIPT_NAME=chromium.sh
# shellcheck source=deploy/local/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"

CHROMIUM=${ESCALATOR_CHROMIUM:-/usr/bin/chromium}




if [[ ! -x $CHROMIUM ]]; then
  [[ -n ${ESCALATOR_CHROMIUM:-} ]] && die "ESCALATOR_CHROMIUM=$CHROMIUM is not an executable"
  # fonts-liberation: metric-compatible fonts, so screenshots do not fall back to boxes.
  apt_install --no-install-recommends chromium fonts-liberation
fi
"$CHROMIUM" --headless --no-sandbox --disable-gpu --version >&2 || die "$CHROMIUM does not run"
printf 'CHROMIUM=%s\n' "$CHROMIUM"
