#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Benchmark, printed only: the daemon's vfio replacement rate (edu RID
# ping-pong between two identically mapped HWPTs, no DMA) against the bare
# VFIO_DEVICE_ATTACH_IOMMUFD_PT loop on the same device and domains.
. /iommutest/lib.sh
. /iommutest/bench.sh
[[ $IOMMUTEST_PROFILE == iommu ]] || fail "needs the iommu profile (intel_iommu=on)"
require_backend vfio
BENCH_BACKEND=vfio
BENCH_SECONDS=${BENCH_SECONDS:-1}

pci_bind_vfio "$EDU_BDF" || fail "cannot bind $EDU_BDF to vfio-pci"
trap 'pci_release "$EDU_BDF"; rm -rf "$T"' EXIT

bench_bare() {
	bare-replace vfio "$EDU_BDF" "$BENCH_SECONDS" 2>&1
}
bench_daemon() {
	run_scenario bench-vfio <<CONF
[Scenario]
Backend=vfio
Device=$EDU_BDF
Bind=no
[Domains]
Count=2
Layout=identical
[Replace]
Pattern=ping-pong
Rate=max
Duration=${BENCH_SECONDS}s
[Traffic]
Engine=none
CONF
}
bench
echo ok
