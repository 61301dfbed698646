#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Positive control of NVMe traffic (contrib/scenarios/vfio-nvme-missing-range.conf):
# domain B lacks the data buffers but maps the queues, so every read issued
# while the RID is on B fails (an error status, or, as QEMU 7.2 does it, a
# success that never wrote the buffer) and nothing else breaks. Checks:
# failures happen and are counted exactly (each one a dma-verify fault,
# reasons adding up), reads on A
# verify, no controller reset was needed for a missing data range, and the
# kernel's DMAR fault lines for the controller are read from /dev/kmsg and
# attributed to the RID, on domain B.
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == iommu ]] || fail "needs the iommu profile (intel_iommu=on)"
require_backend vfio
conf=$SCENARIO_DIR/vfio-nvme-missing-range.conf
[[ -f $conf ]] || fail "missing example scenario contrib/scenarios/vfio-nvme-missing-range.conf"
mark=$(kmsg_mark)

ctl_run vfio-nvme-positive-control --set=Scenario.Device="$NVME_BDF" "$conf"
summary vfio-nvme-positive-control
dma=$(jgetc "$OUT" .backend_info.dma)
echo "dma: $dma"
echo "faults by source: $(jgetc "$OUT" .faults_by_source)"
[[ $(jget "$OUT" .state) == finished ]] || fail "state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
[[ $RC -eq 0 ]] || fail "verdict $(jget "$OUT" .verdict): $(jgetc "$OUT" '[.expectations[] | select(.pass | not)]')"
jget "$OUT" '.backend_info.domains | map(.maps_buffer) == [true, false]' >/dev/null ||
	fail "domains are not [maps, lacks]: $(jgetc "$OUT" .backend_info.domains)"
issued=$(jget "$dma" .transfers) ok=$(jget "$dma" .ok) errors=$(jget "$dma" .errors)
((ok + errors == issued)) || fail "commands not accounted: ok $ok + failed $errors != issued $issued"
[[ $errors -gt 0 ]] || fail "no command failed although domain B lacks the data buffers"
[[ $ok -gt 0 ]] || fail "no command verified although domain A maps the data buffers"
verify=$(jget "$OUT" '.faults_by_source["dma-verify"].total')
[[ $verify -eq $errors ]] || fail "$errors failed commands but $verify dma-verify faults"
[[ $(jget "$dma" '[.by_reason[]] | add') -eq $errors ]] || fail "failure reasons do not add up to $errors: $(jgetc "$dma" .by_reason)"
# On B the queues still work, so the failures are the reads' own: an error
# status where the controller reports the failed DMA, or a buffer left
# unwritten where it completes the read anyway (QEMU 7.2 drops the data and
# reports success: only verification sees it).
status=$(jget "$dma" '.by_reason["error-status"]') unwritten=$(jget "$dma" '.by_reason["not-written"]')
echo "failed reads: $status with an error status, $unwritten completed without writing their buffer; controller resets: $(jget "$dma" .nvme.resets)"
((status + unwritten > 0)) || fail "no read failed with an error status or an unwritten buffer: $(jgetc "$dma" .by_reason)"

bdf_short=${NVME_BDF#0000:}
kernel_faults=$(kmsg_since "$mark" | grep -cE "DMAR: \[DMA .*device \[(0000:)?$bdf_short\]" || true)
echo "kernel log: $kernel_faults DMAR fault lines for $bdf_short (rate-limited by the kernel)"
kmsg_since "$mark" | grep 'DMAR: ' | sed -n 1,4p || true
[[ $kernel_faults -gt 0 ]] || fail "no DMAR fault line for $bdf_short in the kernel log"
kmsg=$(jget "$OUT" '.faults_by_source.kmsg.total')
[[ $kmsg -gt 0 ]] || fail "the daemon counted no kmsg fault, the kernel printed $kernel_faults"
f=$(ctl --json faults "$(jget "$OUT" .id)" --max=1000)
kf=$(jgetc "$f" '[.faults[] | select(.source == "kmsg")]')
[[ $(jget "$kf" length) -gt 0 ]] || fail "no kmsg fault record retained"
jget "$kf" 'all(.attach_point == "RID")' >/dev/null ||
	fail "kmsg faults not attributed to the RID: $(jgetc "$kf" '[.[] | .attach_point] | unique')"
fd=$(jgetc "$OUT" '.attach_points[0].faults_by_domain')
echo "faults by domain: $fd, not placed (during a replacement): $(jget "$OUT" '.attach_points[0].faults_domain_unknown')"
[[ $(jget "$OUT" '.attach_points[0].faults_by_domain[0]') -eq 0 ]] || fail "faults placed on domain A, which maps the buffers: $fd"
[[ $(jget "$OUT" '.attach_points[0].faults_by_domain[1]') -gt 0 ]] || fail "no fault placed on domain B: $fd"
echo "kmsg: $(jgetc "$OUT" .kmsg)"
echo "RESULT vfio-nvme-positive-control issued=$issued ok=$ok failed=$errors error_status=$status not_written=$unwritten kmsg=$kmsg kernel_lines=$kernel_faults resets=$(jget "$dma" .nvme.resets)"
[[ -z $(pci_driver "$NVME_BDF") ]] || fail "$NVME_BDF is still bound to $(pci_driver "$NVME_BDF") after the run"
daemon_alive || fail "iommutestd died"
echo ok
