#!/usr/bin/env bash
# Render a d2asim report.html in headless Chromium and save a full-page screenshot.
#
#   scripts/render_check.sh RUN_DIR_OR_REPORT_HTML [OUT_PNG] [WIDTH] [HEIGHT]
#
# OUT_PNG defaults to <run folder>/report_screenshot.png; the window is 1280x4000 px
# unless WIDTH/HEIGHT are given. Needs chromium (Debian: apt-get install -y chromium).
# Exit codes: 0 screenshot written, 1 chromium failed, 2 bad arguments, 3 no chromium.
set -euo pipefail

target="${1:-}"
if [[ -z "$target" ]]; then
  echo "usage: $0 RUN_DIR_OR_REPORT_HTML [OUT_PNG] [WIDTH] [HEIGHT]" >&2
  exit 2
fi
html="$target"
[[ -d "$target" ]] && html="$target/report.html"
if [[ ! -f "$html" ]]; then
  echo "error: $html: file not found (run 'd2asim report RUN_DIR' first)" >&2
  exit 2
fi
html="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
out="${2:-$(dirname "$html")/report_screenshot.png}"
width="${3:-1280}"
height="${4:-4000}"

browser=""
for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then browser="$name"; break; fi
done
if [[ -z "$browser" ]]; then
  echo "error: chromium not found (apt-get install -y chromium)" >&2
  exit 3
fi

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$profile" --screenshot="$out" \
  --window-size="$width,$height" "file://$html" >/dev/null 2>&1 || {
  echo "error: $browser failed to render $html" >&2
  exit 1
}
[[ -s "$out" ]] || { echo "error: no screenshot written to $out" >&2; exit 1; }
echo "$out"
