#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The two shipped example scenarios end to end: file → iommuctl → daemon → workers,
# walker and traffic → faults → D-Bus → iommuctl --json.
. "$(dirname "$0")/lib.sh"
start_bus
start_daemon

set +e
out=$(ctl --json run "$(scenario model-hitless)")
rc=$?
set -e
[[ $rc -eq 0 ]] || fail "model-hitless: iommuctl run exited $rc: $out"
repl=$(jget "$out" .replacements)
faults=$(jget "$out" .faults)
echo "model-hitless: $repl replacements, $faults faults, $(jget "$out" .rate) /s," \
	"$(jget "$out" .dma_transfers) DMA transfers, p99 $(jget "$out" .latency_ns.p99) ns"
[[ $repl -ge 1000000 ]] || fail "hitless: only $repl replacements"
[[ $faults -eq 0 ]] || fail "hitless: $faults faults"
[[ $(jget "$out" .faults_during_replace) -eq 0 ]] || fail "hitless: faults during replace"
[[ $(jget "$out" .dma_errors) -eq 0 ]] || fail "hitless: DMA errors"
[[ $(jget "$out" .dma_transfers) -gt 0 ]] || fail "hitless: no DMA traffic ran"
[[ $(jget "$out" .verdict) == pass ]] || fail "hitless: verdict $(jget "$out" .verdict)"
[[ $(jget "$out" .state) == finished ]] || fail "hitless: state $(jget "$out" .state)"
jget "$out" '.latency_ns | .p50 <= .p90 and .p90 <= .p99 and .p99 <= .max' >/dev/null ||
	fail "hitless: latency percentiles not ordered"
[[ $(jget "$out" '.backend_info.transitions[0].predicted') == hitless ]] ||
	fail "hitless: predicted path is not hitless"

set +e
out=$(ctl --json run "$(scenario model-clear-then-update)")
rc=$?
set -e
[[ $rc -eq 0 ]] || fail "clear-then-update: iommuctl run exited $rc: $out"
repl=$(jget "$out" .replacements)
faults=$(jget "$out" .faults)
during=$(jget "$out" .faults_during_replace)
echo "model-clear-then-update: $repl replacements, $faults faults ($during during replace)"
[[ $faults -gt 0 ]] || fail "clear-then-update: no faults"
[[ $during -gt 0 ]] || fail "clear-then-update: no fault attributed to a replacement"
[[ $(jget "$out" .verdict) == pass ]] || fail "clear-then-update: verdict $(jget "$out" .verdict)"

# The faults are retrievable with their reasons.
id=$(jget "$out" .id)
f=$(ctl --json faults "$id" --max=5)
[[ $(jget "$f" '.faults | length') -eq 5 ]] || fail "faults --max=5 did not return 5 records"
jget "$f" '.faults[0].reason_text' | grep -qi present || fail "fault reason is not the Present bit"
# Filtering by source pages through everything retained.
[[ $(ctl --json faults "$id" --source=model --max=7 | jq '.faults | length') -eq 7 ]] ||
	fail "faults --source=model --max=7"
[[ $(ctl --json faults "$id" --source=kmsg | jq '.faults | length') -eq 0 ]] ||
	fail "faults --source=kmsg returned model faults"
set +e
ctl faults "$id" --source=bogus >/dev/null 2>&1
[[ $? -eq 2 ]] || fail "faults --source=bogus accepted"
set -e

# Positive control: domain 1 lacks the DMA range, so every fault that names a
# domain names domain 1, and transfers on domain 0 all succeed.
out=$(ctl --json run --set=Replace.Count= --set=Replace.Duration=1s --set=Domains.Layout=missing-range \
	--set=Expect.Faults= --set=Expect.DmaErrors= "$(scenario model-hitless)")
d0=$(jget "$out" '.attach_points[0].faults_by_domain[0]')
d1=$(jget "$out" '.attach_points[0].faults_by_domain[1]')
echo "missing-range control: faults on domain 0: $d0, on domain 1: $d1, unknown: $(jget "$out" '.attach_points[0].faults_domain_unknown')"
[[ $d1 -gt 0 ]] || fail "missing-range: no faults on the domain without the range"
[[ $d0 -eq 0 ]] || fail "missing-range: $d0 faults on the domain that maps the range"

# An expectation that does not hold gives verdict fail and exit status 1.
set +e
out=$(ctl --json run --set=Replace.Count= --set=Replace.Duration=1s --set=Expect.Faults=0 "$(scenario model-clear-then-update)")
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "failing expectation: exit status $rc, expected 1"
[[ $(jget "$out" .verdict) == fail ]] || fail "failing expectation: verdict $(jget "$out" .verdict)"
echo "ok"
