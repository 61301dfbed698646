# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Shared by the bench-* guest tests: the daemon's replacement rate against
# bare-replace (tests/vm/bare-replace.c), the replace ioctl in a bare loop on the
# same device with the same domains, in the same boot. Two rounds each,
# alternating, best of each; printed, never failed on (a benchmark under TCG).
# Needs: BENCH_BACKEND, BENCH_SECONDS, bench_daemon (runs the daemon's scenario
# into $OUT), bench_bare (prints bare-replace's JSON).

bench() {
	local round bare best_bare=0 best_daemon=0 b d
	command -v bare-replace >/dev/null || fail "bare-replace is not in the initramfs (built by meson as tests/vm/bare-replace)"
	for round in 1 2; do
		bare=$(bench_bare) || fail "bare-replace failed: $bare"
		b=$(jget "$bare" '.rate | floor')
		bench_daemon
		[[ $RC -eq 0 && -n $OUT ]] || fail "the daemon's run failed (iommuctl exit $RC): $ERR $(jq -r '.reason // empty' <<<"$OUT" 2>/dev/null)"
		[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "the daemon's run had replace errors"
		d=$(jget "$OUT" '.rate | floor')
		echo "round $round: bare $b/s ($(jget "$bare" .replacements) in $(jget "$bare" .seconds) s)," \
			"daemon $d/s ($(jget "$OUT" .replacements), p50 $(jget "$OUT" .latency_ns.p50) ns, p99 $(jget "$OUT" .latency_ns.p99) ns)"
		((b > best_bare)) && best_bare=$b
		((d > best_daemon)) && best_daemon=$d
	done
	((best_bare > 0)) || fail "bare-replace made no replacement"
	echo "RESULT bench-$BENCH_BACKEND daemon=${best_daemon}/s bare=${best_bare}/s" \
		"ratio=$(awk -v d="$best_daemon" -v b="$best_bare" 'BEGIN { printf "%.1f%%", 100 * d / b }') (target >= 97%)"
}
