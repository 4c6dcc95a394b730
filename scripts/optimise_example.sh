#!/usr/bin/env bash
# The gallery's optimise example: the best mix of Haringey reablement places, the
# shared intermediate-care beds and the care-home assessment beds of the bundled North
# Central London system for £1.5m a year more than today's block contracts, then its
# report files (report.md, report.html, charts/frontier.png) copied into
# outputs/examples/optimise/ (no CSV, JSON or checkpoints), as make_gallery.sh does.
#
#   bash scripts/optimise_example.sh
#
# Small on purpose (3 replications a mix, 12 mixes): about 50 replications of a
# two-trust system, 10-20 minutes on 2 cores. Uses .venv/bin/d2asim if present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
d2asim="${D2ASIM:-}"
if [[ -z "$d2asim" ]]; then
  if [[ -x .venv/bin/d2asim ]]; then d2asim=.venv/bin/d2asim; else d2asim=d2asim; fi
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out=outputs/examples/optimise
cmd=(optimise scenarios/ncl/block_contracts.yaml
     --vary services.haringey_reablement.capacity=55:85:5
     --vary services.intermediate_care_beds.capacity=65:95:5
     --vary services.care_home_assessment_beds.capacity=80:110:5
     --budget-gbp-per-year 21600000 --objective delayed_bed_days
     --reps 3 --seed 1 --trials 12 --batch 4 --top 3 --max-reps 6 --workers 2)
echo "== d2asim ${cmd[*]} --out TMP" >&2
"$d2asim" "${cmd[@]}" --out "$work/run" | tee "$work/answer.txt"
rm -rf "$out/charts" "$out/report.md" "$out/report.html"
mkdir -p "$out/charts"
cp "$work/run/report.md" "$work/run/report.html" "$out/"
cp "$work/run/charts/frontier.png" "$out/charts/"
