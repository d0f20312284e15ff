#!/usr/bin/env bash
# Re-run the three examples with both methods profiles and compare with the recorded baseline
# (issue 16, item 6):  scripts/check_baseline.sh BASELINE_ROOT OUT_ROOT
# BASELINE_ROOT holds bclm/, gbsg/, registry/ (each with study.yaml and its data) and
# out/<example>-<profile>/ (the outputs of the code before the change).
set -euo pipefail
base=${1:?baseline root}; out=${2:?output root}
here=$(cd "$(dirname "$0")/.." && pwd)
pairs=()
for ex in bclm gbsg registry; do
  for profile in standard spss; do
    rm -rf "$out/$ex-$profile"
    "$here/.venv/bin/survstudy" run "$base/$ex/study.yaml" --out "$out/$ex-$profile" \
      --profile "$profile" --quiet
    pairs+=("$base/out/$ex-$profile" "$out/$ex-$profile")
  done
done
"$here/.venv/bin/python" "$here/scripts/compare_outputs.py" "${pairs[@]}"
