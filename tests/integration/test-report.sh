#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# iommuctl report: a run's HTML report is well-formed (xmllint), renders in
# headless Chromium with its plots drawn (pixels of each plot's colour, not
# just an exit code), carries the scenario text, and is written atomically.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
command -v xmllint >/dev/null || { echo "SKIP: xmllint is not installed (libxml2-utils)"; exit 77; }
command -v chromium >/dev/null || { echo "SKIP: chromium is not installed"; exit 77; }

start_bus
start_daemon

# Four seconds at a bounded rate with clear-then-update: replacements, faults
# and latencies in every 1 s bucket.
ctl -q run --set=Replace.Count= --set=Replace.Duration=4s --set=Replace.Rate=100000 \
	"$(scenario model-clear-then-update)" >/dev/null || fail "the run failed"
ctl report 1 -o "$T/report.html" 2>"$T/report.err" || fail "report failed: $(cat "$T/report.err")"
[[ $(ls -A "$T" | grep -c '^report\.html') -eq 1 ]] || fail "a temporary file was left next to the report"
[[ $(stat -c %a "$T/report.html") == 644 ]] || fail "the report is not mode 644"
ctl report 1 >"$T/stdout.html"
cmp -s "$T/report.html" "$T/stdout.html" || fail "report to a file and to stdout differ"

xmllint --noout "$T/report.html" || fail "xmllint rejects the report"
grep -q '<script' "$T/report.html" && fail "the report has a script"
grep -Eq '(src|href)="(https?:)?//' "$T/report.html" && fail "the report loads something from the network"
[[ $(grep -c '<svg ' "$T/report.html") -eq 4 ]] || fail "the report does not have its 4 plots"
grep -q 'Writer=clear-then-update' "$T/report.html" || fail "the scenario text is missing"
grep -q 'Replace.Duration=4s' "$T/report.html" || fail "the overrides are missing"

# A screenshot, and in it the plots' colours: replacements (blue), latency
# (green), the model's faults (orange). A blank or broken plot has none.
timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
	--user-data-dir="$T/chromium" --window-size=900,2400 --screenshot="$T/report.png" \
	"file://$T/report.html" >"$T/chromium.log" 2>&1 || { cat "$T/chromium.log"; fail "chromium failed"; }
/usr/bin/python3 "$SRC/tests/integration/png-colors.py" "$T/report.png" \
	'#2b6cb0=5000' '#2f855a=5000' '#c05621=5000' || fail "a plot is blank in the rendering"

# In print: Chromium's PDF of it has pages with the plots' paths in them.
timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --no-pdf-header-footer \
	--user-data-dir="$T/chromium" --print-to-pdf="$T/report.pdf" "file://$T/report.html" \
	>"$T/chromium-pdf.log" 2>&1 || { cat "$T/chromium-pdf.log"; fail "chromium could not print it"; }
# Page objects may sit in compressed object streams: count them in the inflated streams too.
pages=$(/usr/bin/python3 -c '
import re, sys, zlib
data = open(sys.argv[1], "rb").read()
parts = [data]
for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
    try:
        parts.append(zlib.decompress(m.group(1)))
    except zlib.error:
        pass
print(sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", p)) for p in parts))' "$T/report.pdf")
head -c 5 "$T/report.pdf" | grep -q '%PDF-' || fail "the printout is not a PDF"
[[ $pages -ge 2 ]] || fail "the printout has $pages pages"
echo "printed: $pages pages, $(stat -c %s "$T/report.pdf") bytes"

# Bad input: no such run, an unwritable place.
ctl report 99 -o "$T/none.html" 2>/dev/null && fail "a report of run 99 was written"
[[ -e $T/none.html ]] && fail "a report file for a missing run exists"
ctl report 1 -o /nonexistent/dir/r.html 2>"$T/err" && fail "writing into a missing directory succeeded"
grep -q '/nonexistent/dir' "$T/err" || fail "the error does not name the file: $(cat "$T/err")"
echo "report checks passed"
