#!/usr/bin/env bash
# Screenshot of the real cockpit window on a virtual X screen after N seconds of live sim data.
# Usage: scripts/screenshot.sh [seconds] [output.png]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
out=${2:-docs/screenshots/cockpit.png}
mkdir -p "$(dirname "$out")"
display=:$((90 + RANDOM % 9))
tmp=$(mktemp -d)
Xvfb "$display" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $app 2>/dev/null || true; wait $app 2>/dev/null || true; kill $xvfb 2>/dev/null || true; rm -rf "$tmp"' EXIT
sleep 1
(cd "$tmp" && DISPLAY=$display XDG_CONFIG_HOME="$tmp/config" QT_QPA_PLATFORM=xcb \
  "$OLDPWD/.venv/bin/crucible" run >"$tmp/app.log" 2>&1) &
app=$!
sleep "$secs"
DISPLAY=$display import -window root "$out"
echo "wrote $out"
