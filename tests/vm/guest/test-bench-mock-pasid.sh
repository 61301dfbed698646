#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark, printed only: PASID replacement on the mock device (kernel ≥
# 6.15) as the number of PASIDs replaced at once grows. For 1, 4, 16 and 64
# PASIDs, each with its own worker, the daemon's rate (a mock scenario with
# Points=1-N for BENCH_SECONDS) against bare-replace mock-pasid N (the same
# objects, N threads each ping-ponging its PASID with
# IOMMU_TEST_OP_PASID_REPLACE in a bare loop), in the same boot. Two rounds
# per N, alternating, best of each. Every replace of one mock device takes
# the device's iopf_rwsem and its group's lock, so the curve shows what
# contention does to the rate; the ratio shows what the daemon adds to it.
# Fails only when a run fails.
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == mock ]] || fail "needs the mock profile (intel_iommu=off)"
require_backend mock
kernel_at_least 6.15 || kernel_lacks "PASID attach (6.15+)"
command -v bare-replace >/dev/null || fail "bare-replace is not in the initramfs (built by meson as tests/vm/bare-replace)"
BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_WORKERS=${BENCH_WORKERS:-1 4 16 64}

bench_daemon() { # N
	run_scenario "bench-mock-pasid-$1" <<CONF
[Scenario]
Backend=mock
[Attach]
Points=1-$1
[Domains]
Count=2
Layout=identical
[Replace]
Pattern=ping-pong
Rate=max
Duration=${BENCH_SECONDS}s
[Traffic]
Engine=none
CONF
}

curve=()
for n in $BENCH_WORKERS; do
	best_bare=0 best_daemon=0
	for round in 1 2; do
		bare=$(bare-replace mock-pasid "$n" "$BENCH_SECONDS" 2>&1) || fail "bare-replace mock-pasid $n failed: $bare"
		b=$(jget "$bare" '.rate | floor')
		bench_daemon "$n"
		[[ $RC -eq 0 && -n $OUT ]] || fail "workers=$n: the daemon's run failed (iommuctl exit $RC): $ERR $(jq -r '.reason // empty' <<<"$OUT" 2>/dev/null)"
		[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "workers=$n: the daemon's run had replace errors: $(jgetc "$OUT" .errors_by_errno)"
		[[ $(jget "$OUT" .backend_info.hwpt_checks.mismatches) -eq 0 ]] || fail "workers=$n: CHECK_HWPT disagreed"
		[[ $(jget "$OUT" .backend_info.pasids_detached_verified) -eq $n ]] ||
			fail "workers=$n: $(jget "$OUT" .backend_info.pasids_detached_verified) PASIDs verified detached, want $n"
		d=$(jget "$OUT" '.rate | floor')
		echo "workers=$n round $round: bare $b/s ($(jget "$bare" .replacements) in $(jget "$bare" .seconds) s)," \
			"daemon $d/s ($(jget "$OUT" .replacements), p50 $(jget "$OUT" .latency_ns.p50) ns, p99 $(jget "$OUT" .latency_ns.p99) ns)"
		((b > best_bare)) && best_bare=$b
		((d > best_daemon)) && best_daemon=$d
	done
	((best_bare > 0)) || fail "workers=$n: bare-replace made no replacement"
	ratio=$(awk -v d="$best_daemon" -v b="$best_bare" 'BEGIN { printf "%.1f%%", 100 * d / b }')
	echo "RESULT bench-mock-pasid workers=$n daemon=${best_daemon}/s bare=${best_bare}/s ratio=$ratio"
	curve+=("$n:${best_daemon}/${best_bare}=$ratio")
done
echo "RESULT bench-mock-pasid curve (workers:daemon/bare=ratio, replacements/s) ${curve[*]}"
daemon_alive || fail "iommutestd died"
echo ok
