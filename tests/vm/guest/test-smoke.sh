#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The guest is what the real-kernel tests need, and the daemon works in it:
# iommutestd answers, /dev/iommu exists, the edu device is there (in its IOMMU
# group and reachable through the VFIO cdev when the Intel IOMMU is on, with no
# IOMMU when it is off), tracefs is mounted, and the model scenario passes.
. /iommutest/lib.sh

echo "kernel $(uname -r): $(uname -v)"

# --- the daemon answers on the private bus ---
status=$(ctl status) || fail "iommuctl status failed"
echo "$status"
js=$(ctl --json status) || fail "iommuctl --json status failed"
[[ -n $(jget "$js" .version) ]] || fail "status has no version"
jget "$js" '.backends[] | select(.name == "model") | .available' | grep -qx true ||
	fail "the model backend is not available"
echo "backends: $(jget "$js" '[.backends[] | "\(.name)\(if .available then "" else " (unavailable: \(.reason))" end)"] | join(", ")')"

# --- iommufd ---
[[ -c /dev/iommu ]] || fail "/dev/iommu is missing (CONFIG_IOMMUFD)"
echo "/dev/iommu: $(stat -c 'char %t:%T' /dev/iommu)"

# --- the edu device ---
dev=/sys/bus/pci/devices/$EDU_BDF
[[ -d $dev ]] || fail "no PCI device at $EDU_BDF; devices: $(ls /sys/bus/pci/devices | tr '\n' ' ')"
[[ $(cat "$dev/vendor"):$(cat "$dev/device") == 0x1234:0x11e8 ]] ||
	fail "$EDU_BDF is $(cat "$dev/vendor"):$(cat "$dev/device"), not QEMU edu (0x1234:0x11e8)"
echo "edu: $EDU_BDF, driver '$(pci_driver "$EDU_BDF")'"

case $IOMMUTEST_PROFILE in
iommu)
	ls -d /sys/class/iommu/dmar* >/dev/null 2>&1 || fail "no DMAR unit in /sys/class/iommu"
	[[ -L $dev/iommu_group ]] || fail "$EDU_BDF has no IOMMU group"
	group=$(basename "$(readlink "$dev/iommu_group")")
	echo "IOMMU: $(ls /sys/class/iommu | tr '\n' ' ')group $group ($(ls "$dev/iommu_group/devices" | tr '\n' ' '))"
	echo "IOMMU group type: $(cat "$dev/iommu_group/type" 2>/dev/null || echo '?')"
	dmesg | grep -E 'DMAR: (Intel\(R\)|IOMMU enabled)|DMAR-IR: Enabled|DMAR: .*[Ss]calable' || true
	dmesg | grep -q 'DMAR-IR: Enabled IRQ remapping' || fail "interrupt remapping is not enabled"
	ecap=$(cat /sys/class/iommu/dmar0/intel-iommu/ecap)
	# ECAP.SMTS (bit 43): scalable mode translation; the PASID tables live there.
	(((0x$ecap >> 43) & 1)) || fail "the DMAR unit lacks scalable mode (ecap 0x$ecap): QEMU needs x-scalable-mode=on"

	# The VFIO cdev path: bind to vfio-pci, the cdev appears, release again.
	pci_bind_vfio "$EDU_BDF" || fail "cannot bind $EDU_BDF to vfio-pci"
	cdev=$(vfio_cdev "$EDU_BDF") || { pci_release "$EDU_BDF"; fail "no VFIO cdev for $EDU_BDF (CONFIG_VFIO_DEVICE_CDEV)"; }
	[[ -c $cdev ]] || { pci_release "$EDU_BDF"; fail "$cdev is not a character device"; }
	echo "VFIO: $EDU_BDF bound to vfio-pci, cdev $cdev"
	pci_release "$EDU_BDF"
	[[ -z $(pci_driver "$EDU_BDF") ]] || fail "$EDU_BDF is still bound after release"
	;;
mock)
	# (iommufd_selftest_iommu.0, the mock's own IOMMU, is there in both profiles.)
	! ls -d /sys/class/iommu/dmar* >/dev/null 2>&1 ||
		fail "a DMAR unit is active ($(ls /sys/class/iommu | tr '\n' ' ')), but the mock profile boots with intel_iommu=off"
	[[ ! -e $dev/iommu_group ]] || fail "$EDU_BDF has an IOMMU group with intel_iommu=off"
	echo "IOMMU: none active (intel_iommu=off), as the mock backend needs"
	;;
*) fail "unknown profile '$IOMMUTEST_PROFILE'" ;;
esac

# --- tracefs, where entry_sync trace events appear on kernels that have them ---
[[ -d /sys/kernel/tracing/events ]] || fail "tracefs is not mounted at /sys/kernel/tracing"
if [[ -d /sys/kernel/tracing/events/intel_iommu ]]; then
	echo "tracefs: intel_iommu events: $(ls /sys/kernel/tracing/events/intel_iommu | grep -v '^enable$\|^filter$' | tr '\n' ' ')"
else
	echo "tracefs: no intel_iommu events"
fi

# --- the model backend end to end, as in the integration tier ---
echo "running model-hitless.conf"
ctl_run model-hitless "$SCENARIO_DIR/model-hitless.conf"
[[ $RC -eq 0 ]] || fail "model-hitless: iommuctl run exited $RC: $(jget "$OUT" .reason)"
summary model-hitless
[[ $(jget "$OUT" .verdict) == pass ]] || fail "model-hitless: verdict $(jget "$OUT" .verdict)"
[[ $(jget "$OUT" .replacements) -ge 1000000 ]] || fail "model-hitless: only $(jget "$OUT" .replacements) replacements"
[[ $(jget "$OUT" .faults) -eq 0 ]] || fail "model-hitless: $(jget "$OUT" .faults) faults"
daemon_alive || fail "iommutestd died"
echo ok
