# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the integration tests: a private dbus-daemon, the real iommutestd
# on it with a captured NOTIFY_SOCKET, and the real iommuctl.
# Environment from meson: IOMMUTESTD, IOMMUCTL, NOTIFY_CAPTURE, SCENARIO_DIR.

set -euo pipefail

for v in IOMMUTESTD IOMMUCTL NOTIFY_CAPTURE SCENARIO_DIR; do
	[[ -n "${!v:-}" ]] || { echo "lib.sh: \$$v is not set (run through meson test)"; exit 99; }
done
command -v dbus-daemon >/dev/null || { echo "SKIP: dbus-daemon is not installed"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

T=$(mktemp -d /tmp/iommutest-it.XXXXXX)
chmod 755 "$T"
BUS_PID= DAEMON_PID= NOTIFY_PID=
ADDR="unix:path=$T/bus"

cleanup() {
	local rc=$?
	local p
	# Under memcheck the daemon must end on its own (SIGTERM) for the leak check.
	if [[ -n ${MEMCHECK:-} && -n $DAEMON_PID ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID"
		for _ in $(seq 1200); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=
	fi
	for p in "$DAEMON_PID" "$NOTIFY_PID" "$BUS_PID"; do
		[[ -n "$p" ]] || continue
		{ kill -KILL "$p" && wait "$p"; } 2>/dev/null || true
	done
	if [[ -n ${MEMCHECK:-} && ( $rc -eq 0 ) ]] && ! memcheck_verdict; then
		rc=1
	fi
	if [[ $rc -ne 0 && $rc -ne 77 ]]; then
		echo "--- daemon log ---"; cat "$T/daemon.log" 2>/dev/null || true
	fi
	rm -rf "$T"
	exit "$rc"
}

# Every daemon that ran under memcheck and ended (a summary in its log): no
# error and nothing definitely lost. A daemon a test killed with SIGKILL on
# purpose leaves no summary and is not judged.
memcheck_verdict() {
	local f ok=0 judged=0
	for f in "$T"/memcheck.*.log; do
		[[ -e $f ]] || continue
		grep -q 'ERROR SUMMARY:' "$f" || continue
		judged=$((judged + 1))
		if ! grep -q 'ERROR SUMMARY: 0 errors' "$f" ||
			grep -Eq 'definitely lost: [1-9]' "$f"; then
			echo "FAIL: memcheck found errors or leaks in the daemon ($f):" >&2
			cat "$f" >&2
			ok=1
		fi
	done
	[[ $judged -gt 0 ]] || { echo "FAIL: no daemon ended under memcheck" >&2; return 1; }
	echo "memcheck: $judged daemon process(es), 0 errors, 0 bytes definitely lost"
	return "$ok"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# A bus that lets anyone connect, own and monitor: access control under test is the daemon's own.
start_bus() {
	cat >"$T/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>$ADDR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
	# dbus-daemon's complaint about raising its fd limit in a sandbox is noise.
	dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile 2>>"$T/bus.log" &
	BUS_PID=$!
	for _ in $(seq 100); do [[ -S "$T/bus" ]] && return 0; sleep 0.05; done
	fail "private dbus-daemon did not come up"
}

# start_daemon [extra iommutestd options…]; waits for READY=1 on the notify socket.
start_daemon() {
	: >"$T/notify.log"
	"$NOTIFY_CAPTURE" "$T/notify" >"$T/notify.log" &
	NOTIFY_PID=$!
	for _ in $(seq 100); do [[ -S "$T/notify" ]] && break; sleep 0.02; done
	cat >"$T/iommutestd.conf" <<CONF
[Daemon]
AdminGroup=${ADMIN_GROUP:-iommutest}
${DAEMON_CONFIG:-}
CONF
	local wrap=() tries=200
	if [[ -n ${MEMCHECK:-} ]]; then
		# --suite memcheck: the same test with the daemon under valgrind (see memcheck_verdict).
		# --fair-sched: valgrind runs one thread at a time, and spinning workers
		# must not starve the main loop that answers the bus.
		wrap=(valgrind --tool=memcheck --fair-sched=yes --leak-check=full --show-leak-kinds=definite
			--errors-for-leak-kinds=definite --log-file="$T/memcheck.%p.log")
		tries=1200
	fi
	NOTIFY_SOCKET="$T/notify" "${wrap[@]}" "$IOMMUTESTD" --bus-address="$ADDR" \
		--config="$T/iommutestd.conf" --log-target=console "$@" >"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq $tries); do
		grep -q '^READY=1' "$T/notify.log" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "iommutestd exited during start-up"
		sleep 0.05
	done
	fail "iommutestd did not send READY=1"
}

# wait_notify PATTERN [SECONDS]: the daemon's sd_notify() messages include a
# line matching PATTERN (grep -E) within SECONDS (default 10). notify-capture
# writes what it receives when it is scheduled, not when the daemon sends it:
# on a loaded machine a message sent before the daemon exited can come later.
wait_notify() {
	local deadline=$((SECONDS + ${2:-10}))
	until grep -qE -- "$1" "$T/notify.log"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

# start_monitor OUT ARGS…: "busctl --address=$ADDR ARGS…" (a monitor) in the
# background, its output in OUT, its pid in MON; returns once busctl says it
# is monitoring, so that no signal sent after this is missed (a fixed sleep
# is not enough on a loaded machine).
start_monitor() {
	local out=$1
	shift
	busctl --address="$ADDR" "$@" >"$out" 2>"$out.err" &
	MON=$!
	for _ in $(seq 200); do
		grep -q 'Monitoring bus message stream' "$out.err" && return 0
		kill -0 "$MON" 2>/dev/null || fail "busctl monitor exited: $(cat "$out.err")"
		sleep 0.05
	done
	fail "busctl monitor did not start within 10 s"
}

ctl() {
	"$IOMMUCTL" --bus-address="$ADDR" --no-pager "$@"
}

# scenario NAME → path of a shipped example
scenario() {
	local f="$SCENARIO_DIR/$1.conf"
	[[ -f "$f" ]] || fail "missing example scenario $f"
	echo "$f"
}

# json_get JSON FILTER → value (jq -r)
jget() {
	jq -er "$2" <<<"$1"
}
