#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Engine=nvme on QEMU's emulated controller (run-vm.sh: -device nvme at
# 00:04.0, a 64 MiB namespace of random data): the daemon's own NVMe driver
# keeps verified reads in flight while the RID is replaced between identical
# HWPTs (contrib/scenarios/vfio-nvme-race.conf). What the kernel's replace
# path does to those reads is information, as vtd-race reports it; asserted
# is that the measurement holds together: the run finishes, every command is
# accounted, the controller is identified as QEMU's with the namespace it
# was given, and the controller is back on no driver afterwards.
#
# Then the benchmark of issue 11, in this boot: verified commands per second
# while replacing and while nearly idle (one replacement a second), and edu's
# copies per second, printed as one "bench-nvme:" line (target: 2000/s while
# replacing under TCG).
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == iommu ]] || fail "needs the iommu profile (intel_iommu=on)"
require_backend vfio
conf=$SCENARIO_DIR/vfio-nvme-race.conf
[[ -f $conf ]] || fail "missing example scenario contrib/scenarios/vfio-nvme-race.conf"
[[ -e /sys/bus/pci/devices/$NVME_BDF ]] || fail "no NVMe controller at $NVME_BDF (run-vm.sh adds one)"
[[ $(cat "/sys/bus/pci/devices/$NVME_BDF/class") == 0x010802 ]] ||
	fail "$NVME_BDF is class $(cat "/sys/bus/pci/devices/$NVME_BDF/class"), not an NVMe controller"
[[ -z $(pci_driver "$NVME_BDF") ]] || fail "$NVME_BDF is bound to $(pci_driver "$NVME_BDF") before the run"

# run_conf NAME CONF --set=…: one run, its result in OUT; the run must finish.
run_conf() {
	local name=$1 file=$2
	shift 2
	ctl_run "$name" "$@" "$file"
	summary "$name"
	[[ $(jget "$OUT" .state) == finished ]] || fail "$name: state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
	[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "$name: $(jget "$OUT" .replace_errors) replacements failed"
}
# Verified commands (or copies) per second of the run in OUT.
per_second() {
	jget "$OUT" '(.backend_info.dma.ok) / (.elapsed_usec / 1e6) | floor'
}

# The race seen through each engine: faults during replacements per minute.
per_minute() {
	jget "$OUT" '.faults_during_replace / (.elapsed_usec / 6e7) | floor'
}
# The same traffic with one replacement a second: the controller's own pace.
run_conf vfio-nvme-idle "$conf" --set=Scenario.Device="$NVME_BDF" --set=Replace.Rate=1 --set=Replace.Duration=5s
idle=$(per_second)
# NAME DMA: a run of the engine alone (no replacement: see below), its
# commands verified and every one accounted.
nvme_accounted() {
	[[ $(jget "$OUT" .replacements) -eq 0 ]] || fail "$1: $(jget "$OUT" .replacements) replacements, expected none"
	(($(jget "$2" .ok) > 0)) || fail "$1: no NVMe command verified: $2"
	(($(jget "$2" .ok) + $(jget "$2" .errors) == $(jget "$2" .transfers))) || fail "$1: commands not accounted: $2"
	# Nothing was replaced: a failed command is the driver's or the controller's fault.
	(($(jget "$2" .errors) == 0)) || fail "$1: $(jget "$2" .errors) commands failed with the attachment at rest: $2"
}
# The runs below measure the engine, not the race: Rate=0.1 for 3 s makes no
# replacement at all (the first would come at 10 s). Each replacement under
# NVMe traffic risks QEMU 7.2's crash (docs/testing.md): two boots of two
# crashed when these runs replaced at 1/s.
#
# The commands in flight spread over four I/O queue pairs (Queues=4, 16
# commands: MapSize= holds their buffers), on the queues asked for.
run_conf vfio-nvme-queues "$conf" --set=Scenario.Device="$NVME_BDF" --set=Replace.Rate=0.1 --set=Replace.Duration=3s \
	--set=Traffic.Queues=4 --set=Domains.MapSize=64K
dma=$(jgetc "$OUT" .backend_info.dma)
[[ $(jget "$dma" .nvme.queues) -eq 4 ]] || fail "vfio-nvme-queues: $(jget "$dma" .nvme.queues) queues, asked for 4"
(($(jget "$dma" .nvme.queues_granted) >= 4)) || fail "vfio-nvme-queues: QEMU granted $(jget "$dma" .nvme.queues_granted) queue pairs"
nvme_accounted vfio-nvme-queues "$dma"
queues4=$(per_second)
echo "RESULT vfio-nvme-queues queues=4 granted=$(jget "$dma" .nvme.queues_granted) in_flight=$(jget "$dma" .nvme.commands_in_flight) verified_per_s=$queues4 (1 queue: $idle/s)"
# Completions by polling against MSI-X (NvmeCompletions=msix: vfio-pci's
# vector 0 eventfd, whose interrupts the guest kernel counts in
# /proc/interrupts while the run holds them): three alternating pairs of
# 3 s runs, the median of each way, so that the default is chosen by
# measurement (docs/scenarios.md).
msix_irqs() { awk -v tag="vfio-msix[0]($NVME_BDF)" 'index($0, tag) { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) s += $i } END { print s + 0 }' /proc/interrupts; }
rates_poll=() rates_msix=()
for round in 1 2 3; do
	for how in poll msix; do
		[[ $how == msix ]] && ( sleep 2; msix_irqs >"$T/msix-irqs" ) &
		run_conf "vfio-nvme-$how-$round" "$conf" --set=Scenario.Device="$NVME_BDF" --set=Replace.Rate=0.1 \
			--set=Replace.Duration=3s --set=Traffic.NvmeCompletions=$how
		wait
		dma=$(jgetc "$OUT" .backend_info.dma)
		[[ $(jget "$dma" .nvme.completions) == "$how" ]] || fail "vfio-nvme-$how: completions $(jget "$dma" .nvme.completions)"
		nvme_accounted "vfio-nvme-$how-$round" "$dma"
		if [[ $how == msix ]]; then
			irqs=$(cat "$T/msix-irqs")
			((irqs > 0)) || fail "vfio-nvme-msix: no vfio-msix interrupt of $NVME_BDF in /proc/interrupts 2 s into the run"
			rates_msix+=("$(per_second)")
		else
			rates_poll+=("$(per_second)")
		fi
	done
done
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
poll=$(median3 "${rates_poll[@]}") msix=$(median3 "${rates_msix[@]}")
echo "RESULT vfio-nvme-completions poll=$poll msix=$msix verified_per_s (medians of ${rates_poll[*]} / ${rates_msix[*]}) msix_interrupts_at_2s=$irqs ratio=$(awk -v a="$msix" -v b="$poll" 'BEGIN { printf "%.2f", a / b }')"
# edu in the same boot, for scale.
run_conf vfio-edu-scale "$SCENARIO_DIR/vfio-edu-replace.conf" --set=Scenario.Device="$EDU_BDF" \
	--set=Replace.Count= --set=Replace.Duration=5s
edu=$(jget "$OUT" '(.backend_info.dma.ok) / (.elapsed_usec / 1e6) * 10 | floor / 10')
edu_fpm=$(per_minute)

# Last: a race run with many controller resets was once seen to leave QEMU 7.2's
# controller failing later reads with Invalid Namespace (docs/testing.md).
# Replacements at 100/s by default, not the scenario's max: at full speed
# QEMU 7.2 was seen to crash (SIGSEGV) on 7.2.13, walking guest page 0 as a
# page table through a PASID entry caught mid-rewrite, and at 1000/s it
# crashed in three CI boots of four on 7.2.13, each time within 0.2 s of the
# race's first queue-fetch fault (iommutest.nvme_race_rate=N|max on the
# kernel command line, host: VM_APPEND=…, sets the rate).
race_rate=${IOMMUTEST_NVME_RACE_RATE:-100}
[[ $race_rate =~ ^([0-9]+|max)$ ]] || fail "iommutest.nvme_race_rate=$race_rate: a number or max"
# The boot after QEMU 7.2 crashed in this race (run-vm.sh boots again once):
# everything but the race, which is not run again, and the crash said loudly.
if [[ ${IOMMUTEST_AFTER_QEMU_CRASH:-} == vfio-nvme ]]; then
	echo "NOTE: QEMU 7.2 crashed (SIGSEGV) during this race in the previous boot (a QEMU defect, docs/testing.md):" \
		"the race is not run again in this boot; the idle and edu baselines above passed"
	echo "RESULT vfio-nvme-race kernel=$(uname -r) not-run=qemu-crashed"
	echo "bench-nvme: $idle verified commands/s idle; edu $edu/s; while replacing: not measured (QEMU crashed)"
	echo "RESULT bench-nvme replacing=none idle=$idle edu=$edu target=2000 missed"
	[[ -z $(pci_driver "$NVME_BDF") ]] || fail "$NVME_BDF is still bound to $(pci_driver "$NVME_BDF") after the runs"
	daemon_alive || fail "iommutestd died"
	echo ok
	exit 0
fi
run_conf vfio-nvme-race "$conf" --set=Scenario.Device="$NVME_BDF" --set=Replace.Duration=10s \
	--set=Replace.Rate="$race_rate"
dma=$(jgetc "$OUT" .backend_info.dma)
nvme=$(jgetc "$dma" .nvme)
echo "nvme: $nvme"
(($(jget "$dma" .ok) + $(jget "$dma" .errors) == $(jget "$dma" .transfers))) || fail "commands not accounted: $dma"
[[ $(jget "$dma" .transfers) -gt 0 ]] || fail "no NVMe command completed"
[[ $(jget "$dma" '[.by_reason[]] | add') -eq $(jget "$dma" .errors) ]] || fail "failure reasons do not add up: $(jgetc "$dma" .by_reason)"
[[ $(jget "$nvme" .model) == "QEMU NVMe Ctrl" ]] || fail "model '$(jget "$nvme" .model)', expected QEMU's"
[[ $(jget "$nvme" .serial) == iommutest0 ]] || fail "serial '$(jget "$nvme" .serial)', run-vm.sh gave iommutest0"
[[ $(jget "$nvme" .lba_size) -eq 512 && $(jget "$nvme" .namespace_blocks) -eq $((64 * 2048)) ]] ||
	fail "namespace is $(jget "$nvme" .namespace_blocks) blocks of $(jget "$nvme" .lba_size) bytes, expected 131072 of 512"
[[ $(jget "$nvme" .mode) == read-verify ]] || fail "mode $(jget "$nvme" .mode)"
[[ $(jget "$dma" .queue_iova) -ne $(jget "$dma" .data_iova) ]] || fail "queues and data at one IOVA"
replacing=$(per_second)
nvme_fpm=$(per_minute)
echo "RESULT vfio-nvme-race kernel=$(uname -r) replacements=$(jget "$OUT" .replacements) rate=$(jget "$OUT" '.rate | floor')/s" \
	"commands=$(jget "$dma" .transfers) failed=$(jget "$dma" .errors) by_reason=$(jgetc "$dma" '.by_reason | with_entries(select(.value > 0))')" \
	"faults_during_replace=$(jget "$OUT" .faults_during_replace) faults_at_rest=$(jget "$OUT" .faults_at_rest)" \
	"resets=$(jget "$nvme" .resets) verified_per_s=$replacing"
if (($(jget "$dma" .errors) > 0)); then
	echo "NOTE: $(jget "$dma" .errors) of $(jget "$dma" .transfers) NVMe commands failed while the RID was replaced between identical HWPTs:" \
		"this kernel's replace path is not hitless (information, as vtd-race reports it)"
fi
[[ -z $(pci_driver "$NVME_BDF") ]] || fail "$NVME_BDF is still bound to $(pci_driver "$NVME_BDF") after the run (Bind=yes must give it back)"

echo "bench-nvme: $replacing verified commands/s while replacing at $race_rate/s ($idle/s idle; edu $edu/s)"
echo "bench-nvme: the race's faults during replacements per minute: nvme $nvme_fpm, edu $edu_fpm (kernel $(uname -r))"
echo "RESULT bench-nvme replacing=$replacing idle=$idle edu=$edu race_faults_per_min_nvme=$nvme_fpm race_faults_per_min_edu=$edu_fpm target=2000 $( ((replacing >= 2000)) && echo met || echo missed)"
daemon_alive || fail "iommutestd died"
echo ok
