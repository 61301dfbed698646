#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Type=notify protocol (READY=1, STATUS=, WATCHDOG=1) and SIGTERM mid-run → clean exit.
. "$(dirname "$0")/lib.sh"
start_bus
WATCHDOG_USEC=300000 start_daemon
grep -q '^READY=1' "$T/notify.log" || fail "no READY=1"
wait_notify 'STATUS=Idle' || fail "no STATUS= line"

path=$(ctl start --set=Replace.Count= --set=Replace.Duration=60s "$(scenario model-hitless)")
wait_notify 'STATUS=Run 1' || fail "STATUS= does not show the run"
wait_notify '^WATCHDOG=1' || fail "no WATCHDOG=1 with WATCHDOG_USEC set"

t0=$(date +%s%N)
kill -TERM "$DAEMON_PID"
set +e
wait "$DAEMON_PID"
rc=$?
set -e
DAEMON_PID=
t1=$(date +%s%N)
echo "SIGTERM mid-run → exit status $rc after $(((t1 - t0) / 1000000)) ms"
[[ $rc -eq 0 ]] || fail "daemon exit status $rc after SIGTERM"
wait_notify '^STOPPING=1' || fail "no STOPPING=1"
grep -q 'Run 1 (model-hitless) finished' "$T/daemon.log" || fail "run was not wound down: $(cat "$T/daemon.log")"
echo "ok"
