# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Shared by the bench-* guest tests: the daemon's replacement rate against
# bare-replace (tests/vm/bare-replace.c), the replace ioctl in a bare loop on the
# same device with the same domains, in the same boot. BENCH_ROUNDS (default
# 5) short rounds of each, alternating bare, daemon, bare, daemon…; each
# daemon round is divided by the bare round just before it, and the median of
# those paired ratios is the result, printed with its spread (the largest
# minus the smallest, in points) — never failed on.
#
# The benchmark boots run QEMU with -icount (run-vm.sh --bench; the guest
# sees iommutest.icount=SHIFT): guest time then advances with the
# instructions the guest executes, so a rate in guest time measures the
# instructions the daemon and the kernel spend per replacement, not what the
# host was doing meanwhile. Elsewhere the rates are wall-clock TCG rates.
#
# Needs: BENCH_BACKEND, BENCH_SECONDS, bench_daemon (runs the daemon's scenario
# into $OUT), bench_bare (prints bare-replace's JSON).
# Optional: BENCH_LABEL (one point of a curve, "workers=4": it prefixes every
# line and follows the name in the RESULT line), BENCH_TARGET (what the RESULT
# line ends with; default "(target >= 97%)"), bench_check (more checks of each
# daemon run's $OUT).
#
# bench [ARGS…]: ARGS go to bench_bare and bench_daemon. Leaves the median
# rates in BENCH_MEDIAN_DAEMON and BENCH_MEDIAN_BARE, the median ratio in
# BENCH_RATIO ("97.8%") and its spread in BENCH_SPREAD (points).

BENCH_ROUNDS=${BENCH_ROUNDS:-5}

# median of the numbers on stdin (one per line); the mean of the middle two
# for an even count.
bench_median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

bench() {
	local round bare b d at=${BENCH_LABEL:+$BENCH_LABEL: } rates_b=() rates_d=() ratios=()
	local target=${BENCH_TARGET-(target >= 97%)} clock=wall
	[[ -n ${IOMMUTEST_ICOUNT:-} ]] && clock="guest time, -icount shift=$IOMMUTEST_ICOUNT"
	command -v bare-replace >/dev/null || fail "bare-replace is not in the initramfs (built by meson as tests/vm/bare-replace)"
	[[ $BENCH_ROUNDS =~ ^[1-9][0-9]*$ ]] || fail "BENCH_ROUNDS=$BENCH_ROUNDS: a positive number"
	for ((round = 1; round <= BENCH_ROUNDS; round++)); do
		bare=$(bench_bare "$@") || fail "${at}bare-replace failed: $bare"
		b=$(jget "$bare" '.rate | floor')
		((b > 0)) || fail "${at}bare-replace made no replacement: $bare"
		bench_daemon "$@"
		[[ $RC -eq 0 && -n $OUT ]] || fail "${at}the daemon's run failed (iommuctl exit $RC): $ERR $(jq -r '.reason // empty' <<<"$OUT" 2>/dev/null)"
		[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "${at}the daemon's run had replace errors: $(jgetc "$OUT" .errors_by_errno)"
		if declare -F bench_check >/dev/null; then
			bench_check "$@"
		fi
		d=$(jget "$OUT" '.rate | floor')
		rates_b+=("$b") rates_d+=("$d")
		ratios+=("$(awk -v d="$d" -v b="$b" 'BEGIN { printf "%.2f", 100 * d / b }')")
		echo "${BENCH_LABEL:+$BENCH_LABEL }round $round: bare $b/s ($(jget "$bare" .replacements) in $(jget "$bare" .seconds) s)," \
			"daemon $d/s ($(jget "$OUT" .replacements), p50 $(jget "$OUT" .latency_ns.p50) ns, p99 $(jget "$OUT" .latency_ns.p99) ns)," \
			"ratio ${ratios[-1]}%"
	done
	BENCH_MEDIAN_BARE=$(printf '%s\n' "${rates_b[@]}" | bench_median | awk '{ printf "%d", $1 }')
	BENCH_MEDIAN_DAEMON=$(printf '%s\n' "${rates_d[@]}" | bench_median | awk '{ printf "%d", $1 }')
	BENCH_RATIO=$(printf '%s\n' "${ratios[@]}" | bench_median | awk '{ printf "%.1f%%", $1 }')
	BENCH_SPREAD=$(printf '%s\n' "${ratios[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f", hi - lo }')
	echo "RESULT bench-$BENCH_BACKEND${BENCH_LABEL:+ $BENCH_LABEL} daemon=${BENCH_MEDIAN_DAEMON}/s bare=${BENCH_MEDIAN_BARE}/s" \
		"ratio=$BENCH_RATIO spread=$BENCH_SPREAD rounds=$BENCH_ROUNDS clock=\"$clock\"${target:+ $target}"
}
