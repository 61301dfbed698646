#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark, printed only: PASID replacement on the mock device (kernel ≥
# 6.15) as the number of PASIDs replaced at once grows. For 1, 4, 16 and 64
# PASIDs, each with its own worker, the daemon's rate (a mock scenario with
# Points=1-N for BENCH_SECONDS) against bare-replace mock-pasid N (the same
# objects, N threads each ping-ponging its PASID with
# IOMMU_TEST_OP_PASID_REPLACE in a bare loop), in the same boot. BENCH_ROUNDS
# rounds per N, alternating, paired (bench.sh). Every replace of one mock device takes
# the device's iopf_rwsem and its group's lock, so the curve shows what
# contention does to the rate; the ratio shows what the daemon adds to it.
# Fails only when a run fails.
. /iommutest/lib.sh
. /iommutest/bench.sh
[[ $IOMMUTEST_PROFILE == mock ]] || fail "needs the mock profile (intel_iommu=off)"
require_backend mock
kernel_at_least 6.15 || kernel_lacks "PASID attach (6.15+)"
BENCH_BACKEND=mock-pasid
BENCH_SECONDS=${BENCH_SECONDS:-1}
BENCH_WORKERS=${BENCH_WORKERS:-1 4 16 64}
BENCH_TARGET=''

bench_bare() { # N
	bare-replace mock-pasid "$1" "$BENCH_SECONDS" 2>&1
}
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
bench_check() { # N
	[[ $(jget "$OUT" .backend_info.hwpt_checks.mismatches) -eq 0 ]] || fail "workers=$1: CHECK_HWPT disagreed"
	[[ $(jget "$OUT" .backend_info.pasids_detached_verified) -eq $1 ]] ||
		fail "workers=$1: $(jget "$OUT" .backend_info.pasids_detached_verified) PASIDs verified detached, want $1"
}

curve=()
for n in $BENCH_WORKERS; do
	BENCH_LABEL="workers=$n"
	bench "$n"
	curve+=("$n:${BENCH_MEDIAN_DAEMON}/${BENCH_MEDIAN_BARE}=$BENCH_RATIO±$BENCH_SPREAD")
done
echo "RESULT bench-mock-pasid curve (workers:daemon/bare=ratio, replacements/s) ${curve[*]}"
daemon_alive || fail "iommutestd died"
echo ok
