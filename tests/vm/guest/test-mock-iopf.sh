#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# mock backend, [Traffic] Engine=iopf (kernel ≥ 6.11 with CONFIG_IOMMUFD_TEST,
# booted with intel_iommu=off): the selftest mock device ping-pongs between
# two fault-capable nested HWPTs while page requests are injected
# (IOMMU_TEST_OP_TRIGGER_IOPF), read back from the iommufd fault queue and
# answered (contrib/scenarios/mock-iopf.conf). Every request must be
# accounted for: received and answered, or withdrawn by a replacement (the
# kernel answers a departing attachment's requests itself), never lost or
# made up; and every request received is one fault of source iommufd. Then
# the same at a gentle replacement rate, and no file descriptor may stay
# open in the daemon afterwards (the fault queue fd, the injector's eventfd).
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == mock ]] || fail "needs the mock profile (intel_iommu=off)"
require_backend mock
conf=$SCENARIO_DIR/mock-iopf.conf
[[ -f $conf ]] || fail "missing example scenario contrib/scenarios/mock-iopf.conf"

# check_run NAME: the accounting of the run in $OUT.
check_run() {
	local name=$1 I
	summary "$name"
	I=$(jgetc "$OUT" .backend_info.iopf)
	echo "$name iopf: $I"
	[[ $RC -eq 0 ]] || fail "$name: iommuctl run exited $RC (verdict $(jget "$OUT" .verdict), reason: $(jget "$OUT" .reason))"
	[[ $(jget "$OUT" .state) == finished ]] || fail "$name: state $(jget "$OUT" .state): $(jget "$OUT" .reason)"
	[[ $(jget "$OUT" .replace_errors) -eq 0 ]] || fail "$name: $(jget "$OUT" .replace_errors) replacements failed: $(jgetc "$OUT" .errors_by_errno)"

	local injected received unexpected responded refused rerrors withdrawn lost outstanding ierrors
	injected=$(jget "$I" .injected)
	received=$(jget "$I" .received)
	unexpected=$(jget "$I" .unexpected)
	responded=$(jget "$I" .responded)
	refused=$(jget "$I" .response_refused)
	rerrors=$(jget "$I" .response_errors)
	withdrawn=$(jget "$I" .withdrawn)
	lost=$(jget "$I" .lost)
	outstanding=$(jget "$I" .outstanding)
	ierrors=$(jget "$I" .inject_errors)

	((injected > 0)) || fail "$name: no page request was injected"
	((ierrors == 0)) || fail "$name: $ierrors injections failed ($(jget "$I" .last_inject_error))"
	((received > 0)) || fail "$name: no page request was read from the fault queue"
	((lost == 0)) || fail "$name: $lost page requests were never delivered and no replacement explains it"
	((unexpected == 0)) || fail "$name: $unexpected page requests that were never injected (or garbled)"
	((rerrors == 0)) || fail "$name: $rerrors page responses refused with no replacement to explain it"
	((outstanding == 0)) || fail "$name: $outstanding page requests still outstanding after the run"
	((injected == received - unexpected + withdrawn + lost)) ||
		fail "$name: injected $injected != received $received - unexpected $unexpected + withdrawn $withdrawn + lost $lost"
	((received == responded + refused + rerrors)) ||
		fail "$name: received $received != responded $responded + refused $refused + errors $rerrors"
	[[ $(jget "$OUT" .faults) -eq $received ]] ||
		fail "$name: $(jget "$OUT" .faults) faults for $received page requests received"
	[[ $(jget "$OUT" '.faults_by_source.iommufd.total') -eq $received ]] ||
		fail "$name: iommufd faults $(jget "$OUT" '.faults_by_source.iommufd.total') != received $received"
	echo "RESULT $name injected=$injected received=$received responded=$responded withdrawn=$withdrawn refused=$refused during_replace=$(jget "$I" .injected_during_replace) replacements=$(jget "$OUT" .replacements)"
}

fds_before=$(daemon_fds)

# Replacements and injections at full speed.
ctl_run mock-iopf "$conf"
check_run mock-iopf

# A replacement every half second: the reader keeps up, so nearly every
# request is received and answered; the accounting must hold all the same.
ctl_run mock-iopf-gentle --set=Replace.Rate=2 --set=Replace.Duration=3s --set=Traffic.Rate=5000 "$conf"
check_run mock-iopf-gentle
(($(jget "$OUT" .backend_info.iopf.received) > $(jget "$OUT" .backend_info.iopf.withdrawn))) ||
	fail "mock-iopf-gentle: more requests withdrawn than received at 2 replacements/s"

fds_after=$(daemon_fds)
[[ $fds_before == "$fds_after" ]] ||
	fail "file descriptors left open in iommutestd: before the runs: ${fds_before//$'\n'/ }; after: ${fds_after//$'\n'/ }"
daemon_alive || fail "iommutestd died"
echo ok
