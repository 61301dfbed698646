#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# PropertiesChanged: seen while a run makes progress, at most a few per second,
# and none at all when nothing changes.
. "$(dirname "$0")/lib.sh"
start_bus
start_daemon

start_monitor "$T/monitor.log" monitor \
	--match="type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'"

path=$(ctl start --set=Replace.Count= --set=Replace.Duration=2s --set=Expect.Faults=0 "$(scenario model-hitless)")
[[ $path == /org/iommutest1/run/* ]] || fail "start printed '$path'"
sleep 3
state=$(busctl --address="$ADDR" get-property org.iommutest1 "$path" org.iommutest1.Run State | awk '{print $2}')
[[ $state == '"finished"' ]] || fail "run state $state after its 2 s duration"

n_repl=$(grep -c '"Replacements"' "$T/monitor.log" || true)
echo "PropertiesChanged carrying Replacements during a 2 s run: $n_repl"
[[ $n_repl -ge 3 ]] || fail "expected PropertiesChanged with Replacements while running, saw $n_repl"
# 4 Hz at most: 2 s → ≤ 8 ticks, + the final emission, + slack for timer alignment.
[[ $n_repl -le 11 ]] || fail "too many PropertiesChanged ($n_repl) for a 2 s run"
grep -q '"State"' "$T/monitor.log" || fail "no PropertiesChanged for State"

# A no-op: nothing runs, nothing changes → no PropertiesChanged at all.
before=$(grep -c 'PropertiesChanged' "$T/monitor.log" || true)
sleep 1.5
ctl status >/dev/null
busctl --address="$ADDR" get-property org.iommutest1 "$path" org.iommutest1.Run Replacements >/dev/null
sleep 1
after=$(grep -c 'PropertiesChanged' "$T/monitor.log" || true)
kill $MON
[[ $before -eq $after ]] || fail "PropertiesChanged emitted while idle ($before → $after)"
echo "ok"
