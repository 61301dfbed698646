#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Positive control of fault detection: domain B (odd domains,
# Layout=missing-range) lacks the DMA range, so every transfer issued while the
# RID is attached to B fails. The replacement rate is low (2 Hz) so that most
# transfers (~0.2 s each with edu) run entirely on A or on B. Checks: failures
# happen and are counted exactly (each one a dma-verify fault, reasons adding
# up), transfers on A still succeed, and the kernel's DMAR fault lines for the
# device are read from /dev/kmsg and attributed to the RID.
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == iommu ]] || fail "needs the iommu profile (intel_iommu=on)"
require_backend vfio
mark=$(kmsg_mark)

run_scenario vfio-positive-control <<CONF
[Scenario]
Description=VM tier: positive control, domain B lacks the DMA range
Backend=vfio
Device=$EDU_BDF
Bind=yes

[Domains]
Count=2
Layout=missing-range

[Replace]
Pattern=ping-pong
Rate=2
Duration=12s
# Kernel-log faults are placed by timestamp: a few ms of slack after each
# replacement keeps clock skew from putting a B fault on A.
SettleTime=5ms

[Traffic]
Engine=edu
Size=1024
Verify=yes

[Expect]
Faults=>0
DmaErrors=>0
ReplaceErrors=0
CONF
[[ -n $OUT ]] || fail "iommuctl run exited $RC: $ERR"
summary vfio-positive-control
dma=$(jgetc "$OUT" .backend_info.dma)
echo "dma: $dma"
echo "faults by source: $(jgetc "$OUT" .faults_by_source)"
[[ $(jget "$OUT" .state) == finished ]] || fail "state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
[[ $RC -eq 0 ]] || fail "verdict $(jget "$OUT" .verdict): $(jgetc "$OUT" '[.expectations[] | select(.pass | not)]')"
jget "$OUT" '.backend_info.domains | map(.maps_buffer) == [true, false]' >/dev/null ||
	fail "domains are not [maps, lacks]: $(jgetc "$OUT" .backend_info.domains)"
issued=$(jget "$dma" .transfers) ok=$(jget "$dma" .ok) errors=$(jget "$dma" .errors)
((ok + errors == issued)) || fail "transfers not accounted: ok $ok + failed $errors != issued $issued"
[[ $errors -gt 0 ]] || fail "no transfer failed although domain B lacks the DMA range"
[[ $ok -gt 0 ]] || fail "no transfer succeeded although domain A maps the DMA range"
verify=$(jget "$OUT" '.faults_by_source["dma-verify"].total')
[[ $verify -eq $errors ]] || fail "$errors failed transfers but $verify dma-verify faults"
[[ $(jget "$OUT" .dma_errors) -eq $errors ]] || fail "run counts $(jget "$OUT" .dma_errors) DMA errors, backend $errors"
[[ $(jget "$dma" '[.by_reason[]] | add') -eq $errors ]] || fail "failure reasons do not add up to $errors: $(jgetc "$dma" .by_reason)"

# The kernel saw the faults, and so did the daemon's kmsg reader. 6.12 prints
# the requester as [00:03.0], 7.2 with its PCI segment as [0000:00:03.0].
bdf_short=${EDU_BDF#0000:}
kernel_faults=$(kmsg_since "$mark" | grep -cE "DMAR: \[DMA .*device \[(0000:)?$bdf_short\]" || true)
echo "kernel log: $kernel_faults DMAR fault lines for $bdf_short (rate-limited by the kernel)"
# sed, not head: head exits after four lines and, under pipefail, grep's
# SIGPIPE (141) would fail the test whenever the kernel printed more.
kmsg_since "$mark" | grep 'DMAR: ' | sed -n 1,4p || true
[[ $kernel_faults -gt 0 ]] || fail "no DMAR fault line for $bdf_short in the kernel log"
kmsg=$(jget "$OUT" '.faults_by_source.kmsg.total')
[[ $kmsg -gt 0 ]] || fail "the daemon counted no kmsg fault, the kernel printed $kernel_faults"
f=$(ctl --json faults "$(jget "$OUT" .id)" --max=1000)
kf=$(jgetc "$f" '[.faults[] | select(.source == "kmsg")]')
[[ $(jget "$kf" length) -gt 0 ]] || fail "no kmsg fault record retained"
echo "first kmsg fault record: $(jgetc "$kf" '.[0]')"
jget "$kf" 'all(.attach_point == "RID")' >/dev/null ||
	fail "kmsg faults not attributed to the RID: $(jgetc "$kf" '[.[] | .attach_point] | unique')"
# Faults say which domain they happened on: every fault that can be placed is on B.
fd=$(jgetc "$OUT" '.attach_points[0].faults_by_domain')
echo "faults by domain: $fd, not placed (during a replacement): $(jget "$OUT" '.attach_points[0].faults_domain_unknown')"
[[ $(jget "$OUT" '.attach_points[0].faults_by_domain[0]') -eq 0 ]] || fail "faults placed on domain A, which maps the range: $fd"
[[ $(jget "$OUT" '.attach_points[0].faults_by_domain[1]') -gt 0 ]] || fail "no fault placed on domain B: $fd"
# The kernel log is a floor: a failed copy faults at most twice (its read and
# its write), and the count is flagged when the kernel suppressed lines.
echo "kmsg: $(jgetc "$OUT" .kmsg)"
((kmsg <= 2 * errors)) || fail "kmsg counted $kmsg faults for $errors failed copies"
if (($(jget "$OUT" .kmsg.suppressed) > 0)); then
	[[ $(jget "$OUT" .kmsg.lower_bound) == true ]] || fail "the kernel suppressed lines but kmsg is not marked a lower bound"
fi
# A stock kernel has no entry_sync trace events: said, not an error.
echo "tracefs: available=$(jget "$OUT" .tracefs.available) $(jget "$OUT" .tracefs.reason)"
echo "RESULT vfio-positive-control issued=$issued ok=$ok failed=$errors kmsg=$kmsg kernel_lines=$kernel_faults"
daemon_alive || fail "iommutestd died"
echo ok
