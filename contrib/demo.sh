#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job on any machine: build, start iommutestd on a private bus with
# the embedded model backend, run the hitless and the clear-then-update
# example scenarios with iommuctl, and show their results side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD

T=$(mktemp -d /tmp/iommutest-demo.XXXXXX)
cleanup() {
	[[ -n ${DAEMON:-} ]] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
	[[ -n ${BUS:-} ]] && kill "$BUS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# step LABEL COMMAND…: quiet when it works; when it fails, its output and
# which step it was, so a failure never ends the demo without a word.
step() {
	local label=$1
	shift
	echo "demo: $label"
	if ! "$@" >"$T/step.log" 2>&1; then
		cat "$T/step.log" >&2
		echo "demo: $label failed (the output above is from: $*)" >&2
		exit 1
	fi
}

step "installing the dependencies" contrib/install-deps.sh
[[ -f build/build.ninja ]] || step "configuring the build" meson setup build --buildtype=release
step "building" ninja -C build

cat >"$T/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>custom</type><listen>unix:path=$T/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
CONF
# Its complaint about raising its fd limit in a sandbox is noise: logged, not shown.
dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile 2>"$T/bus.log" &
BUS=$!
addr="unix:path=$T/bus"
for _ in $(seq 100); do [[ -S $T/bus ]] && break; sleep 0.05; done
build/daemon/iommutestd --bus-address="$addr" --config=/dev/null --log-target=console 2>"$T/daemon.log" &
DAEMON=$!

ctl() { build/cli/iommuctl --bus-address="$addr" --no-pager "$@"; }

for _ in $(seq 100); do
	ctl status >/dev/null 2>&1 && break
	kill -0 "$DAEMON" 2>/dev/null || { cat "$T/daemon.log" >&2; echo "demo: iommutestd exited" >&2; exit 1; }
	sleep 0.05
done

echo "== iommuctl status"
ctl status
rc=0
for s in model-hitless model-clear-then-update; do
	echo
	echo "== iommuctl run contrib/scenarios/$s.conf"
	ctl run "contrib/scenarios/$s.conf" || rc=$((rc | $?))
	ctl --json show "$(ctl --json runs | jq -r '.runs[-1].id')" >"$T/$s.json"
done

echo
echo "== side by side"
jq -rn --slurpfile a "$T/model-hitless.json" --slurpfile b "$T/model-clear-then-update.json" '
  def row(k; f): [k, ($a[0] | f | tostring), ($b[0] | f | tostring)];
  [ row("scenario"; .scenario),
    row("writer"; .backend_info.writer),
    row("transition"; [.backend_info.transitions[].kind] | join(",")),
    row("entry_sync would be"; [.backend_info.transitions[].predicted] | join(",")),
    row("writer was"; [.backend_info.transitions[].observed_paths | to_entries | max_by(.value) | .key] | join(",")),
    row("replacements"; .replacements),
    row("rate /s"; .rate | floor),
    row("latency p50 ns"; .latency_ns.p50),
    row("latency p99 ns"; .latency_ns.p99),
    row("DMA transfers"; .dma_transfers),
    row("DMA errors"; .dma_errors),
    row("faults"; .faults),
    row("faults during replace"; .faults_during_replace),
    row("verdict"; .verdict) ] |
  # Aligned here rather than by column(1), which a minimal root lacks.
  (map(map(length)) | transpose | map(max)) as $w |
  .[] | [range(length) as $i | .[$i] + " " * ($w[$i] - (.[$i] | length))] | join("  ") | sub(" +$"; "")'
exit $rc
