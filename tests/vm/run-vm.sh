#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-vm.sh [--kernel=lts|sid] [--profile=iommu|mock] [--bench] [--tests="a b …"] [--timeout=SECONDS] [--log-dir=DIR]
# run-vm.sh [--kernel=lts|sid] --kernel-only   just build-kernel.sh (skipping, like the boots, without QEMU)
#
# Boots the VM tier's guest under QEMU (TCG) and runs guest tests in it:
#   iommu  Intel IOMMU on, scalable mode (intel_iommu=on,sm_on): the vfio backend
#   mock   Intel IOMMU off (intel_iommu=off): the mock backend, whose
#          IOMMU_TEST_OP_MOCK_DOMAIN fails with EINVAL while the Intel IOMMU is on
# --bench boots the profile's benchmarks instead (bench-vfio; bench-mock,
# bench-mock-pasid) with QEMU's instruction counting, -icount
# shift=$VM_ICOUNT_SHIFT,sleep=off (default shift 2: a guest instruction is
# 4 ns of guest time): guest time then advances with the instructions the
# guest executes, so the daemon/bare ratios the guest measures in guest time
# do not depend on what the host does meanwhile. tests/vm/bench-vm.sh runs
# two such boots and compares them.
# The kernel comes from build-kernel.sh: --kernel=lts (default) is bookworm's
# linux-source-6.12, --kernel=sid the newest linux-source of Debian sid
# (KERNEL_TRACK; KERNEL= or KSRC= override both). The initramfs is built from
# the meson build directory ($IOMMUTESTD, $IOMMUCTL, $NOTIFY_CAPTURE,
# $BARE_REPLACE as meson sets them, or BUILD_DIR=).
#
# Every result is printed with the guest's kernel release ("[7.2.13] mock-pasid
# PASS"). A guest test may skip only because the kernel lacks a feature
# (lib.sh kernel_lacks: "SKIP: kernel 6.12.x lacks …"); the skip and its reason
# are listed, and any other skip fails the boot.
#
# Exit status: 0 when every test passed or skipped for a missing kernel
# feature; 77 only when QEMU is not installed; 1 for anything else (a test
# failed or skipped for another reason, the guest did not finish in time, the
# kernel warned or crashed).
#
# Environment: QEMU (default qemu-system-x86_64), VM_TIMEOUT (wall clock for
# each boot, default 600 s), VM_TEST_TIMEOUT (per test, default 300 s),
# VM_SMP (default 2), VM_MEM (default 2G), VM_APPEND (more kernel parameters),
# VM_EXPECT_HITLESS=1 (the kernel claims hitless replacement, e.g. with the
# entry_sync series: DMA failures under identical mappings fail the tests).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

# The tests each profile runs, in order. vfio-unbind stays last: it takes the
# device away mid-run, and one that does not come back would take the tests
# after it down too.
declare -A default_tests=(
	[iommu]="smoke vfio-replace vfio-dma-verify vfio-positive-control vtd-race vfio-nvme-positive-control vfio-pasid bad-inputs device-uevents vfio-nvme vfio-unbind"
	[mock]="smoke mock-replace mock-pasid mock-pasid-errors mock-iopf bad-inputs"
)
# The benchmark boots' tests (--bench).
declare -A bench_tests=(
	[iommu]="bench-vfio"
	[mock]="bench-mock bench-mock-pasid"
)
declare -A profile_append=(
	[iommu]="intel_iommu=on,sm_on"
	[mock]="intel_iommu=off"
)

profile=iommu tests='' log_dir='' kernel_only='' bench='' track=${KERNEL_TRACK:-lts}
timeout=${VM_TIMEOUT:-600}
for arg; do
	case $arg in
	--profile=*) profile=${arg#*=} ;;
	--kernel=*) track=${arg#*=} ;;
	--tests=*) tests=${arg#*=} ;;
	--timeout=*) timeout=${arg#*=} ;;
	--log-dir=*) log_dir=${arg#*=} ;;
	--kernel-only) kernel_only=1 ;;
	--bench) bench=1 ;;
	-h | --help)
		sed -n '3,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "run-vm.sh: unknown argument '$arg' (see --help)" >&2
		exit 2
		;;
	esac
done
[[ -n ${profile_append[$profile]:-} ]] || {
	echo "run-vm.sh: unknown profile '$profile' (iommu or mock)" >&2
	exit 2
}
[[ $track == lts || $track == sid ]] || {
	echo "run-vm.sh: unknown kernel '$track' (lts or sid)" >&2
	exit 2
}
export KERNEL_TRACK=$track
if [[ -n $bench ]]; then
	tests=${tests:-${bench_tests[$profile]}}
	icount_shift=${VM_ICOUNT_SHIFT:-2}
	[[ $icount_shift =~ ^[0-9]$|^10$ ]] || {
		echo "run-vm.sh: VM_ICOUNT_SHIFT=$icount_shift: QEMU's -icount shift is 0 to 10" >&2
		exit 2
	}
fi
tests=${tests:-${default_tests[$profile]}}
tests=$(echo $tests | tr ' ' ',')
[[ $tests =~ ^[a-z0-9,-]+$ ]] || {
	echo "run-vm.sh: test names are [a-z0-9-]: '$tests'" >&2
	exit 2
}

qemu=${QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null; then
	echo "SKIP: $qemu is not installed (contrib/install-deps.sh --vm installs qemu-system-x86)"
	exit 77
fi

if [[ -n $kernel_only ]]; then
	exec "$here/build-kernel.sh"
fi

# KERNEL= and KSRC= replace the track's kernel: say so in every line.
if [[ -n ${KERNEL:-}${KSRC:-} ]]; then
	tag="vm-custom-$profile"
else
	tag="vm-$track-$profile"
fi
[[ -n $bench ]] && tag+="-bench"
T=$(mktemp -d "${TMPDIR:-/tmp}/iommutest-vm.XXXXXX")
qemu_pid=
nvme_img=
cleanup() {
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill -KILL "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	[[ -n $nvme_img ]] && rm -f "$nvme_img"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

kernel=$("$here/build-kernel.sh") || {
	echo "$tag: FAIL: no kernel (build-kernel.sh failed)"
	exit 1
}
"$here/build-initramfs.sh" "$T/initramfs.cpio.gz" || {
	echo "$tag: FAIL: building the initramfs failed"
	exit 1
}

append="console=ttyS0 printk.time=1 panic=-1 oops=panic ${profile_append[$profile]}"
# Under TCG on a busy (or itself virtual) host a vCPU can go unscheduled for
# many seconds: the RCU stall, lockup and hung-task detectors then report the
# emulator, not the kernel under test. Oopses, BUGs and panics still count.
append+=" rcupdate.rcu_cpu_stall_suppress=1 nowatchdog sysctl.kernel.hung_task_timeout_secs=0"
append+=" iommutest.profile=$profile iommutest.timeout=${VM_TEST_TIMEOUT:-300}"
[[ ${VM_EXPECT_HITLESS:-0} == 1 ]] && append+=" iommutest.expect_hitless=1"
[[ -n $bench ]] && append+=" iommutest.icount=$icount_shift"
append+=" ${VM_APPEND:-}"
# The emulated NVMe controller's namespace: a raw image of data that is not
# zeros (null-co would read zeros, which a missed DMA can pass for), on tmpfs
# where there is one so that its I/O costs no disk.
shm=/dev/shm
[[ -d $shm && -w $shm ]] || shm=$T
nvme_img=$(mktemp "$shm/iommutest-nvme.XXXXXX")
head -c "${VM_NVME_SIZE:-64M}" /dev/urandom >"$nvme_img"
# The IOMMU comes first: QEMU wants it before the PCI devices it translates.
# The edu device and the NVMe controller sit at fixed addresses the guest
# tests know (00:03.0, 00:04.0); the guest kernel has no NVMe driver, so the
# controller is free for vfio-pci.
qemu_cmd() { # TESTS [MORE-APPEND]: the command line of one boot running TESTS
	cmd=("$qemu" -accel tcg -cpu max -smp "${VM_SMP:-2}" -m "${VM_MEM:-2G}"
		-machine q35,kernel-irqchip=split -nodefaults -no-user-config
		-device intel-iommu,intremap=on,x-scalable-mode=on
		-device edu,addr=03.0
		-drive "file=$nvme_img,if=none,id=nvm0,format=raw"
		-device nvme,addr=04.0,serial=iommutest0,drive=nvm0
		-kernel "$kernel" -initrd "$T/initramfs.cpio.gz" -append "$append iommutest.tests=$1${2:-}"
		-nographic -no-reboot -monitor none
		-serial "file:$T/console.log" -serial "file:$T/results.log")
	# sleep=off: an idle guest's clock jumps to its next timer instead of
	# following the host's, so a run's guest time is its instructions only.
	[[ -n $bench ]] && cmd+=(-icount "shift=$icount_shift,sleep=off")
	return 0
}

# Tests during which QEMU 7.2 itself is known to crash (SIGSEGV), through no
# fault of the guest: vfio-nvme's race makes the emulated controller DMA
# through PASID entries the guest kernel is rewriting, and QEMU 7.2 reads the
# entry without caching it or reading it atomically (docs/testing.md). When
# QEMU 7.2 dies of SIGSEGV while one of these runs (begun, not ended: the
# guest prints IOMMUTEST-END as soon as a test exits, so a verdict that was
# reached cannot be lost to a crash after it), the crash is reported (NOTE,
# with QEMU's last words; its whole log goes to --log-dir) and a second boot
# runs that test and those after it; a second crash fails the boot. Any other
# QEMU crash, and any crash of another QEMU version, fails it at once. The
# second boot's kernel command line says iommutest.after_qemu_crash=TEST, and
# TEST leaves out the part that crashed QEMU, saying so (vfio-nvme: its race).
qemu_crash_resume=" vfio-nvme "
qemu_version=$("$qemu" --version 2>/dev/null | sed -n 's/^QEMU emulator version \([0-9][0-9.]*\).*/\1/p')

pdeath=()
setpriv --pdeathsig KILL true 2>/dev/null && pdeath=(setpriv --pdeathsig KILL)
echo "$tag: kernel $kernel"
echo "$tag: tests: ${tests//,/ }"
start=$SECONDS
remaining=$tests boots=0 resumed=()
: >"$T/results.all"
: >"$T/console.all"
while :; do
	boots=$((boots + 1))
	qemu_cmd "$remaining" "${resumed[*]:+ iommutest.after_qemu_crash=${resumed[*]}}"
	echo "$tag: boot $boots: ${cmd[*]}"
	rm -f "$T/console.log" "$T/results.log"
	boot_start=$SECONDS
	# QEMU dies with this script even when it is killed without a chance to clean up.
	"${pdeath[@]}" "${cmd[@]}" </dev/null >"$T/qemu.log" 2>&1 &
	qemu_pid=$!
	timed_out=
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if ((SECONDS - boot_start >= timeout)); then
			timed_out=1
			kill -KILL "$qemu_pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	qemu_rc=0
	wait "$qemu_pid" || qemu_rc=$?
	qemu_pid=

	tr -d '\r' <"$T/results.log" >"$T/results" 2>/dev/null || : >"$T/results"
	tr -d '\r' <"$T/console.log" >"$T/console" 2>/dev/null || : >"$T/console"
	# No second serial port in the guest: the results came on the console.
	grep -q '^IOMMUTEST-' "$T/results" || cp "$T/console" "$T/results"
	if ((boots > 1)); then
		echo "---- boot $boots ----" >>"$T/console.all"
		echo "---- boot $boots ----" >>"$T/results.all"
	fi
	cat "$T/console" >>"$T/console.all"
	cat "$T/results" >>"$T/results.all"
	cp "$T/qemu.log" "$T/qemu.boot$boots.log"

	# The test QEMU died in: begun in this boot, no result.
	crashed=$(awk '$1 == "IOMMUTEST-BEGIN" { t = $2 } ($1 == "IOMMUTEST-END" || $1 == "IOMMUTEST-RESULT") && $2 == t { t = "" } END { print t }' "$T/results")
	if [[ -z $timed_out && $qemu_rc -eq 139 && $qemu_version == 7.2.* && -n $crashed &&
		$qemu_crash_resume == *" $crashed "* && ${#resumed[@]} -eq 0 ]]; then
		resumed+=("$crashed")
		echo "$tag: NOTE: QEMU $qemu_version died of signal $((qemu_rc - 128)) during $crashed (a QEMU 7.2 defect, see docs/testing.md); its last words: $(tail -n 3 "$T/qemu.log" | tr '\n' ' ')"
		remaining=$(echo "$remaining" | tr ',' '\n' | sed -n "/^$crashed\$/,\$p" | paste -sd,)
		echo "$tag: NOTE: booting again for: ${remaining//,/ }"
		continue
	fi
	break
done
elapsed=$((SECONDS - start))
mv "$T/results.all" "$T/results"
mv "$T/console.all" "$T/console"

if [[ -n $log_dir ]]; then
	mkdir -p "$log_dir"
	cp "$T/console" "$log_dir/$tag-console.log" 2>/dev/null || true
	cp "$T/results" "$log_dir/$tag-results.log" 2>/dev/null || true
	for ((b = 1; b <= boots; b++)); do
		cp "$T/qemu.boot$b.log" "$log_dir/$tag-qemu$( ((boots > 1)) && echo ".boot$b").log" 2>/dev/null || true
	done
fi

# The guest's output: each test's lines and its result.
echo "---- guest ($tag) ----"
grep -v '^IOMMUTEST-DONE' "$T/results" || true
echo "----"

problems=()
[[ -n $timed_out ]] && problems+=("QEMU did not finish within ${timeout}s and was killed")
[[ -z $timed_out && $qemu_rc -ne 0 ]] && problems+=("QEMU exited with status $qemu_rc: $(tail -n 3 "$T/qemu.log" | tr '\n' ' ')")
grep -q '^IOMMUTEST-DONE' "$T/results" || problems+=("the guest did not finish its tests")

# The guest kernel's release labels every result.
release=$(sed -n 's/^IOMMUTEST-GUEST kernel \([^ ,]*\),.*/\1/p' "$T/results" | sed -n 1p)
release=${release:-unknown}

# Every test asked for must have passed, or skipped for a feature this kernel lacks.
declare -A res=() why=() secs=()
while read -r _ name verdict t reason; do
	res[$name]=$verdict secs[$name]=$t why[$name]=$reason
done < <(grep '^IOMMUTEST-RESULT ' "$T/results")
npass=0 nskip=0 failed_tests=()
echo "---- results on kernel $release ($tag) ----"
for t in ${tests//,/ } ; do
	printf '[%s] %-24s %-4s %6s %s\n' "$release" "$t" "${res[$t]:-none}" "${secs[$t]:-}" "${why[$t]:-}"
	case ${res[$t]:-none} in
	PASS) npass=$((npass + 1)) ;;
	SKIP)
		if [[ ${why[$t]} == "kernel $release lacks "* ]]; then
			nskip=$((nskip + 1))
		else
			problems+=("$t: skipped for a reason other than a missing kernel feature: ${why[$t]}")
		fi
		;;
	none) problems+=("$t: no result") ;;
	*)
		problems+=("$t: ${res[$t]} ${why[$t]}")
		failed_tests+=("$t")
		;;
	esac
done
[[ -n ${res[setup]:-} ]] && problems+=("guest setup: $(grep '^IOMMUTEST-RESULT setup' "$T/results" | cut -d' ' -f4-)")

# The kernel's view: IOMMU faults help explain a failure; warnings and crashes are one.
faultre='DMAR: \[(DMA|INTR)|IO_PAGE_FAULT|vfio-pci .*(device request|blocked until released)'
if grep -qE "$faultre" "$T/console"; then
	suppressed=$(sed -n 's/.*dmar_fault: \([0-9]*\) callbacks suppressed.*/\1/p' "$T/console" | awk '{ s += $1 } END { print s + 0 }')
	echo "---- kernel log: IOMMU faults and vfio device requests ($(grep -cE "$faultre" "$T/console") printed, $suppressed more suppressed by the kernel's rate limit; first 20) ----"
	# grep -m, not a pipe into head: head leaves after 20 lines and, under
	# pipefail, grep's SIGPIPE (141) would end this script and fail the tier.
	grep -m 20 -E "$faultre" "$T/console"
fi
if grep -qE 'WARNING: |BUG: |Oops|Kernel panic|general protection fault|Call Trace:' "$T/console"; then
	problems+=("the guest kernel warned or crashed (see below)")
	echo "---- kernel log: warnings and crashes ----"
	grep -E -A 25 'WARNING: |BUG: |Oops|Kernel panic|general protection fault' "$T/console" | sed -n 1,120p
fi

echo "$tag: kernel $release: $npass of $(echo ${tests//,/ } | wc -w) tests passed, $nskip skipped (kernel lacks the feature); $boots boot(s) took ${elapsed}s${resumed:+ (QEMU crashed during ${resumed[*]} and was booted again)}"
if ((${#problems[@]})); then
	echo "---- serial console (last 40 lines) ----"
	tail -n 40 "$T/console"
	[[ -s $T/qemu.log ]] && { echo "---- QEMU ----"; cat "$T/qemu.log"; }
	# Last, next to the verdicts: meson prints only a failed test's last 100
	# lines, and what a failed guest test and the daemon said is the why.
	for t in "${failed_tests[@]}"; do
		echo "---- output of $t (last 25 lines) ----"
		sed -n "/^IOMMUTEST-BEGIN $t\$/,/^IOMMUTEST-RESULT $t /p" "$T/results" | grep -v '^IOMMUTEST-' | tail -n 25 || true
	done
	if grep -q '^--- iommutestd log (tail)$' "$T/results"; then
		echo "---- iommutestd log (last 20 lines) ----"
		sed -n '/^--- iommutestd log (tail)$/,/^IOMMUTEST-DONE/p' "$T/results" | grep -v '^IOMMUTEST-DONE\|^--- iommutestd log' | tail -n 20 || true
	fi
	echo "----"
	for p in "${problems[@]}"; do echo "$tag [$release]: FAIL: $p"; done
	[[ -n $log_dir ]] && echo "$tag: logs: $log_dir/$tag-console.log, $log_dir/$tag-results.log"
	exit 1
fi
echo "$tag: PASS"
