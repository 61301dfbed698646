#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The ObjectManager at /org/iommutest1: GetManagedObjects lists runs and
# devices, and runs announce themselves with InterfacesAdded when they start
# and InterfacesRemoved when KeepRuns= forgets them.
. "$(dirname "$0")/lib.sh"
start_bus
DAEMON_CONFIG="KeepRuns=1" start_daemon

objects=$(busctl --address="$ADDR" --json=short call org.iommutest1 /org/iommutest1 \
	org.freedesktop.DBus.ObjectManager GetManagedObjects)
jq -e '.data[0]["/org/iommutest1/device/model0"]["org.iommutest1.Device"].Backend.data == "model"' \
	<<<"$objects" >/dev/null || fail "GetManagedObjects does not list model0: $objects"

start_monitor "$T/monitor.log" monitor --match="type='signal',interface='org.freedesktop.DBus.ObjectManager'"

p1=$(ctl start --set=Replace.Count=1000 "$(scenario model-hitless)")
# Run to the end (the verdict does not matter here: 1000 replacements are too few for its expectations).
ctl run --set=Replace.Count=1000 "$(scenario model-hitless)" >/dev/null || [[ $? -eq 1 ]] ||
	fail "second run did not finish"
p2=$(ctl --json runs | jq -r '.runs[-1].path')
sleep 0.5
kill "$MON"
echo "runs: $p1 $p2"

grep -A3 'Member=InterfacesAdded' "$T/monitor.log" | grep -q "OBJECT_PATH \"$p1\"" ||
	fail "no InterfacesAdded for $p1"
grep -A3 'Member=InterfacesAdded' "$T/monitor.log" | grep -q "OBJECT_PATH \"$p2\"" ||
	fail "no InterfacesAdded for $p2"
# KeepRuns=1: when the second run finishes, the first is forgotten.
grep -A3 'Member=InterfacesRemoved' "$T/monitor.log" | grep -q "OBJECT_PATH \"$p1\"" ||
	fail "no InterfacesRemoved for $p1 after KeepRuns=1 forgot it"
if grep -A3 'Member=InterfacesRemoved' "$T/monitor.log" | grep -q "OBJECT_PATH \"$p2\""; then
	fail "the kept run $p2 was announced as removed"
fi
objects=$(busctl --address="$ADDR" --json=short call org.iommutest1 /org/iommutest1 \
	org.freedesktop.DBus.ObjectManager GetManagedObjects)
jq -e --arg p "$p2" '.data[0][$p]["org.iommutest1.Run"].State.data == "finished"' <<<"$objects" \
	>/dev/null || fail "GetManagedObjects does not list the finished $p2"
jq -e --arg p "$p1" '.data[0] | has($p) | not' <<<"$objects" >/dev/null ||
	fail "GetManagedObjects still lists the forgotten $p1"
echo "ok"
