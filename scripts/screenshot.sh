#!/usr/bin/env bash
# Screenshots of the real cockpit window on a virtual X screen, once the population is alive.
#
# Usage: scripts/screenshot.sh [max_seconds] [out_dir]
#
# Runs `crucible run` with the default configuration in a scratch root (its own journal,
# bar store and models dir, with the repository's trained MCE and influence models copied
# in), so the Singularity simulates the forge's training history, forges agents one after
# another and they trade on the sim. When at least two agents are live, one has traded and
# a forge task is running (or after max_seconds, default 900), the cockpit's screenshot tour
# (cockpit/screenshots.py) grabs the whole screen (window.png), then saves its panels one by
# one (arena.png, agent-*.png, forge.png, radar.png, mce.png, influence.png, risk.png,
# alerts.png, watchtower.png, chart.png) and closes the window.
set -euo pipefail
cd "$(dirname "$0")/.."
max_s=${1:-900}
out=$(realpath -m "${2:-docs/screenshots}")
mkdir -p "$out"
rm -f "$out/.done"
display=:$((90 + RANDOM % 9))
tmp=$(mktemp -d)
mkdir -p "$tmp/models"
cp -r models/mce models/influence "$tmp/models/"
cat >"$tmp/crucible.toml" <<EOF
[paths]
root = "$tmp"

[cerebellum]
binary = "$PWD/cerebellum_core/target/release/cerebellum_core"
EOF
Xvfb "$display" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=""
cleanup() {
  [ -n "$app" ] && kill "$app" 2>/dev/null && wait "$app" 2>/dev/null || true
  kill $xvfb 2>/dev/null || true
  cp "$tmp/app.log" "$out/.app.log" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
sleep 1
(cd "$tmp" && DISPLAY=$display XDG_CONFIG_HOME="$tmp/config" QT_QPA_PLATFORM=xcb \
  CRUCIBLE_SCREENSHOTS="$out" CRUCIBLE_SCREENSHOT_MAX_S="$max_s" \
  "$OLDPWD/.venv/bin/crucible" --config "$tmp/crucible.toml" run >"$tmp/app.log" 2>&1) &
app=$!
deadline=$((SECONDS + max_s + 240))
while [ ! -e "$out/.done" ]; do
  if ! kill -0 "$app" 2>/dev/null; then echo "the cockpit exited early; see $out/.app.log" >&2; exit 1; fi
  if [ $SECONDS -gt $deadline ]; then echo "no screenshots after ${max_s}s" >&2; exit 1; fi
  sleep 2
done
wait "$app" 2>/dev/null || true
app=""
rm -f "$out/.done"
ls "$out"/*.png
