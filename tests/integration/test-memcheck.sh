#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon under valgrind memcheck through the paths the integration suite
# drives: every shipped model scenario (small counts; their expectations
# cleared, since under valgrind the walker thread barely runs and what they
# expect is about timing), Stop() mid-run, refused scenarios, KeepRuns=
# pruning, properties, Describe(), GetTimeline(), GetFaults(), the metrics in
# both formats, devices, a report; then SIGTERM. Passes with 0 errors and 0
# bytes definitely lost (lib.sh: memcheck_verdict).
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
export MEMCHECK=1
DAEMON_CONFIG="KeepRuns=3"
. "$(dirname "$0")/lib.sh"
start_bus
start_daemon

clear=()
for k in Faults FaultsDuringReplace FaultsAtRest DmaTransfers DmaErrors Replacements \
	ReplaceErrors MinRate MaxLatencyP99; do
	clear+=(--set=Expect.$k=)
done
n=0
for f in "$SCENARIO_DIR"/model-*.conf; do
	ctl -q run "${clear[@]}" --set=Replace.Count=2000 --set=Replace.Duration= "$f" >/dev/null ||
		fail "$(basename "$f") under memcheck: iommuctl run failed"
	n=$((n + 1))
done
echo "$n model scenarios ran"

# Stop() of a run that would go on for a minute (paced: under valgrind a
# worker at full speed leaves the main loop little time to answer).
path=$(ctl start "${clear[@]}" --set=Replace.Count= --set=Replace.Duration=60s \
	--set=Replace.Rate=20000 "$(scenario model-clear-then-update)")
sleep 2
ctl --json show "${path##*/}" >/dev/null || fail "show of a running run"
busctl --address="$ADDR" call org.iommutest1 "$path" org.iommutest1.Run GetTimeline >/dev/null ||
	fail "GetTimeline of a running run"
ctl metrics >/dev/null || fail "metrics while running"
ctl stop "${path##*/}" || fail "stop"
for _ in $(seq 600); do
	[[ $(busctl --address="$ADDR" get-property org.iommutest1 "$path" org.iommutest1.Run State) == *finished* ]] && break
	sleep 0.1
done
ctl faults "${path##*/}" --max=10 >/dev/null || fail "faults"

# What is refused leaves nothing behind.
printf '[Scenario]\nBackend=model\n[Replace]\nRate=fast\n' >"$T/bad.conf"
ctl start "$T/bad.conf" 2>/dev/null && fail "a bad scenario was accepted"
ctl show 999 2>/dev/null && fail "run 999 exists"
busctl --address="$ADDR" call org.iommutest1 /org/iommutest1 org.iommutest1.Manager GetMetrics s xml \
	2>/dev/null && fail "GetMetrics(xml) was accepted"

ctl --json runs >/dev/null
ctl --json devices >/dev/null
ctl metrics --openmetrics >/dev/null
last=${path##*/} # the stopped run: the newest, so KeepRuns=3 kept it
ctl report "$last" -o "$T/report.html" 2>/dev/null || fail "report"
echo "every path ran under memcheck; stopping the daemon for the leak check"
