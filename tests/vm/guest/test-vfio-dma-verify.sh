#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# vfio backend with verified DMA while the RID is replaced between two
# identically mapped HWPTs: every transfer the edu engine issued is accounted
# for, as ok or as a failure, and every failure is a dma-verify fault. Whether
# a replacement under DMA is hitless is the kernel's business (6.12's VT-d
# driver blocks translation during the replace): failures are reported, and
# fail the test only with iommutest.expect_hitless=1 (host: VM_EXPECT_HITLESS=1).
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == iommu ]] || fail "needs the iommu profile (intel_iommu=on)"
require_backend vfio

run_scenario vfio-dma-verify <<CONF
[Scenario]
Description=VM tier: verified edu DMA while the RID ping-pongs between identical HWPTs
Backend=vfio
Device=$EDU_BDF
Bind=yes

[Domains]
Count=2
Layout=identical

[Replace]
Pattern=ping-pong
Rate=max
Duration=15s

[Traffic]
Engine=edu
Size=1024
Verify=yes

[Expect]
ReplaceErrors=0
DmaTransfers=>0
CONF
[[ -n $OUT ]] || fail "iommuctl run exited $RC: $ERR"
summary vfio-dma-verify
dma=$(jgetc "$OUT" .backend_info.dma)
echo "dma: $dma"
[[ $(jget "$OUT" .state) == finished ]] || fail "state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
[[ $RC -eq 0 ]] || fail "verdict $(jget "$OUT" .verdict): $(jgetc "$OUT" '[.expectations[] | select(.pass | not)]')"
issued=$(jget "$dma" .transfers) ok=$(jget "$dma" .ok) errors=$(jget "$dma" .errors)
[[ $issued -gt 0 ]] || fail "no DMA transfer ran"
((ok + errors == issued)) || fail "transfers not accounted: ok $ok + failed $errors != issued $issued"
[[ $(jget "$OUT" .dma_transfers) -eq $issued ]] || fail "run counts $(jget "$OUT" .dma_transfers) transfers, backend $issued"
[[ $(jget "$OUT" .dma_errors) -eq $errors ]] || fail "run counts $(jget "$OUT" .dma_errors) DMA errors, backend $errors"
verify=$(jget "$OUT" '.faults_by_source["dma-verify"].total')
[[ $verify -eq $errors ]] || fail "$errors failed transfers but $verify dma-verify faults"
[[ $(jget "$dma" '[.by_reason[]] | add') -eq $errors ]] || fail "failure reasons do not add up to $errors: $(jgetc "$dma" .by_reason)"
if ((errors)) && [[ ${IOMMUTEST_EXPECT_HITLESS:-0} == 1 ]]; then
	fail "$errors of $issued copies failed on a kernel expected to replace hitlessly"
fi
echo "RESULT vfio-dma-verify issued=$issued ok=$ok failed=$errors (during replace $(jget "$dma" .errors_during_replace)) replacements=$(jget "$OUT" .replacements)"
daemon_alive || fail "iommutestd died"
echo ok
