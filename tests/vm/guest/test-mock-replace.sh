#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mock backend (CONFIG_IOMMUFD_TEST, booted with intel_iommu=off): the kernel's
# selftest mock device ping-pongs between two HWPTs through
# IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE (contrib/scenarios/mock-replace.conf): at
# least one million replacements, none failed; rate and latency reported.
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == mock ]] || fail "needs the mock profile (intel_iommu=off)"
require_backend mock
conf=$SCENARIO_DIR/mock-replace.conf
[[ -f $conf ]] || fail "missing example scenario contrib/scenarios/mock-replace.conf"

ctl_run mock-replace "$conf"
summary mock-replace
echo "backend: $(jgetc "$OUT" .backend_info)"
[[ $RC -eq 0 ]] || fail "iommuctl run exited $RC (verdict $(jget "$OUT" .verdict), reason: $(jget "$OUT" .reason))"
[[ $(jget "$OUT" .state) == finished ]] || fail "state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
[[ $(jget "$OUT" .replacements) -ge 1000000 ]] || fail "only $(jget "$OUT" .replacements) replacements (want >= 1000000)"
[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "$(jget "$OUT" .replace_errors) replacements failed: $(jgetc "$OUT" .errors_by_errno)"
echo "RESULT mock-replace rate=$(jget "$OUT" '.rate | floor')/s p50=$(jget "$OUT" .latency_ns.p50)ns p99=$(jget "$OUT" .latency_ns.p99)ns max=$(jget "$OUT" .latency_ns.max)ns"
daemon_alive || fail "iommutestd died"
echo ok
