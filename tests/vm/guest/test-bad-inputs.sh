#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad inputs end in a clear error, the device is left as it was, and the
# daemon goes on serving:
#   iommu profile: a PCI address with no device; the edu device not bound to
#     vfio-pci with Bind=no; a device the edu engine cannot drive; Engine=nvme
#     on edu, and with a namespace, LBA range, Size= or mode the emulated
#     controller cannot take; a PASID
#     attachment point (before 6.15 the kernel lacks VFIO PASID attach; from
#     6.15 on, edu lacks the PCI PASID capability); the mock
#     backend while the Intel IOMMU owns the bus (6.12 cannot create the
#     mock device then; 7.x can, and the run must work).
#   mock profile: the vfio backend with the IOMMU off (no IOMMU group).
. /iommutest/lib.sh

# The errors' wording is matched in any case here.
EXPECT_ERROR_ANY_CASE=1

vfio_conf() { # DEVICE BIND [extra lines]
	printf '[Scenario]\nBackend=vfio\nDevice=%s\nBind=%s\n[Replace]\nCount=10\n%s\n' "$1" "$2" "${3:-}"
}

case $IOMMUTEST_PROFILE in
iommu)
	require_backend vfio
	[[ ! -e /sys/bus/pci/devices/0000:00:1e.7 ]] || fail "0000:00:1e.7 exists in this guest; pick another absent address"
	vfio_conf 0000:00:1e.7 yes | expect_error no-such-device "no PCI device 0000:00:1e.7"

	[[ -z $(pci_driver "$EDU_BDF") ]] || fail "$EDU_BDF is bound to $(pci_driver "$EDU_BDF") before the test"
	vfio_conf "$EDU_BDF" no | expect_error not-bound "set Bind=yes"
	[[ -z $(pci_driver "$EDU_BDF") ]] || fail "Bind=no left $EDU_BDF bound to $(pci_driver "$EDU_BDF")"

	# The SMBus controller of q35: in an IOMMU group, but not an edu device.
	smbus=0000:00:1f.3
	if [[ -e /sys/bus/pci/devices/$smbus/iommu_group ]]; then
		drv=$(pci_driver "$smbus")
		vfio_conf "$smbus" yes $'[Traffic]\nEngine=edu' | expect_error wrong-engine "Engine=edu"
		[[ $(pci_driver "$smbus") == "$drv" ]] || fail "wrong-engine: $smbus moved from '$drv' to '$(pci_driver "$smbus")'"
	else
		echo "wrong-engine: not tried ($smbus is absent or has no IOMMU group)"
	fi

	# Engine=nvme: the class code is checked before anything is touched, and
	# the scenario against the identified controller and namespace before the
	# run attaches, each error naming line and key (vfio_conf's extra lines
	# start at line 7); after each refusal the controller is back on no driver.
	[[ -z $(pci_driver "$NVME_BDF") ]] || fail "$NVME_BDF is bound to $(pci_driver "$NVME_BDF") before the test"
	vfio_conf "$EDU_BDF" yes $'[Traffic]\nEngine=nvme' |
		expect_error nvme-on-edu ".conf:8: [Traffic] Engine=nvme: the nvme engine drives NVMe controller devices, and $EDU_BDF is PCI 1234:11e8"
	[[ -z $(pci_driver "$EDU_BDF") ]] || fail "nvme-on-edu: $EDU_BDF left bound to $(pci_driver "$EDU_BDF")"
	# QEMU's controller reports 256 namespace IDs (NN) of which only 1 is active.
	vfio_conf "$NVME_BDF" yes $'[Traffic]\nEngine=nvme\nNamespace=2' |
		expect_error nvme-no-namespace ".conf:9: [Traffic] Namespace=2: NVMe namespace 2 is not active"
	vfio_conf "$NVME_BDF" yes $'[Traffic]\nEngine=nvme\nNvmeLBA=131000+1000' |
		expect_error nvme-lba-range ".conf:9: [Traffic] NvmeLBA=131000+1000: runs beyond the end of namespace 1 (131072 blocks of 512 bytes)"
	# QEMU's default MDTS is 7: 2^7 pages of 4 KiB.
	vfio_conf "$NVME_BDF" yes $'[Domains]\nMapSize=4M\n[Traffic]\nEngine=nvme\nSize=1M' |
		expect_error nvme-mdts ".conf:11: [Traffic] Size=1M: above the controller's maximum data transfer size (MDTS: 524288 bytes)"
	vfio_conf "$NVME_BDF" yes $'[Traffic]\nEngine=nvme\nNvmeMode=write-verify' |
		expect_error nvme-write-unnamed "write-verify overwrites the namespace"
	vfio_conf "$NVME_BDF" yes $'[Traffic]\nEngine=nvme\nNamespace=300' |
		expect_error nvme-namespace-beyond ".conf:9: [Traffic] Namespace=300: NVMe namespace 300 does not exist: the controller has 256"
	[[ -z $(pci_driver "$NVME_BDF") ]] || fail "nvme: $NVME_BDF left bound to $(pci_driver "$NVME_BDF")"

	# The kernel ABI is checked first, then the device (test-vfio-pasid.sh has the rest).
	if kernel_at_least 6.15; then
		vfio_conf "$EDU_BDF" yes $'[Attach]\nPoints=RID 1' | expect_error pasid "PASID capability"
	else
		vfio_conf "$EDU_BDF" yes $'[Attach]\nPoints=RID 1' | expect_error pasid "kernel lacks PASID attach"
	fi
	[[ -z $(pci_driver "$EDU_BDF") ]] || fail "pasid: $EDU_BDF left bound to $(pci_driver "$EDU_BDF")"

	if have_backend mock; then
		# 6.12 cannot create the mock device while the Intel IOMMU owns
		# the bus; newer selftests put it behind their own mock IOMMU
		# (iommu_mock_device_add), and then the run must simply work.
		# Not in a pipeline: run_scenario sets OUT, RC and ERR for this shell.
		run_scenario mock-with-iommu \
			< <(printf '[Scenario]\nBackend=mock\n[Domains]\nIOVA=0x1000000\n[Replace]\nCount=10\n')
		if [[ $RC -eq 0 ]]; then
			[[ $(jget "$OUT" .state) == finished && $(jget "$OUT" .replacements) -eq 10 ]] ||
				fail "mock-with-iommu: exit 0 but state $(jget "$OUT" .state), $(jget "$OUT" .replacements) replacements"
			echo "mock-with-iommu: this kernel creates the mock device with the Intel IOMMU on; 10 replacements done"
		else
			echo "mock-with-iommu: iommuctl exit $RC: $ERR"
			[[ $RC -eq 2 ]] || fail "mock-with-iommu: exit $RC (want 2 for a refused run)"
			grep -q "intel_iommu=off" <<<"$ERR" || fail "mock-with-iommu: the error does not say intel_iommu=off: $ERR"
		fi
		daemon_alive || fail "iommutestd died after mock-with-iommu"
	fi
	;;
mock)
	require_backend vfio
	vfio_conf "$EDU_BDF" yes | expect_error vfio-without-iommu "no IOMMU group"
	[[ -z $(pci_driver "$EDU_BDF") ]] || fail "vfio-without-iommu: $EDU_BDF left bound to $(pci_driver "$EDU_BDF")"
	;;
esac
echo ok
