#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfio backend, the operation under test: the edu device's RID ping-pongs
# between two HWPTs with identical mappings through VFIO_DEVICE_ATTACH_IOMMUFD_PT
# under verified DMA (contrib/scenarios/vfio-edu-replace.conf): at least
# 100 000 replacements, not one failed, rate and latency reported. Bind=yes
# hands the device to vfio-pci for the run; afterwards it must be back where
# it was (no driver).
#
# The scenario also expects DmaErrors=0, which holds only on a kernel whose
# replace path is hitless: 6.12's VT-d driver blocks translation while it
# installs the new domain, so copies that meet a replacement fail there. That
# is reported; it fails the test only with iommutest.expect_hitless=1 (host:
# VM_EXPECT_HITLESS=1), for kernels that claim hitless replacement.
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == iommu ]] || fail "needs the iommu profile (intel_iommu=on)"
require_backend vfio
conf=$SCENARIO_DIR/vfio-edu-replace.conf
[[ -f $conf ]] || fail "missing example scenario contrib/scenarios/vfio-edu-replace.conf"
[[ -z $(pci_driver "$EDU_BDF") ]] || fail "$EDU_BDF is bound to $(pci_driver "$EDU_BDF") before the run"

ctl_run vfio-edu-replace --set=Scenario.Device="$EDU_BDF" --set=Scenario.Bind=yes "$conf"
summary vfio-edu-replace
echo "backend: $(jgetc "$OUT" '.backend_info | {device, iommu_group, cdev, bound_by_run, original_driver, engine, domains, dma}')"
[[ $(jget "$OUT" .state) == finished ]] || fail "state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
[[ $(jget "$OUT" .replacements) -ge 100000 ]] || fail "only $(jget "$OUT" .replacements) replacements (want >= 100000)"
[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "$(jget "$OUT" .replace_errors) replacements failed: $(jgetc "$OUT" .errors_by_errno)"
[[ $(jget "$OUT" '.backend_info.domains | length') -ge 2 ]] || fail "fewer than two HWPTs"
jget "$OUT" '.backend_info.domains | all(.maps_buffer)' >/dev/null || fail "a domain does not map the buffer (Layout=identical)"
echo "RESULT vfio-replace rate=$(jget "$OUT" '.rate | floor')/s p50=$(jget "$OUT" .latency_ns.p50)ns p99=$(jget "$OUT" .latency_ns.p99)ns max=$(jget "$OUT" .latency_ns.max)ns dma=$(jget "$OUT" .dma_transfers) dma_errors=$(jget "$OUT" .dma_errors)"
failed=$(jget "$OUT" '[.expectations[] | select(.pass | not) | .key] | join(" ")')
if [[ -n $failed ]]; then
	echo "verdict $(jget "$OUT" .verdict): $(jgetc "$OUT" '[.expectations[] | select(.pass | not)]')"
	[[ $failed == DmaErrors ]] || fail "expectations failed: $failed"
	[[ ${IOMMUTEST_EXPECT_HITLESS:-0} == 1 ]] &&
		fail "$(jget "$OUT" .dma_errors) of $(jget "$OUT" .dma_transfers) copies failed ($(jget "$OUT" .faults_during_replace) faults during replacements) on a kernel expected to replace hitlessly"
	echo "NOTE: this kernel's replace is not hitless: $(jget "$OUT" .dma_errors) of $(jget "$OUT" .dma_transfers) copies failed," \
		"$(jget "$OUT" .faults_during_replace) of $(jget "$OUT" .faults) faults during replacements (expected before entry_sync; VM_EXPECT_HITLESS=1 makes it a failure)"
fi
[[ -z $(pci_driver "$EDU_BDF") ]] || fail "$EDU_BDF is still bound to $(pci_driver "$EDU_BDF") after the run (Bind=yes must give it back)"
daemon_alive || fail "iommutestd died"
echo ok
