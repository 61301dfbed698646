# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by the guest tests (tests/vm/guest/test-*.sh), which run inside the
# VM under run-tests.sh: iommutestd is already up on the private bus.
# Environment from run-tests.sh: IOMMUTEST_PROFILE (iommu|mock), IOMMUTEST_ADDR,
# SCENARIO_DIR, IOMMUTEST_LOG; the daemon's pid is in /run/iommutestd.pid.
#
# Exit status of a test: 0 pass, 77 skip (print "SKIP: reason" first), anything
# else fail (print "FAIL: reason" last: it becomes the result line's reason).
# A skip is a failure of the VM tier on the host unless it is expected there;
# use it only for what the profile cannot provide, never to hide a problem.

set -euo pipefail

T=$(mktemp -d /tmp/test.XXXXXX)
trap 'rm -rf "$T"' EXIT

# QEMU's edu device and NVMe controller; run-vm.sh puts them at these
# addresses (-device edu,addr=03.0, -device nvme,addr=04.0,serial=iommutest0).
EDU_BDF=0000:00:03.0
NVME_BDF=0000:00:04.0

fail() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# The one skip the host accepts: this guest kernel lacks a feature the test
# needs. "kernel_lacks 'PASID attach (6.15+)'" prints "SKIP: kernel 6.12.x
# lacks PASID attach (6.15+)"; run-vm.sh lists it under the kernel's label.
kernel_lacks() {
	skip "kernel $(uname -r) lacks $*"
}

# kernel_at_least 6.15: the guest kernel's version is 6.15 or newer.
kernel_at_least() {
	local have want hM hm wM wm
	have=$(uname -r | sed -E 's/^([0-9]+)\.([0-9]+).*/\1 \2/')
	want=$(sed -E 's/^([0-9]+)\.([0-9]+).*/\1 \2/' <<<"$1")
	read -r hM hm <<<"$have"
	read -r wM wm <<<"$want"
	((hM > wM || (hM == wM && hm >= wm)))
}

ctl() {
	iommuctl --bus-address="$IOMMUTEST_ADDR" --no-pager "$@"
}

# jget JSON FILTER → value (jq -e: a missing member is an error); jgetc: compact JSON
jget() {
	jq -er "$2" <<<"$1"
}
jgetc() {
	jq -ec "$2" <<<"$1"
}

daemon_pid() {
	cat /run/iommutestd.pid
}

daemon_alive() {
	kill -0 "$(daemon_pid)" 2>/dev/null
}

# Open file descriptors of the daemon, by target (for leak checks).
daemon_fds() {
	local fd
	for fd in /proc/"$(daemon_pid)"/fd/*; do
		readlink "$fd" || true
	done | sort
}

# The daemon has a backend named $1 (compiled in), usable here or not.
have_backend() {
	ctl --json backends | jq -e --arg b "$1" '.backends[] | select(.name == $b)' >/dev/null
}

# Fails the test unless the daemon has backend $1 and reports it available.
require_backend() {
	local b
	b=$(ctl --json backends | jq -c --arg b "$1" '.backends[] | select(.name == $b)')
	[[ -n $b ]] || fail "iommutestd has no '$1' backend"
	[[ $(jget "$b" .available) == true ]] || fail "backend $1 is not available here: $(jget "$b" .reason)"
}

# ctl_capture NAME [iommuctl run options…] FILE: runs the scenario, the JSON
# result in $OUT, iommuctl's exit status in $RC (0 pass, 1 fail, 2 error) and
# its stderr in $ERR.
ctl_capture() {
	local name=$1
	shift
	set +e
	OUT=$(ctl --json run "$@" 2>"$T/$name.err")
	RC=$?
	set -e
	ERR=$(cat "$T/$name.err")
}

# ctl_run NAME [iommuctl run options…] FILE: ctl_capture for a run that must
# give a result. One that gave none fails the test with iommuctl's own words,
# so that the reason (a daemon refusal says why) reaches the host's summary.
ctl_run() {
	ctl_capture "$@"
	[[ -z $ERR ]] || echo "$1: iommuctl said: $ERR" >&2
	[[ -n $OUT ]] || fail "$1: iommuctl run exited $RC with no result: ${ERR:-(nothing on stderr)}"
}

# run_scenario NAME [iommuctl run options…] < scenario text: runs it
# (ctl_capture: OUT, RC, ERR).
run_scenario() {
	local name=$1
	shift
	cat >"$T/$name.conf"
	ctl_capture "$name" "$@" "$T/$name.conf"
}

# expect_error NAME "substring of the error" < scenario: the run is refused
# (iommuctl exits 2) with an error containing the substring (any case with
# EXPECT_ERROR_ANY_CASE=1), and the daemon serves on with no run active. A
# test that defines expect_error_check NAME gets it called for more checks
# (nothing left behind).
expect_error() {
	local name=$1 want=$2 msg grep_opts=-qF
	[[ ${EXPECT_ERROR_ANY_CASE:-0} == 1 ]] && grep_opts=-qiF
	run_scenario "$name"
	msg="$ERR"
	[[ -n $OUT ]] && msg+=" $(jq -r '.reason // empty' <<<"$OUT")"
	echo "$name: iommuctl exit $RC: $msg"
	[[ $RC -eq 2 ]] || fail "$name: iommuctl run exited $RC, expected 2 (error)"
	grep "$grep_opts" -- "$want" <<<"$msg" || fail "$name: the error does not say '$want': $msg"
	ctl status >/dev/null || fail "$name: the daemon does not answer afterwards"
	daemon_alive || fail "$name: iommutestd died"
	[[ $(ctl --json status | jq .active_runs) -eq 0 ]] || fail "$name: a run is still active"
	if declare -F expect_error_check >/dev/null; then
		expect_error_check "$name"
	fi
}

# Which driver a PCI device is bound to ("" for none).
pci_driver() {
	local d=/sys/bus/pci/devices/$1/driver
	[[ -L $d ]] && basename "$(readlink "$d")" || echo ""
}

pci_unbind() {
	local drv
	drv=$(pci_driver "$1")
	[[ -z $drv ]] || echo "$1" >"/sys/bus/pci/drivers/$drv/unbind"
}

# Binds $1 to vfio-pci (driver_override, as the daemon's Bind=yes does).
pci_bind_vfio() {
	pci_unbind "$1"
	echo vfio-pci >"/sys/bus/pci/devices/$1/driver_override"
	echo "$1" >/sys/bus/pci/drivers/vfio-pci/bind
}

# Gives $1 back to no driver, as the guest boots it (edu has no kernel driver).
pci_release() {
	pci_unbind "$1"
	echo >"/sys/bus/pci/devices/$1/driver_override"
}

# Puts edu and the NVMe controller back as the boot left them: on the bus
# and bound to no driver, saying what it had to undo. run-tests.sh calls it
# after every test, whatever its end (a failure half-way, a timeout that no
# EXIT trap survives), so that no test inherits a bound or removed device
# from the one before.
devices_restore() {
	local bdf drv rc=0
	for bdf in "$EDU_BDF" "$NVME_BDF"; do
		if [[ ! -e /sys/bus/pci/devices/$bdf ]]; then
			echo "devices-restore: $bdf was left removed; rescanning"
			echo 1 >/sys/bus/pci/rescan
			[[ -e /sys/bus/pci/devices/$bdf ]] || {
				echo "devices-restore: $bdf did not come back with the rescan"
				rc=1
				continue
			}
		fi
		drv=$(pci_driver "$bdf")
		[[ -z $drv ]] && continue
		echo "devices-restore: $bdf was left bound to $drv; releasing it"
		pci_release "$bdf"
	done
	return $rc
}

# The VFIO cdev of a device bound to vfio-pci: /dev/vfio/devices/vfioN.
vfio_cdev() {
	local n
	for n in /sys/bus/pci/devices/"$1"/vfio-dev/vfio*; do
		[[ -e $n ]] && echo "/dev/vfio/devices/$(basename "$n")" && return 0
	done
	return 1
}

# Kernel log lines since the test started (dmesg is small in this guest).
kmsg_mark() {
	dmesg | wc -l
}
kmsg_since() {
	dmesg | tail -n +"$(($1 + 1))"
}

# Prints the usual one-line summary of a run result ($OUT).
summary() {
	echo "$1: state $(jget "$OUT" .state), verdict $(jget "$OUT" .verdict)," \
		"$(jget "$OUT" .replacements) replacements ($(jget "$OUT" .replace_errors) errors)" \
		"at $(jget "$OUT" '.rate | floor')/s, latency p50 $(jget "$OUT" .latency_ns.p50) ns" \
		"p99 $(jget "$OUT" .latency_ns.p99) ns max $(jget "$OUT" .latency_ns.max) ns," \
		"$(jget "$OUT" .dma_transfers) DMA transfers ($(jget "$OUT" .dma_errors) errors)," \
		"$(jget "$OUT" .faults) faults ($(jget "$OUT" .faults_during_replace) during replace)"
}
