#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A stand-in for qemu-system-x86_64 in test-run-vm.sh: it answers on the
# second -serial file as the guest's run-tests.sh does, for the tests named
# by iommutest.tests= on -append, and can die as QEMU 7.2 does.
#   FAKE_QEMU_CRASH=TEST   die of SIGSEGV once TEST has begun…
#   FAKE_QEMU_CRASHES=N    …in the first N boots (default 1); boots are
#                          counted in FAKE_QEMU_STATE (a file)
#   FAKE_QEMU_CRASH_AFTER=TEST  the same, once TEST has ended (its verdict
#                          reached, IOMMUTEST-END printed, RESULT not yet)
#   FAKE_QEMU_VERSION=X.Y.Z  what --version says (default 7.2.13)
#   FAKE_QEMU_FAIL=TEST    TEST reports FAIL after 130 lines of output, and the
#                          daemon log's tail follows the tests
#   FAKE_QEMU_RATIOS="A B"  every test prints a benchmark RESULT line
#                          (bench-fake) whose ratio is A% in boot 1, B% in 2…
#   FAKE_QEMU_RATIOS_CONTENDED="A B"  the same for a contention point
#                          (bench-fake-pasid workers=4)
set -euo pipefail
if [[ ${1:-} == --version ]]; then
	echo "QEMU emulator version ${FAKE_QEMU_VERSION:-7.2.13} (fake-qemu.sh)"
	exit 0
fi
# The SIGSEGV below is asked for: no core file.
ulimit -c 0
append='' serials=()
while (($#)); do
	case $1 in
	-append) append=$2; shift ;;
	-serial) serials+=("${2#file:}"); shift ;;
	esac
	shift
done
console=${serials[0]} results=${serials[1]}
boot=$(($(cat "$FAKE_QEMU_STATE" 2>/dev/null || echo 0) + 1))
echo "$boot" >"$FAKE_QEMU_STATE"
tests=''
for a in $append; do [[ $a == iommutest.tests=* ]] && tests=${a#*=}; done
echo "[    0.000000] Linux version 9.9.9-fake" >"$console"
{
	echo "IOMMUTEST-GUEST kernel 9.9.9-fake, profile iommu, 2 CPUs, tests: ${tests//,/ }"
	echo "IOMMUTEST-GUEST cmdline $append"
	for t in ${tests//,/ }; do
		echo "IOMMUTEST-BEGIN $t"
		if [[ $t == "${FAKE_QEMU_CRASH:-}" ]] && ((boot <= ${FAKE_QEMU_CRASHES:-1})); then
			echo "qemu-system-x86_64: vtd_iova_to_slpte: detected slpte permission error (boot $boot)" >&2
			kill -SEGV $$
		fi
		echo "IOMMUTEST-END $t $([[ $t == "${FAKE_QEMU_FAIL:-}" ]] && echo 1 || echo 0)"
		if [[ $t == "${FAKE_QEMU_CRASH_AFTER:-}" ]] && ((boot <= ${FAKE_QEMU_CRASHES:-1})); then
			kill -SEGV $$
		fi
		if [[ -n ${FAKE_QEMU_RATIOS:-} ]]; then
			r=$(echo "$FAKE_QEMU_RATIOS" | cut -d' ' -f"$boot")
			echo "RESULT bench-fake daemon=950/s bare=1000/s ratio=$r% spread=0.2 rounds=5 clock=\"fake\" (target >= 97%)"
		fi
		if [[ -n ${FAKE_QEMU_RATIOS_CONTENDED:-} ]]; then
			r=$(echo "$FAKE_QEMU_RATIOS_CONTENDED" | cut -d' ' -f"$boot")
			echo "RESULT bench-fake-pasid workers=4 daemon=900/s bare=1000/s ratio=$r% spread=2.0 rounds=5 clock=\"fake\""
		fi
		if [[ $t == "${FAKE_QEMU_FAIL:-}" ]]; then
			# More than the host's summary keeps: its first line must drop out.
			for i in $(seq 130); do echo "$t output line $i"; done
			echo "FAIL: told to"
			echo "IOMMUTEST-RESULT $t FAIL 0.1s told to"
		else
			echo "IOMMUTEST-RESULT $t PASS 0.1s"
		fi
	done
	if [[ -n ${FAKE_QEMU_FAIL:-} ]]; then
		echo "--- iommutestd log (tail)"
		echo "iommutestd: Run 10 refused: told to (fake)"
	fi
	echo "IOMMUTEST-DONE"
} >"$results"
