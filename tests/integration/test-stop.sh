#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Stop() mid-run, a run limited by duration, and Finished.
. "$(dirname "$0")/lib.sh"
start_bus
start_daemon

path=$(ctl start --set=Replace.Count= --set=Traffic.Rate=1000 "$(scenario model-hitless)")
id=${path##*/}
sleep 1
[[ $(ctl --json show "$id" | jq -r .state) == running ]] || fail "run not running after 1 s"
t0=$(date +%s%N)
ctl stop "$id"
for _ in $(seq 100); do
	state=$(ctl --json show "$id" | jq -r .state)
	[[ $state == finished ]] && break
	sleep 0.05
done
t1=$(date +%s%N)
[[ $state == finished ]] || fail "state after Stop(): $state"
echo "Stop() → finished in $(((t1 - t0) / 1000000)) ms"
[[ $(((t1 - t0) / 1000000)) -lt 2000 ]] || fail "Stop() took longer than 2 s"
out=$(ctl --json show "$id")
[[ $(jget "$out" .replacements) -gt 0 ]] || fail "no replacements before Stop()"
# Stopping twice is a clear error, not a crash.
set +e
msg=$(ctl stop "$id" 2>&1)
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "second stop succeeded"
grep -qi "already" <<<"$msg" || fail "second stop: unclear error: $msg"
kill -0 "$DAEMON_PID" || fail "daemon died"
echo "ok"
