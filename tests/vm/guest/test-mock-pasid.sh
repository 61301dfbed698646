#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mock backend with PASID attachment points (CONFIG_IOMMUFD_TEST, booted
# with intel_iommu=off): contrib/scenarios/mock-pasid.conf replaces the mock
# device's RID and PASIDs 1-64 at once, one worker per point.
#
# Kernel ≥ 6.15 (the PASID test ops): at least one million replacements, none
# failed; every IOMMU_TEST_OP_PASID_CHECK_HWPT the workers made agreed with
# the HWPT the daemon attached (checks > 0, no mismatch, no error); per-point
# figures for all 65 points in the run's result (attach_points) and in
# `iommuctl --json show`; every PASID detached and the detach confirmed by
# the kernel (backend_info.pasids_detached_verified = 64); afterwards no mock
# device left on the iommufd_mock bus and the daemon's file descriptors as
# before the run.
#
# Older kernels: the same scenario is refused with "kernel lacks PASID
# attach", and the daemon goes on serving with nothing left behind.
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == mock ]] || fail "needs the mock profile (intel_iommu=off)"
require_backend mock
conf=$SCENARIO_DIR/mock-pasid.conf
[[ -f $conf ]] || fail "missing example scenario contrib/scenarios/mock-pasid.conf"

# Mock devices the kernel has now (each run makes one and destroys it).
mock_devices() {
	ls /sys/bus/iommufd_mock/devices 2>/dev/null | wc -l
}

fds_before=$(daemon_fds)
mocks_before=$(mock_devices)

ctl_capture mock-pasid "$conf"

if ! kernel_at_least 6.15; then
	msg="$ERR"
	[[ -n $OUT ]] && msg+=" $(jq -r '.reason // empty' <<<"$OUT")"
	echo "mock-pasid on $(uname -r): iommuctl exit $RC: $msg"
	[[ $RC -eq 2 ]] || fail "iommuctl run exited $RC on a kernel without the PASID test ops, expected 2 (refused)"
	grep -qF "kernel lacks PASID attach" <<<"$msg" || fail "the refusal does not say 'kernel lacks PASID attach': $msg"
	daemon_alive || fail "iommutestd died"
	[[ $(ctl --json status | jq .active_runs) -eq 0 ]] || fail "a run is still active"
	[[ $(mock_devices) -eq $mocks_before ]] || fail "a mock device was left behind: $(ls /sys/bus/iommufd_mock/devices)"
	[[ $fds_before == "$(daemon_fds)" ]] || fail "file descriptors left open in iommutestd after the refusal"
	echo "checked: kernel $(uname -r) < 6.15 refuses Points=RID 1-64 on the mock backend with 'kernel lacks PASID attach'; daemon alive, no run active, no mock device and no fd left behind"
	echo "RESULT mock-pasid refused kernel=$(uname -r)"
	echo ok
	exit 0
fi

[[ -n $OUT ]] || fail "iommuctl run exited $RC with no result: $ERR"
summary mock-pasid
B=$(jgetc "$OUT" .backend_info)
echo "backend: $(jq -c 'del(.points, .domains)' <<<"$B")"
[[ $RC -eq 0 ]] || fail "iommuctl run exited $RC (verdict $(jget "$OUT" .verdict), reason: $(jget "$OUT" .reason))"
[[ $(jget "$OUT" .state) == finished ]] || fail "state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
[[ $(jget "$OUT" .replacements) -ge 1000000 ]] || fail "only $(jget "$OUT" .replacements) replacements (want >= 1000000)"
[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "$(jget "$OUT" .replace_errors) replacements failed: $(jgetc "$OUT" .errors_by_errno)"
[[ $(jget "$OUT" .workers) -eq 65 ]] || fail "$(jget "$OUT" .workers) workers, want 65 (one per point)"

# The objects: a PASID-capable device, PASID-compatible HWPTs, the RID on its own.
[[ $(jget "$B" .device_pasid) == true ]] || fail "the mock device was not made with MOCK_FLAGS_DEVICE_PASID"
[[ $(jget "$B" .max_pasid_log2) -eq 20 ]] || fail "max_pasid_log2 $(jget "$B" .max_pasid_log2), want 20 (MOCK_PASID_WIDTH)"
(($(jget "$B" .rid_hwpt_id) > 0)) || fail "no PASID-compatible HWPT for the RID"

# Every check the workers made agreed.
C=$(jgetc "$B" .hwpt_checks)
[[ $(jget "$C" .available) == true ]] || fail "IOMMU_TEST_OP_PASID_CHECK_HWPT not used on a kernel that has it"
checks=$(jget "$C" .checks)
((checks > 0)) || fail "no CHECK_HWPT was made"
[[ $(jget "$C" .mismatches) -eq 0 ]] || fail "$(jget "$C" .mismatches) CHECK_HWPT disagreed with the daemon: $(jq -c '[.points[] | select(.mismatches > 0)]' <<<"$B")"
[[ $(jget "$C" .errors) -eq 0 ]] || fail "$(jget "$C" .errors) CHECK_HWPT failed: $(jq -c '[.points[] | select(.check_errors > 0)]' <<<"$B")"
# At least one check per 1024 replacements of a point, and one per point at detach.
want=$(jq '([.attach_points[].replacements / 1024 | floor] | add) + (.attach_points | length)' <<<"$OUT")
((checks >= want)) || fail "$checks CHECK_HWPT, want at least $want (one per 1024 replacements of a point and one at each detach)"

# Teardown: every PASID detached, and the kernel confirmed it.
[[ $(jget "$B" .pasids_attached) -eq 0 ]] || fail "$(jget "$B" .pasids_attached) PASIDs still attached after the run"
[[ $(jget "$B" .pasids_detached_verified) -eq 64 ]] || fail "$(jget "$B" .pasids_detached_verified) PASIDs verified detached, want 64"
[[ $(jq '[.points[] | select(.pasid != null and .detach_verified != true)] | length' <<<"$B") -eq 0 ]] ||
	fail "PASIDs not verified detached: $(jq -c '[.points[] | select(.pasid != null and .detach_verified != true) | .name]' <<<"$B")"
[[ $(jq '.points | length' <<<"$B") -eq 65 ]] || fail "backend_info.points has $(jq '.points | length' <<<"$B") entries, want 65"

# Per-point figures, in the run's result and from show.
check_points() { # WHAT JSON
	local what=$1 json=$2 n names
	n=$(jq '.attach_points | length' <<<"$json")
	[[ $n -eq 65 ]] || fail "$what: attach_points has $n entries, want 65"
	names=$(jq -r '[.attach_points[].name] | join(",")' <<<"$json")
	[[ $names == "$(jq -rn '["RID"] + [range(1; 65) | "PASID \(.)"] | join(",")')" ]] || fail "$what: attach_points are $names"
	[[ $(jq '[.attach_points[] | select(.replacements == 0)] | length' <<<"$json") -eq 0 ]] ||
		fail "$what: points without a replacement: $(jq -c '[.attach_points[] | select(.replacements == 0) | .name]' <<<"$json")"
	[[ $(jq '[.attach_points[] | select(.errors != 0)] | length' <<<"$json") -eq 0 ]] || fail "$what: points with errors"
	[[ $(jq '[.attach_points[].replacements] | add' <<<"$json") -eq $(jget "$json" .replacements) ]] ||
		fail "$what: the points' replacements do not add up to the run's"
}
check_points "run result" "$OUT"
SHOW=$(ctl --json show "$(jget "$OUT" .id)") || fail "iommuctl --json show $(jget "$OUT" .id) failed"
check_points "iommuctl show" "$SHOW"
echo "per point: $(jq -r '[.attach_points[] | .replacements] | "min \(min) max \(max)"' <<<"$OUT") replacements," \
	"p99 latency $(jq -r '[.attach_points[] | .latency_ns.p99] | "min \(min) max \(max)"' <<<"$OUT") ns"

# Nothing left in the kernel or the daemon.
[[ $(mock_devices) -eq $mocks_before ]] || fail "a mock device was left behind: $(ls /sys/bus/iommufd_mock/devices)"
fds_after=$(daemon_fds)
[[ $fds_before == "$fds_after" ]] ||
	fail "file descriptors left open in iommutestd: before the run: ${fds_before//$'\n'/ }; after: ${fds_after//$'\n'/ }"
daemon_alive || fail "iommutestd died"
echo "checked: $(jget "$OUT" .replacements) replacements on the RID and 64 PASIDs by 65 workers, 0 errors; $checks CHECK_HWPT all agreed; 64 PASIDs detached and verified; 65 points in the result and in show; no mock device or fd left"
echo "RESULT mock-pasid points=65 replacements=$(jget "$OUT" .replacements) rate=$(jget "$OUT" '.rate | floor')/s p50=$(jget "$OUT" .latency_ns.p50)ns p99=$(jget "$OUT" .latency_ns.p99)ns checks=$checks mismatches=0 detached_verified=64"
echo ok
