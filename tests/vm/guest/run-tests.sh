#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The guest's test runner, started by /init with stdout on the results channel.
# Reads from the kernel command line:
#   iommutest.profile=iommu|mock     what the host booted (Intel IOMMU on or off)
#   iommutest.tests=a,b,c            tests to run, in order (tests/vm/guest/test-a.sh …)
#   iommutest.timeout=SECONDS        per test (default 300)
#   iommutest.expect_hitless=1       the kernel claims hitless replacement: DMA
#                                    failures with identical mappings fail tests
#   iommutest.unbind_nvme=1          vfio-unbind also unbinds the NVMe controller
#   iommutest.nvme_race_rate=N|max   vfio-nvme's race replacement rate (default 100)
#   iommutest.after_qemu_crash=TEST  QEMU 7.2 crashed during TEST in the previous boot
#                                    (run-vm.sh): TEST leaves out what crashed it
#   iommutest.icount=SHIFT           QEMU counts instructions (-icount shift=SHIFT):
#                                    the benchmarks' rates are in guest time
# Starts a private dbus-daemon and iommutestd on it, runs each test, and prints
# for each, machine-readable:
#   IOMMUTEST-BEGIN <test>
#   IOMMUTEST-END <test> <exit status>
#   …the test's output…
#   IOMMUTEST-RESULT <test> PASS|FAIL|SKIP <seconds>s <reason>
# and at the end
#   IOMMUTEST-DONE passed=N failed=N skipped=N
set -uo pipefail
export PATH=/bin:/usr/bin

profile=iommu tests='' timeout=300
for arg in $(cat /proc/cmdline); do
	case $arg in
	iommutest.profile=*) profile=${arg#*=} ;;
	iommutest.tests=*) tests=${arg#*=} ;;
	iommutest.timeout=*) timeout=${arg#*=} ;;
	iommutest.expect_hitless=*) export IOMMUTEST_EXPECT_HITLESS=${arg#*=} ;;
	iommutest.unbind_nvme=*) export IOMMUTEST_UNBIND_NVME=${arg#*=} ;;
	iommutest.nvme_race_rate=*) export IOMMUTEST_NVME_RACE_RATE=${arg#*=} ;;
	iommutest.icount=*) export IOMMUTEST_ICOUNT=${arg#*=} ;;
	iommutest.after_qemu_crash=*) export IOMMUTEST_AFTER_QEMU_CRASH=${arg#*=} ;;
	esac
done
tests=${tests//,/ }

export IOMMUTEST_PROFILE=$profile
export IOMMUTEST_ADDR=unix:path=/run/iommutest-bus
export SCENARIO_DIR=/iommutest/scenarios
export IOMMUTEST_LOG=/run/iommutestd.log
passed=0 failed=0 skipped=0

result() { # name PASS|FAIL|SKIP seconds reason
	echo "IOMMUTEST-RESULT $1 $2 ${3}s${4:+ $4}"
	case $2 in PASS) passed=$((passed + 1)) ;; SKIP) skipped=$((skipped + 1)) ;; *) failed=$((failed + 1)) ;; esac
}

echo "IOMMUTEST-GUEST kernel $(uname -r), profile $profile, $(nproc) CPUs, tests: ${tests:-none}"
echo "IOMMUTEST-GUEST cmdline $(cat /proc/cmdline)"

bus_pid=
start_bus() {
	dbus-daemon --config-file=/etc/iommutest-bus.conf --nofork --nopidfile 2>>/run/dbus.log &
	bus_pid=$!
	for _ in $(seq 200); do
		[[ -S /run/iommutest-bus ]] && return 0
		sleep 0.05
	done
	return 1
}

# The daemon the tests talk to; its pid is published for the tests (fd checks).
start_daemon() {
	local notify_pid
	rm -f /run/notify /run/notify.log
	notify-capture /run/notify >/run/notify.log &
	notify_pid=$!
	for _ in $(seq 100); do [[ -S /run/notify ]] && break; sleep 0.02; done
	echo "--- iommutestd started at $(cat /proc/uptime | cut -d' ' -f1)s" >>"$IOMMUTEST_LOG"
	NOTIFY_SOCKET=/run/notify /usr/libexec/iommutestd --bus-address="$IOMMUTEST_ADDR" \
		--config=/etc/iommutestd.conf --log-target=console >>"$IOMMUTEST_LOG" 2>&1 &
	echo $! >/run/iommutestd.pid
	for _ in $(seq 400); do
		if grep -q '^READY=1' /run/notify.log 2>/dev/null; then
			kill "$notify_pid" 2>/dev/null
			return 0
		fi
		kill -0 "$(cat /run/iommutestd.pid)" 2>/dev/null || break
		sleep 0.05
	done
	kill "$notify_pid" 2>/dev/null
	return 1
}

daemon_alive() {
	kill -0 "$(cat /run/iommutestd.pid 2>/dev/null)" 2>/dev/null
}

if ! start_bus; then
	result setup FAIL 0 "the private dbus-daemon did not come up: $(tail -n 3 /run/dbus.log | tr '\n' ' ')"
	echo "IOMMUTEST-DONE passed=$passed failed=$failed skipped=$skipped"
	exit 0
fi
if ! start_daemon; then
	result setup FAIL 0 "iommutestd did not send READY=1"
	echo "--- iommutestd log"
	cat "$IOMMUTEST_LOG"
	echo "IOMMUTEST-DONE passed=$passed failed=$failed skipped=$skipped"
	exit 0
fi

for t in $tests; do
	script=/iommutest/tests/$t.sh
	echo "IOMMUTEST-BEGIN $t"
	if [[ ! -f $script ]]; then
		result "$t" FAIL 0 "no such guest test (tests/vm/guest/test-$t.sh)"
		continue
	fi
	if ! daemon_alive; then
		echo "iommutestd is gone (a previous test killed it?); restarting it"
		start_daemon || { result "$t" FAIL 0 "iommutestd does not start again"; continue; }
	fi
	start=$(cut -d' ' -f1 /proc/uptime)
	timeout "$timeout" bash "$script" >/run/test.out 2>&1
	rc=$?
	# At once, before anything else can go wrong: the host must know that
	# this test ended (and how), whatever happens to the boot after it.
	echo "IOMMUTEST-END $t $rc"
	end=$(cut -d' ' -f1 /proc/uptime)
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	# In a shell of its own: lib.sh is written for tests (errexit, its own trap).
	bash -c '. /iommutest/lib.sh && devices_restore' >>/run/test.out 2>&1
	cat /run/test.out
	case $rc in
	0) result "$t" PASS "$secs" ;;
	77) result "$t" SKIP "$secs" "$(sed -n 's/^SKIP: //p' /run/test.out | tail -n 1)" ;;
	124 | 143) result "$t" FAIL "$secs" "timed out after ${timeout}s" ;;
	*)
		reason=$(sed -n 's/^FAIL: //p' /run/test.out | tail -n 1)
		result "$t" FAIL "$secs" "${reason:-exit status $rc}"
		;;
	esac
done

if ((failed)); then
	echo "--- iommutestd log (tail)"
	tail -n 60 "$IOMMUTEST_LOG"
fi
echo "IOMMUTEST-DONE passed=$passed failed=$failed skipped=$skipped"
# Let the daemon go before the power goes (its exit is part of what we test elsewhere).
kill "$(cat /run/iommutestd.pid)" "$bus_pid" 2>/dev/null
exit 0
