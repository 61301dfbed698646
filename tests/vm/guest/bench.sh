# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Shared by the bench-* guest tests: the daemon's replacement rate against
# bare-replace (tests/vm/bare-replace.c), the replace ioctl in a bare loop on the
# same device with the same domains, in the same boot. Two rounds each,
# alternating, best of each; printed, never failed on (a benchmark under TCG).
# Needs: BENCH_BACKEND, BENCH_SECONDS, bench_daemon (runs the daemon's scenario
# into $OUT), bench_bare (prints bare-replace's JSON).
# Optional: BENCH_LABEL (one point of a curve, "workers=4": it prefixes every
# line and follows the name in the RESULT line), BENCH_TARGET (what the RESULT
# line ends with; default "(target >= 97%)"), bench_check (more checks of each
# daemon run's $OUT).
#
# bench [ARGS…]: ARGS go to bench_bare and bench_daemon. Leaves the best rates
# in BENCH_BEST_DAEMON and BENCH_BEST_BARE and their ratio in BENCH_RATIO.

bench() {
	local round bare b d at=${BENCH_LABEL:+$BENCH_LABEL: }
	local target=${BENCH_TARGET-(target >= 97%)}
	command -v bare-replace >/dev/null || fail "bare-replace is not in the initramfs (built by meson as tests/vm/bare-replace)"
	BENCH_BEST_BARE=0 BENCH_BEST_DAEMON=0
	for round in 1 2; do
		bare=$(bench_bare "$@") || fail "${at}bare-replace failed: $bare"
		b=$(jget "$bare" '.rate | floor')
		bench_daemon "$@"
		[[ $RC -eq 0 && -n $OUT ]] || fail "${at}the daemon's run failed (iommuctl exit $RC): $ERR $(jq -r '.reason // empty' <<<"$OUT" 2>/dev/null)"
		[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "${at}the daemon's run had replace errors: $(jgetc "$OUT" .errors_by_errno)"
		if declare -F bench_check >/dev/null; then
			bench_check "$@"
		fi
		d=$(jget "$OUT" '.rate | floor')
		echo "${BENCH_LABEL:+$BENCH_LABEL }round $round: bare $b/s ($(jget "$bare" .replacements) in $(jget "$bare" .seconds) s)," \
			"daemon $d/s ($(jget "$OUT" .replacements), p50 $(jget "$OUT" .latency_ns.p50) ns, p99 $(jget "$OUT" .latency_ns.p99) ns)"
		((b > BENCH_BEST_BARE)) && BENCH_BEST_BARE=$b
		((d > BENCH_BEST_DAEMON)) && BENCH_BEST_DAEMON=$d
	done
	((BENCH_BEST_BARE > 0)) || fail "${at}bare-replace made no replacement"
	BENCH_RATIO=$(awk -v d="$BENCH_BEST_DAEMON" -v b="$BENCH_BEST_BARE" 'BEGIN { printf "%.1f%%", 100 * d / b }')
	echo "RESULT bench-$BENCH_BACKEND${BENCH_LABEL:+ $BENCH_LABEL} daemon=${BENCH_BEST_DAEMON}/s bare=${BENCH_BEST_BARE}/s" \
		"ratio=$BENCH_RATIO${target:+ $target}"
}
