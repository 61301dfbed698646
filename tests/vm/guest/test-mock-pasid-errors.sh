#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mock backend, PASID attachment points that cannot run end in a clear error
# naming the PASID, with nothing left behind and the daemon serving on:
#   PASID 1024, which the kernel's selftest mock reserves (it fakes failures
#     on it: IOMMU_TEST_PASID_RESERVED), on every kernel;
#   a PASID listed twice (Points=RID 3 1-5) and PASID 0, refused by the parser;
#   PASID points with [Traffic] Engine=iopf (page requests are injected on
#     the RID only);
#   on kernels < 6.15 any PASID point: "kernel lacks PASID attach".
# On kernels ≥ 6.15, the edges that must work: the last PASID of the mock's
# 20 bits (0xFFFFF) and the neighbours of the reserved one (1023, 1025).
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == mock ]] || fail "needs the mock profile (intel_iommu=off)"
require_backend mock

mock_devices() {
	ls /sys/bus/iommufd_mock/devices 2>/dev/null | wc -l
}

fds_before=$(daemon_fds)
mocks_before=$(mock_devices)

# mock_conf POINTS [more lines]: a short mock scenario.
mock_conf() {
	printf '[Scenario]\nBackend=mock\n[Attach]\nPoints=%s\n[Replace]\nCount=1000\n%s\n' "$1" "${2:-}"
}

# After each refusal (lib.sh expect_error): no mock device left behind.
expect_error_check() {
	[[ $(mock_devices) -eq $mocks_before ]] || fail "$1: a mock device was left behind"
}

mock_conf "RID 1-3 1024" | expect_error reserved-pasid "PASID 1024 is reserved by the kernel's selftest mock (IOMMU_TEST_PASID_RESERVED)"
mock_conf "RID 3 1-5" | expect_error duplicate-pasid "PASID 3 listed twice"
mock_conf "RID 0" | expect_error pasid-zero "PASID 0 is not a PASID"
mock_conf "RID 7" $'[Traffic]\nEngine=iopf' | expect_error iopf-with-pasid "PASID 7: [Traffic] Engine=iopf injects page requests on the RID only"

if kernel_at_least 6.15; then
	# Not in a pipe: run_scenario sets OUT, RC and ERR for the checks below.
	run_scenario pasid-edges < <(mock_conf "0xFFFFF RID 1023 1025")
	[[ -n $OUT ]] || fail "pasid-edges: iommuctl run exited $RC with no result: $ERR"
	summary pasid-edges
	[[ $RC -eq 0 && $(jget "$OUT" .state) == finished ]] || fail "pasid-edges: exit $RC, state $(jget "$OUT" .state): $(jget "$OUT" .reason) $ERR"
	[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "pasid-edges: replace errors $(jgetc "$OUT" .errors_by_errno)"
	[[ $(jget "$OUT" .backend_info.pasids_detached_verified) -eq 3 ]] ||
		fail "pasid-edges: $(jget "$OUT" .backend_info.pasids_detached_verified) PASIDs verified detached, want 3"
	[[ $(jget "$OUT" .backend_info.hwpt_checks.mismatches) -eq 0 ]] || fail "pasid-edges: CHECK_HWPT mismatches"
	echo "checked: PASIDs 0xFFFFF, 1023 and 1025 with the RID: $(jget "$OUT" .replacements) replacements, $(jget "$OUT" .backend_info.hwpt_checks.checks) checks agreed"
else
	mock_conf "5" | expect_error kernel-lacks "kernel lacks PASID attach"
fi

[[ $fds_before == "$(daemon_fds)" ]] || fail "file descriptors left open in iommutestd"
echo "checked: reserved PASID 1024, duplicate PASID 3, PASID 0 and Engine=iopf with PASIDs refused with messages naming the PASID; no mock device, run or fd left behind"
echo ok
