#!/usr/bin/env bash
# Render a report folder to PNG images for a human look:
#   report.html -> <out>/html.png           (headless Chromium, no network)
#   report.docx -> <out>/report.pdf -> <out>/docx-<page>.png   (LibreOffice, pdftoppm)
# Usage: scripts/render_check.sh REPORT_DIR [OUT_DIR]
# Needs: chromium, soffice (libreoffice-writer), pdftoppm (poppler-utils):
#   apt-get install -y chromium libreoffice-writer-nogui poppler-utils
set -euo pipefail

report_dir=$(cd "${1:?usage: render_check.sh REPORT_DIR [OUT_DIR]}" && pwd)
out_dir=${2:-"$report_dir/_render"}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)

for tool in chromium soffice pdftoppm; do
  command -v "$tool" >/dev/null || { echo "render_check: '$tool' not found" >&2; exit 2; }
done

if [[ -f "$report_dir/report.html" ]]; then
  profile=$(mktemp -d)
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-extensions --no-first-run --user-data-dir="$profile" \
    --hide-scrollbars --window-size=1200,"${HEIGHT:-4000}" \
    --screenshot="$out_dir/html.png" "file://$report_dir/report.html" >/dev/null 2>&1 || true
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-extensions --no-first-run --user-data-dir="$profile" \
    --no-pdf-header-footer --print-to-pdf="$out_dir/html.pdf" \
    "file://$report_dir/report.html" >/dev/null 2>&1 || true
  rm -rf "$profile"
  if [[ -f "$out_dir/html.pdf" ]]; then
    pdftoppm -r 70 -png "$out_dir/html.pdf" "$out_dir/htmlprint"
  fi
  echo "html: $out_dir/html.png"
fi

if [[ -f "$report_dir/report.docx" ]]; then
  lo_profile=$(mktemp -d)
  soffice -env:UserInstallation="file://$lo_profile" --headless --convert-to pdf \
    --outdir "$out_dir" "$report_dir/report.docx" >/dev/null 2>&1
  rm -rf "$lo_profile"
  pdftoppm -r 70 -png "$out_dir/report.pdf" "$out_dir/docx"
  echo "docx: $out_dir/report.pdf ($(ls "$out_dir"/docx-*.png | wc -l) pages)"
fi
