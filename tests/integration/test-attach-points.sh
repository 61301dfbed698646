#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Per-attachment-point statistics: Run.AttachPoints on the bus, attach_points
# in Describe() and `iommuctl show`, for the RID and every PASID of a model
# run. Each point's numbers add up to the run's, faults are split by source,
# AttachPoints is invalidated while the run progresses, and a second run on
# the same device is refused naming the run that owns its attachments.
. "$(dirname "$0")/lib.sh"
start_bus
start_daemon

start_monitor "$T/monitor.log" monitor \
	--match="type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'"

# Clear-then-update faults on purpose, so that every point has faults to count.
path=$(ctl start --set=Replace.Duration=2s --set=Model.Writer=clear-then-update \
	--set=Expect.Faults= --set=Expect.DmaErrors= "$(scenario model-pasid)")
[[ $path == /org/iommutest1/run/* ]] || fail "start printed '$path'"

# While it runs: the device is taken, and the refusal says by whom and for what.
set +e
msg=$(ctl start --set=Replace.Duration=1s "$(scenario model-pasid)" 2>&1)
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "second run on model0 exited $rc: $msg"
grep -q "busy with run .*its RID and 15 PASIDs" <<<"$msg" || fail "busy message: $msg"

for _ in $(seq 100); do
	state=$(busctl --address="$ADDR" get-property org.iommutest1 "$path" org.iommutest1.Run State | awk '{print $2}')
	[[ $state == '"running"' || $state == '"stopping"' || $state == '"starting"' ]] || break
	sleep 0.1
done
[[ $state == '"finished"' ]] || fail "run state $state"
kill $MON

# Typed: a(suuttdttttta{st}) — name, pasid, worker, replacements, errors, rate,
# p50, p99, max, faults, faults during replace, faults by source.
busctl --address="$ADDR" --json=short get-property org.iommutest1 "$path" org.iommutest1.Run AttachPoints >"$T/ap.json"
total=$(busctl --address="$ADDR" get-property org.iommutest1 "$path" org.iommutest1.Run Replacements | awk '{print $2}')
faults=$(busctl --address="$ADDR" get-property org.iommutest1 "$path" org.iommutest1.Run Faults | awk '{print $2}')
jq -e '.type == "a(suuttdttttta{st})"' "$T/ap.json" >/dev/null || fail "AttachPoints type: $(jq -c .type "$T/ap.json")"
n=$(jq '.data | length' "$T/ap.json")
[[ $n -eq 16 ]] || fail "AttachPoints has $n entries, want 16 (RID and PASIDs 1-15)"
[[ $(jq -r '.data[0][0]' "$T/ap.json") == RID ]] || fail "first point $(jq -c '.data[0]' "$T/ap.json")"
[[ $(jq -r '.data[15][0]' "$T/ap.json") == "PASID 15" && $(jq -r '.data[15][1]' "$T/ap.json") -eq 15 ]] ||
	fail "last point $(jq -c '.data[15]' "$T/ap.json")"
sum=$(jq '[.data[][3]] | add' "$T/ap.json")
[[ $sum -eq $total ]] || fail "points' replacements add up to $sum, the run has $total"
fsum=$(jq '[.data[][9]] | add' "$T/ap.json")
[[ $fsum -eq $faults ]] || fail "points' faults add up to $fsum, the run has $faults"
[[ $faults -gt 0 ]] || fail "clear-then-update produced no faults (the test needs some)"
bysrc=$(jq '[.data[][11].model] | add' "$T/ap.json")
[[ $bysrc -eq $fsum ]] || fail "faults by source (model) add up to $bysrc, by point to $fsum"
jq -e '[.data[] | select(.[3] == 0)] | length == 0' "$T/ap.json" >/dev/null ||
	fail "a point made no replacements: $(jq -c '[.data[] | select(.[3] == 0) | .[0]]' "$T/ap.json")"
jq -e '[.data[] | select(.[6] == 0 or .[7] < .[6] or .[8] < .[7])] | length == 0' "$T/ap.json" >/dev/null ||
	fail "latency percentiles out of order: $(jq -c '.data[0]' "$T/ap.json")"
echo "AttachPoints: $n points, $sum replacements, $fsum faults; RID $(jq -c '.data[0]' "$T/ap.json")"

# Invalidated (not sent) while the run progressed, and only then.
inval=$(grep -c '"AttachPoints"' "$T/monitor.log" || true)
[[ $inval -ge 2 ]] || fail "AttachPoints invalidated $inval times during a 2 s run"

# Describe() and iommuctl agree with the bus.
js=$(ctl --json show "$path")
[[ $(jq '.attach_points | length' <<<"$js") -eq 16 ]] || fail "show --json: $(jq -c '.attach_points | length' <<<"$js") points"
[[ $(jq '[.attach_points[].replacements] | add' <<<"$js") -eq $sum ]] || fail "show --json replacements differ from AttachPoints"
[[ $(jq '.attach_points[3].faults_by_source.model' <<<"$js") -eq $(jq '.data[3][11].model' "$T/ap.json") ]] ||
	fail "faults_by_source of PASID 3 differs between Describe and AttachPoints"
table=$(ctl show "$path")
grep -q "BY SOURCE" <<<"$table" || fail "iommuctl show has no BY SOURCE column"
grep -Eq "^ *PASID 15 .*model [0-9]+" <<<"$table" || fail "iommuctl show lacks PASID 15's faults by source:
$table"
echo ok
