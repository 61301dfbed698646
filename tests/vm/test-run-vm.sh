#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run-vm.sh's verdicts, against fake-qemu.sh instead of QEMU (no kernel is
# built: KERNEL= is any file). What it checks: a boot whose tests pass
# passes; a failing test fails it; QEMU dying of SIGSEGV during vfio-nvme
# (QEMU 7.2's known crash) is reported and a second boot runs the tests from
# there on; a second crash fails the boot; a crash during any other test
# fails it at once, with no second boot. And bench-vm.sh's comparison of two
# benchmark boots: within the tolerance passes, beyond it fails.
set -euo pipefail
# What the cases below set themselves, not taken from the caller.
unset RUNNER TESTS TAIL EXTRA BENCH_REPRO_POINTS BENCH_REPRO_POINTS_CONTENDED VM_ICOUNT_SHIFT VM_APPEND KSRC \
	VM_EXPECT_HITLESS ${!FAKE_QEMU_*}
here=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/test-run-vm.XXXXXX")
trap 'rm -rf "$W"' EXIT
: >"$W/bzImage"
export QEMU=$here/fake-qemu.sh KERNEL=$W/bzImage VM_TIMEOUT=60 VM_NVME_SIZE=4K
failures=0

# Every case builds the guest's initramfs: without the tools for it (busybox-static,
# cpio, …: contrib/install-deps.sh --vm) no case can run, which is a skip, not a failure.
if ! probe=$("$here/build-initramfs.sh" "$W/probe.cpio.gz" 2>&1); then
	echo "SKIP: the initramfs cannot be built here: $(tail -n 1 <<<"$probe")"
	exit 77
fi
rm -f "$W/probe.cpio.gz"

# expect NAME RC PATTERN… -- ENV…: run-vm.sh with ENV; its status must be RC
# and its output must match every PATTERN (grep -E), or, with a leading !, none.
expect() {
	local name=$1 want=$2 rc=0
	shift 2
	local pats=()
	while [[ $1 != -- ]]; do pats+=("$1"); shift; done
	shift
	rm -f "$W/state"
	env FAKE_QEMU_STATE="$W/state" "$@" ${RUNNER:-$here/run-vm.sh} --profile=iommu \
		--tests="${TESTS:-smoke vfio-nvme vfio-unbind}" ${EXTRA:-} >"$W/out" 2>&1 || rc=$?
	# With TAIL=N the patterns must match within the last N lines (what meson
	# shows of a failed test).
	[[ -z ${TAIL:-} ]] || { tail -n "$TAIL" "$W/out" >"$W/out.tail" && mv "$W/out.tail" "$W/out"; }
	local ok=1
	((rc == want)) || { echo "$name: exit status $rc, expected $want"; ok=0; }
	for p in "${pats[@]}"; do
		if [[ $p == '!'* ]]; then
			! grep -qE -- "${p#!}" "$W/out" || { echo "$name: output matches '${p#!}'"; ok=0; }
		else
			grep -qE -- "$p" "$W/out" || { echo "$name: output lacks '$p'"; ok=0; }
		fi
	done
	if ((ok)); then
		echo "ok: $name"
	else
		failures=$((failures + 1))
		sed 's/^/    /' "$W/out"
	fi
}

expect all-pass 0 'vm-custom-iommu: PASS' '3 of 3 tests passed' '1 boot\(s\)' '!NOTE' --
expect test-fails 1 'FAIL: vfio-unbind: FAIL told to' -- FAKE_QEMU_FAIL=vfio-unbind
# What the failed test and the daemon said, within what meson shows.
TAIL=100 expect test-fails-says-why 1 '^---- output of vfio-unbind \(last 25 lines\)' 'vfio-unbind output line 130' \
	'!vfio-unbind output line 50$' '^FAIL: told to' 'Run 10 refused: told to' 'FAIL: vfio-unbind: FAIL told to' \
	-- FAKE_QEMU_FAIL=vfio-unbind
expect nvme-crash-once 0 'NOTE: QEMU 7.2.13 died of signal 11 during vfio-nvme' 'slpte permission error \(boot 1\)' \
	'booting again for: vfio-nvme vfio-unbind' 'cmdline .*iommutest.tests=vfio-nvme,vfio-unbind iommutest.after_qemu_crash=vfio-nvme' '3 of 3 tests passed' '2 boot\(s\)' 'vm-custom-iommu: PASS' \
	-- FAKE_QEMU_CRASH=vfio-nvme
expect nvme-crash-twice 1 'NOTE: QEMU 7.2.13 died of signal 11 during vfio-nvme' 'FAIL: QEMU exited with status 139' \
	'FAIL: vfio-nvme: no result' 'FAIL: vfio-unbind: no result' -- FAKE_QEMU_CRASH=vfio-nvme FAKE_QEMU_CRASHES=2
expect failed-before-crash 1 'NOTE: QEMU 7.2.13 died of signal 11 during vfio-nvme' 'FAIL: smoke: FAIL told to' \
	-- FAKE_QEMU_CRASH=vfio-nvme FAKE_QEMU_FAIL=smoke
expect crash-after-end 1 'FAIL: QEMU exited with status 139' 'FAIL: vfio-nvme: no result' '!NOTE' '!boot 2' \
	-- FAKE_QEMU_CRASH_AFTER=vfio-nvme
expect other-qemu-crash 1 'FAIL: QEMU exited with status 139' '!NOTE' -- FAKE_QEMU_CRASH=vfio-nvme FAKE_QEMU_VERSION=8.2.2
expect smoke-crash 1 'FAIL: QEMU exited with status 139' 'FAIL: smoke: no result' '!NOTE' '!boot 2' \
	-- FAKE_QEMU_CRASH=smoke
expect resumed-boot-fails 1 'booting again' 'FAIL: vfio-unbind: FAIL told to' \
	-- FAKE_QEMU_CRASH=vfio-nvme FAKE_QEMU_FAIL=vfio-unbind

RUNNER=$here/bench-vm.sh TESTS=bench-vfio
expect bench-repro 0 'vm-custom-iommu-bench: PASS' 'bench-fake +boot 1 +95.0% .* boot 2 +95.8% .*difference 0.8 points \(tolerance 1\): ok' \
	'bench-fake-pasid workers=4 .*difference 2.5 points \(tolerance 3\): ok' 'every ratio of boot 1 is within' \
	-- FAKE_QEMU_RATIOS="95.0 95.8" FAKE_QEMU_RATIOS_CONTENDED="90.0 92.5"
# Each benchmark boot keeps its own logs.
EXTRA=--log-dir=$W/logs expect bench-logs 0 'vm-custom-iommu-bench: PASS' -- FAKE_QEMU_RATIOS="95.0 95.8"
for b in 1 2; do
	if [[ ! -s $W/logs/boot$b/vm-custom-iommu-bench-results.log ]]; then
		echo "bench-logs: no results log of boot $b in $W/logs/boot$b: $(ls -R "$W/logs" 2>&1 | tr '\n' ' ')"
		failures=$((failures + 1))
	fi
done
expect bench-not-repro 1 'bench-fake .*difference 1.5 points \(tolerance 1\): FAIL' '!every ratio' \
	-- FAKE_QEMU_RATIOS="95.0 96.5"
expect bench-contended-not-repro 1 'bench-fake-pasid workers=4 .*difference 4.0 points \(tolerance 3\): FAIL' \
	-- FAKE_QEMU_RATIOS="95.0 95.0" FAKE_QEMU_RATIOS_CONTENDED="90.0 94.0"
expect bench-no-ratio 1 'FAIL: the first boot printed no benchmark ratio' --
expect bench-boot-fails 1 'FAIL: bench-vfio: FAIL told to' '!reproducibility' -- FAKE_QEMU_RATIOS="95 95" FAKE_QEMU_FAIL=bench-vfio
((failures == 0)) || { echo "$failures case(s) failed"; exit 1; }
