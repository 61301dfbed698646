#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The race on this kernel, as information (contrib/scenarios/vtd-replace-race.conf):
# edu's RID replaced between identically mapped HWPTs under verified DMA. How
# many copies fail during replacements is what the kernel under test decides
# (6.12 blocks translation while it attaches), so the numbers are printed, not
# asserted; what is asserted is that the measurement itself holds together.
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == iommu ]] || fail "needs the iommu profile (intel_iommu=on)"
require_backend vfio
conf=$SCENARIO_DIR/vtd-replace-race.conf
[[ -f $conf ]] || fail "missing example scenario contrib/scenarios/vtd-replace-race.conf"

ctl_run vtd-replace-race --set=Scenario.Device="$EDU_BDF" --set=Replace.Duration=10s "$conf"
summary vtd-replace-race
[[ $(jget "$OUT" .state) == finished ]] || fail "state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "$(jget "$OUT" .replace_errors) replacements failed"
dma=$(jgetc "$OUT" .backend_info.dma)
(($(jget "$dma" .ok) + $(jget "$dma" .errors) == $(jget "$dma" .transfers))) || fail "transfers not accounted: $dma"
echo "kmsg: $(jgetc "$OUT" .kmsg)"
echo "RESULT vtd-replace-race kernel=$(uname -r) replacements=$(jget "$OUT" .replacements) rate=$(jget "$OUT" '.rate | floor')/s" \
	"copies=$(jget "$OUT" .dma_transfers) failed=$(jget "$OUT" .dma_errors)" \
	"faults_during_replace=$(jget "$OUT" .faults_during_replace) faults_at_rest=$(jget "$OUT" .faults_at_rest)" \
	"kmsg_lines=$(jget "$OUT" .kmsg.fault_lines) kmsg_lower_bound=$(jget "$OUT" .kmsg.lower_bound)"
daemon_alive || fail "iommutestd died"
echo ok
