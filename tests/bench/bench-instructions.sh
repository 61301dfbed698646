#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Instructions per model replacement, counted by callgrind (repeatable, unlike
# a rate): the run engine's worker (bench-engine: the daemon's hot loop, with
# its window seqcount, clock reads, window ring, histograms and pacing checks)
# against the model driven directly (bench-model-direct: the same replace()
# between the same clock reads). Each is run for two counts; the difference
# divided by the difference of counts is the cost of one replacement, free of
# set-up and teardown. Only the busiest thread (the replacing one) is counted.
# Traffic is off so that no walker thread's spinning is counted. Prints both
# and their ratio (the daemon's target: the direct loop is >= 97% of it).
# The count is the same from run to run, so this is the benchmark that gates:
# it fails when the ratio drops below 0.96 (0.973 when the gate was set: the
# worker's one-point loop, run.c's worker_loop_plain), i.e. when the worker's
# hot loop grows by about ten instructions per replacement. The general loop
# (worker_loop: what the vfio and mock backends run, with their gate and
# verify hooks) is counted too, through Pattern=random over two domains, which
# gives the same domain sequence as ping-pong at the cost of the generator
# (about ten instructions): it fails below 0.88 (0.909 when set).
set -euo pipefail
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
: "${BENCH_DIRECT:?}" "${BENCH_ENGINE:?}" "${SCENARIO_DIR:?}"
T=$(mktemp -d /tmp/iommutest-ir.XXXXXX)
trap 'rm -rf "$T"' EXIT
N1=${IR_N1:-50000} N2=${IR_N2:-150000}

# model-hitless's replacements (entry-sync writer, second-stage domains), traffic off.
cat >"$T/scenario.conf" <<'CONF'
[Scenario]
Backend=model
[Attach]
Points=RID
[Domains]
Count=2
Layout=identical
[Replace]
Pattern=ping-pong
Rate=max
[Traffic]
Enable=no
[Model]
Writer=entry-sync
Transitions=ss-did
CONF
sed 's/^Pattern=ping-pong$/Pattern=random/' "$T/scenario.conf" >"$T/general.conf"

# ir PROGRAM COUNT [SCENARIO] → instructions of the busiest thread
ir() {
	rm -f "$T"/cg.out*
	valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$T/cg.out" \
		"$1" "${3:-$T/scenario.conf}" "$2" >/dev/null 2>"$T/vg.log" || { cat "$T/vg.log" >&2; return 1; }
	for f in "$T"/cg.out*; do awk '/^summary:/ {print $2}' "$f"; done | sort -n | tail -n 1
}
per() { awk -v a="$1" -v b="$2" -v n="$((N2 - N1))" 'BEGIN{printf "%.1f", (b - a) / n}'; }

d1=$(ir "$BENCH_DIRECT" "$N1") d2=$(ir "$BENCH_DIRECT" "$N2")
e1=$(ir "$BENCH_ENGINE" "$N1") e2=$(ir "$BENCH_ENGINE" "$N2")
g1=$(ir "$BENCH_ENGINE" "$N1" "$T/general.conf") g2=$(ir "$BENCH_ENGINE" "$N2" "$T/general.conf")
direct=$(per "$d1" "$d2") engine=$(per "$e1" "$e2") general=$(per "$g1" "$g2")
echo "instructions per replacement (callgrind, busiest thread, $N1 and $N2 replacements):"
echo "  direct (bench-model-direct): $direct"
echo "  daemon worker (run engine):  $engine"
echo "  daemon worker, general loop (Pattern=random, 2 domains): $general"
# Checked before the ratio is computed: with a zero count mawk prints a ratio
# of "inf" and gawk, under errexit, ends the script on its division error.
awk -v d="$direct" -v e="$engine" -v g="$general" 'BEGIN{exit !(d > 0 && e > 0 && g > 0)}' || { echo "FAIL: no instruction count"; exit 1; }
ratio=$(awk -v d="$direct" -v e="$engine" 'BEGIN{printf "%.3f", d/e}')
echo "direct/daemon instruction ratio: $ratio (target >= 0.97)"
gratio=$(awk -v d="$direct" -v g="$general" 'BEGIN{printf "%.3f", d/g}')
echo "direct/general-loop instruction ratio: $gratio"
echo "RESULT bench-instructions ratio=$ratio general_ratio=$gratio spread=0 (callgrind counts repeat exactly)"
awk -v r="$ratio" 'BEGIN{exit !(r >= 0.96)}' || { echo "FAIL: the worker's hot loop costs more than 1/0.96 of the direct loop's instructions"; exit 1; }
awk -v r="$gratio" 'BEGIN{exit !(r >= 0.88)}' || { echo "FAIL: the worker's general loop costs more than 1/0.88 of the direct loop's instructions"; exit 1; }
