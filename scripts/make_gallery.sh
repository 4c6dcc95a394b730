#!/usr/bin/env bash
# Make the example gallery in outputs/examples/ from the bundled scenarios.
#
#   bash scripts/make_gallery.sh
#
# 1. compares the baseline with D2A and the capacity options (10 replications,
#    seed 1) and writes the comparison report (--report);
# 2. sweeps the baseline's P1 (reablement) capacity from 62 to 86 places (10
#    replications, seed 1) and writes the sweep report with an illustrative local
#    target, dtoc_rate_per_100k_adults<=27;
# 3. copies ONLY the report files (report.html, report.md, charts/*.png; no SVG,
#    CSV, checkpoints or daily data) into outputs/examples/compare and
#    outputs/examples/sweep, replacing them, and writes outputs/examples/README.md
#    saying how they were made.
#
# Uses .venv/bin/d2asim if present, else d2asim on PATH (override: D2ASIM=...).
# Takes a few minutes on 2 cores. Exit code: non-zero if any step fails.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
d2asim="${D2ASIM:-}"
if [[ -z "$d2asim" ]]; then
  if [[ -x .venv/bin/d2asim ]]; then d2asim=.venv/bin/d2asim; else d2asim=d2asim; fi
fi
if ! command -v "$d2asim" >/dev/null 2>&1; then
  echo "error: $d2asim not found (pip install -e . into .venv, or set D2ASIM=/path/to/d2asim)" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

compare_cmd=(compare scenarios/baseline.yaml scenarios/d2a.yaml scenarios/p1_plus20.yaml scenarios/p2_plus5.yaml
             scenarios/p3_plus10.yaml scenarios/d2a_p1_plus20.yaml --reps 10 --seed 1 --quiet --report)
sweep_cmd=(sweep scenarios/baseline.yaml --set services.p1.capacity=62,66,70,74,78,82,86 --reps 10 --seed 1
           --quiet)
target="dtoc_rate_per_100k_adults<=27"

echo "== d2asim ${compare_cmd[*]} --out TMP/compare" >&2
"$d2asim" "${compare_cmd[@]}" --out "$work/compare" >/dev/null
echo "== d2asim ${sweep_cmd[*]} --out TMP/sweep" >&2
"$d2asim" "${sweep_cmd[@]}" --out "$work/sweep" >/dev/null
echo "== d2asim report TMP/sweep --target \"$target\"" >&2
"$d2asim" report "$work/sweep" --target "$target" >/dev/null

out=outputs/examples
mkdir -p "$out"
rm -rf "$out/compare" "$out/sweep"   # only the folders this script writes (optimise/: scripts/optimise_example.sh)

copy_report() {  # copy_report SRC DEST [md-only]: report.md, charts/*.png and (unless md-only) report.html
  local src="$1" dest="$2"
  mkdir -p "$dest/charts"
  cp "$src/report.md" "$dest/"
  [[ "${3:-}" == "md-only" ]] || cp "$src/report.html" "$dest/"
  cp "$src"/charts/*.png "$dest/charts/"
}
copy_report "$work/compare" "$out/compare"
# The baseline's run report: its charts are embedded in compare/report.html already;
# report.md (linked from compare/report.md) and the PNGs are kept, its report.html is not.
copy_report "$work/compare/baseline" "$out/compare/baseline" md-only
copy_report "$work/sweep" "$out/sweep"

version="$("$d2asim" --version | awk '{print $NF}')"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain -- d2asim scenarios 2>/dev/null)" ]]; then commit="$commit (plus uncommitted changes)"; fi
cat > "$out/README.md" <<EOF
# Example reports

Made by \`bash scripts/make_gallery.sh\` on $(date +%Y-%m-%d) with d2asim $version
(git $commit), from the bundled scenarios in \`scenarios/\`. The script runs:

\`\`\`bash
d2asim ${compare_cmd[*]} --out TMP/compare
d2asim ${sweep_cmd[*]} --out TMP/sweep
d2asim report TMP/sweep --target "$target"
\`\`\`

and copies only the reports: \`report.html\` (one self-contained file: open it in a
browser), \`report.md\` and \`charts/*.png\`. The machine-readable results
(\`comparison.csv\`, \`sweep.csv\`, \`summary.json\`, the report's table CSVs) and the
SVG charts are written by the commands above but not kept here.

| folder | what it shows |
| --- | --- |
| [\`compare/\`](compare/report.md) | Baseline against Discharge to Assess (\`d2a\`), three capacity options (\`p1_plus20\`, \`p2_plus5\`, \`p3_plus10\`) and D2A with 20 more reablement places (\`d2a_p1_plus20\`): paired differences with 95% CIs, bed days saved, cost against bed days saved, and the baseline's own run charts (\`compare/baseline/\`). |
| [\`sweep/\`](sweep/report.md) | Delayed bed days and the DTOC rate against P1 (reablement) capacity, 62 to 86 places, with 95% CI bands and the smallest capacity meeting the target. |
| [\`optimise/\`](optimise/report.md) | The best mix of Haringey reablement places, shared intermediate-care beds and care-home assessment beds in the North Central London system (\`scenarios/ncl/block_contracts.yaml\`: the baseline on block contracts) for £1.5m a year more than today: the frontier of cost against delayed bed days with 95% CIs and the budget line. Made by \`bash scripts/optimise_example.sh\` (not by this script: it takes longer). |

The sweep's target, a DTOC rate of at most 27 delayed patients a day per 100,000
adults, is an illustrative local target. The 2017 Better Care Fund expectation of 9.4
is out of reach by reablement capacity alone in this scenario: the DTOC rate levels off
at about 18 once waits for P1 vanish, because the rest of the delay is assessment on the
ward and waits for P2 and P3 beds (see the comparison).
EOF

du -sh "$out" >&2
find "$out" -type f | sort >&2
