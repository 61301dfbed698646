#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Soak: 100 M model replacements while the Run's properties are polled at
# 10 Hz, the daemon's RSS sampled every second (it must stay within ±1 MiB of
# its value after warm-up); then 500 start/stop cycles with KeepRuns=5: the
# daemon's descriptor count must be unchanged and its RSS must not grow with
# the number of runs. Prints the RSS curve's min/max and the descriptor counts.
DAEMON_CONFIG="KeepRuns=5"
. "$(dirname "$0")/../integration/lib.sh"
COUNT=${SOAK_COUNT:-100M}
CYCLES=${SOAK_CYCLES:-500}
start_bus
start_daemon

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON_PID/status"; }
fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }
clear=()
for k in Faults DmaErrors Replacements; do clear+=(--set=Expect.$k=); done

# 1. The long run, watched.
path=$(ctl start "${clear[@]}" --set=Replace.Count="$COUNT" "$(scenario model-hitless)")
polls=0
: >"$T/rss"
t0=$SECONDS
next_sample=$SECONDS
while :; do
	t=$(date +%s%N)
	# Sampled before the poll, kept only if the poll still says running: the
	# main loop answers the poll and frees the finished run's buffers in
	# turn, so such a sample is of the running daemon (once, one taken just
	# after the run ended dropped 17 MiB and failed the bound).
	sample=
	if ((SECONDS >= next_sample)); then
		sample=$(rss_kib)
		next_sample=$((SECONDS + 1))
	fi
	state=$(busctl --address="$ADDR" get-property org.iommutest1 "$path" org.iommutest1.Run State \
		Replacements ReplaceRate LatencyP99Ns Faults | head -n 1)
	polls=$((polls + 1))
	[[ -n $sample && $state == *'"running"'* ]] && echo "$sample" >>"$T/rss"
	[[ $state == *finished* || $state == *failed* ]] && break
	# 10 Hz: what is left of 100 ms after the poll itself.
	sleep "$(awk -v t="$t" -v n="$(date +%s%N)" 'BEGIN{d = 0.1 - (n - t) / 1e9; if (d < 0) d = 0; printf "%.3f", d}')"
done
[[ $state == *finished* ]] || fail "the soak run ended $state"
repl=$(busctl --address="$ADDR" get-property org.iommutest1 "$path" org.iommutest1.Run Replacements | awk '{print $2}')
secs=$((SECONDS - t0))
echo "soak run: $repl replacements in ~${secs}s, $polls property polls ($(awk -v p="$polls" -v s="$secs" 'BEGIN{printf "%.1f", p/(s?s:1)}')/s)"
# Warm-up: the first 3 samples (the run's buffers, the first histograms).
read -r n base min max < <(awk 'NR==4{b=$1; mn=$1; mx=$1} NR>4{if($1<mn)mn=$1; if($1>mx)mx=$1} END{print NR, b, mn, mx}' "$T/rss")
[[ $n -ge 5 ]] || fail "only $n RSS samples: the run was too short to judge"
echo "RSS after warm-up: start ${base} KiB, min ${min} KiB, max ${max} KiB over $((n - 3)) samples (bound ±1024 KiB)"
((max - base <= 1024 && base - min <= 1024)) || fail "RSS moved more than 1 MiB during the run"

# 2. Start/stop cycles: descriptors and memory do not grow with the runs.
fd0=$(fds)
rss_at=()
# The first RSS sample once KeepRuns= is full and malloc has made its arenas
# (one per worker thread, up to 8 per core), the second at the end.
early=$((CYCLES / 10 > 50 ? CYCLES / 10 : 50))
for i in $(seq "$CYCLES"); do
	p=$(ctl start "${clear[@]}" --set=Replace.Count= --set=Replace.Duration=60s --set=Traffic.Enable=no \
		"$(scenario model-hitless)") || fail "start $i failed"
	ctl stop "${p##*/}" >/dev/null || fail "stop $i failed"
	for _ in $(seq 200); do
		[[ $(busctl --address="$ADDR" get-property org.iommutest1 "$p" org.iommutest1.Run State) == *finished* ]] && break
		sleep 0.01
	done
	((i == early)) && rss_at+=("$(rss_kib)")
done
rss_at+=("$(rss_kib)")
fd1=$(fds)
runs=$(busctl --address="$ADDR" get-property org.iommutest1 /org/iommutest1 org.iommutest1.Manager Runs | awk '{print $2}')
echo "$CYCLES start/stop cycles: descriptors $fd0 before, $fd1 after; runs kept: $runs (KeepRuns=5)"
echo "RSS after $early cycles ${rss_at[0]} KiB, after $CYCLES: ${rss_at[1]} KiB (growth $((rss_at[1] - rss_at[0])) KiB, bound 2048)"
[[ $fd0 -eq $fd1 ]] || fail "the daemon's descriptors went from $fd0 to $fd1"
[[ $runs -le 5 ]] || fail "$runs runs kept with KeepRuns=5"
((rss_at[1] - rss_at[0] <= 2048)) || fail "RSS grew with the number of runs"
