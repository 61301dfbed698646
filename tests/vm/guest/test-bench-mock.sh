#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark, printed only: the daemon's mock replacement rate
# (contrib/scenarios/mock-replace.conf for a fixed time) against the bare
# IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE loop with the same domains.
. /iommutest/lib.sh
. /iommutest/bench.sh
[[ $IOMMUTEST_PROFILE == mock ]] || fail "needs the mock profile (intel_iommu=off)"
require_backend mock
BENCH_BACKEND=mock
BENCH_SECONDS=${BENCH_SECONDS:-1}

bench_bare() {
	bare-replace mock "$BENCH_SECONDS" 2>&1
}
bench_daemon() {
	run_scenario bench-mock --set=Replace.Count= --set=Replace.Duration="${BENCH_SECONDS}s" \
		--set=Expect.Replacements= <"$SCENARIO_DIR/mock-replace.conf"
}
bench
echo ok
