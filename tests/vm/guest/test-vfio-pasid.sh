#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# PASID attachment points on the vfio backend, on QEMU's edu device, which has
# no PCI PASID capability: a PASID scenario (contrib/scenarios/vfio-edu-pasid.conf,
# Points=RID 1) must be refused before anything is attached, with
#   - on Linux ≥ 6.15: an error that names the device and says it has no
#     PASID capability (the kernel would "attach" a PASID of such a device as
#     a no-op, so the daemon checks itself);
#   - before 6.15: "kernel lacks PASID attach" (probed, not read off the
#     version), whatever the device.
# Either way iommuctl exits 2 with the message, the daemon goes on serving,
# holds the file descriptors it held before, and the device is left usable:
# a RID replacement run on it afterwards works, with Bind=yes (the device was
# given back) and with Bind=no on a device left bound to vfio-pci.
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == iommu ]] || fail "needs the iommu profile (intel_iommu=on)"
require_backend vfio
pasid_conf=$SCENARIO_DIR/vfio-edu-pasid.conf
replace_conf=$SCENARIO_DIR/vfio-edu-replace.conf
[[ -f $pasid_conf ]] || fail "missing example scenario contrib/scenarios/vfio-edu-pasid.conf"
[[ -f $replace_conf ]] || fail "missing example scenario contrib/scenarios/vfio-edu-replace.conf"
[[ -z $(pci_driver "$EDU_BDF") ]] || fail "$EDU_BDF is bound to $(pci_driver "$EDU_BDF") before the test"

kernel=$(uname -r)
if kernel_at_least 6.15; then want="no-capability"; else want="kernel-lacks"; fi
echo "kernel $kernel: expecting the '$want' refusal"
echo "edu's PASID capability as config space shows it: $(ctl --json caps "$EDU_BDF" | jq -c .info.pasid)"

fds_before=$(daemon_fds)
echo "daemon fds before: $(wc -l <<<"$fds_before")"

# expect_refusal NAME [iommuctl run options…] FILE: the run must be refused the way
# this kernel refuses it; sets $seen.
expect_refusal() {
	local name=$1 msg
	shift
	ctl_capture "$name" "$@"
	msg="$ERR"
	[[ -n $OUT ]] && msg+=" $(jq -r '.reason // empty' <<<"$OUT")"
	echo "$name: iommuctl exit $RC: $msg"
	[[ $RC -eq 2 ]] || fail "$name: iommuctl run exited $RC, expected 2 (error): $msg"
	if grep -qF "kernel lacks PASID attach" <<<"$msg"; then
		seen="kernel-lacks"
		grep -qF "needs Linux 6.15 or newer (this kernel: $kernel)" <<<"$msg" ||
			fail "$name: the refusal does not name the kernel version $kernel: $msg"
	elif grep -qF "has no PASID capability" <<<"$msg"; then
		seen="no-capability"
		grep -qF "$EDU_BDF" <<<"$msg" || fail "$name: the refusal does not name the device $EDU_BDF: $msg"
	else
		fail "$name: refused, but neither for the kernel nor for the device's PASID capability: $msg"
	fi
	[[ $seen == "$want" ]] ||
		fail "$name: kernel $kernel refused with '$seen', expected '$want' (VFIO PASID attach is 6.15+)"
	ctl status >/dev/null || fail "$name: the daemon does not answer afterwards"
	daemon_alive || fail "$name: iommutestd died"
	[[ $(ctl --json status | jq .active_runs) -eq 0 ]] || fail "$name: a run is still active"
}

# The shipped example, Bind=yes: refused, and edu goes back to no driver.
expect_refusal example --set=Scenario.Device="$EDU_BDF" --set=Scenario.Bind=yes \
	--set=Replace.Count=1000 "$pasid_conf"
[[ -z $(pci_driver "$EDU_BDF") ]] || fail "example: $EDU_BDF left bound to $(pci_driver "$EDU_BDF")"

# PASIDs only, no DMA, one far beyond any width: still the same check first.
cat >"$T/pasid-only.conf" <<CONF
[Scenario]
Backend=vfio
Device=$EDU_BDF
Bind=yes
[Attach]
Points=5-8 0xFFFFF
[Replace]
Count=100
[Traffic]
Enable=no
CONF
expect_refusal pasid-only "$T/pasid-only.conf"
[[ -z $(pci_driver "$EDU_BDF") ]] || fail "pasid-only: $EDU_BDF left bound to $(pci_driver "$EDU_BDF")"

# The device on vfio-pci already (Bind=no): refused, and it stays there, unattached.
pci_bind_vfio "$EDU_BDF"
[[ $(pci_driver "$EDU_BDF") == vfio-pci ]] || fail "could not bind $EDU_BDF to vfio-pci"
expect_refusal bound --set=Scenario.Device="$EDU_BDF" --set=Scenario.Bind=no \
	--set=Replace.Count=1000 "$pasid_conf"
[[ $(pci_driver "$EDU_BDF") == vfio-pci ]] || fail "bound: $EDU_BDF moved to '$(pci_driver "$EDU_BDF")'"
echo "REFUSED $seen on kernel $kernel"

# The daemon keeps nothing of the refused runs (teardown is on the main loop: a moment).
for _ in $(seq 50); do
	fds_after=$(daemon_fds)
	[[ $fds_after == "$fds_before" ]] && break
	sleep 0.1
done
if [[ $fds_after != "$fds_before" ]]; then
	diff <(echo "$fds_before") <(echo "$fds_after") || true
	fail "the daemon keeps $(($(wc -l <<<"$fds_after") - $(wc -l <<<"$fds_before"))) more file descriptors after the refused runs"
fi
echo "daemon fds after: $(wc -l <<<"$fds_after") (same as before)"

# Left usable: RID replacement right away on the device as the refusal left it
# (bound to vfio-pci, Bind=no), then with Bind=yes from no driver.
rid_run() { # NAME BIND
	ctl_run "$1" --set=Scenario.Device="$EDU_BDF" --set=Scenario.Bind="$2" \
		--set=Replace.Count=2000 --set=Expect.DmaErrors= "$replace_conf"
	summary "$1"
	[[ $(jget "$OUT" .state) == finished ]] || fail "$1: state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
	[[ $(jget "$OUT" .replacements) -eq 2000 ]] || fail "$1: $(jget "$OUT" .replacements) replacements, want 2000"
	[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "$1: $(jget "$OUT" .replace_errors) replacements failed"
	[[ $(jq -r .backend_info.hwpt_alloc_pasid <<<"$OUT") == false ]] || fail "$1: a RID-only run allocated PASID-capable HWPTs"
}
rid_run rid-after-bound no
pci_release "$EDU_BDF"
rid_run rid-after-bind yes
[[ -z $(pci_driver "$EDU_BDF") ]] || fail "$EDU_BDF is still bound to $(pci_driver "$EDU_BDF") after the run"
echo "RESULT vfio-pasid kernel=$kernel refusal=$seen"
daemon_alive || fail "iommutestd died"
echo ok
