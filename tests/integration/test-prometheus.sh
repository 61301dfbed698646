#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The metrics path with the real servers: iommutestd on a private bus, the
# real iommutest-exporter on loopback, and Debian's Prometheus scraping it
# every second (temporary data directory, the shipped alert rules loaded).
# After model runs that pass, fault during replacement, fault at rest, fault
# where no fault is expected, and replace slowly:
#   - every family is in Prometheus, and the counters equal the runs'
#     Describe() figures exactly (replacements, DMA, faults by source and phase);
#   - every expr of the Grafana dashboard and of the alert rules returns data;
#   - promtool checks the 0.0.4 text, the OpenMetrics text parses, the rules
#     pass promtool's unit tests;
#   - the exporter: 404 and 405, the format by Accept, a socket passed the way
#     systemd passes it, 503 within its timeout once the daemon is gone (and
#     then Prometheus sees it down);
#   - iommuctl metrics --textfile= writes a file promtool accepts, atomically.
. "$(dirname "$0")/lib.sh"

SRC=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3 # Debian's, which has python3-prometheus-client
CHECK=("$PY" "$SRC/tests/integration/prom-check.py")
for tool in prometheus promtool; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed (contrib/install-deps.sh --test)"; exit 77; }
done
"$PY" -c 'import prometheus_client' 2>/dev/null ||
	{ echo "SKIP: python3-prometheus-client is not installed"; exit 77; }
[[ -x ${EXPORTER:-} ]] || { echo "SKIP: iommutest-exporter was not built (-Dexporter=disabled)"; exit 77; }

PROM_PID= EXP_PID= ACT_PID=
stop_servers() {
	local p
	for p in "$PROM_PID" "$EXP_PID"; do
		[[ -n $p ]] && { kill "$p" && wait "$p"; } 2>/dev/null
	done
	# Not this shell's child (prom-check.py forked it): no wait, but make sure it is gone.
	if [[ -n $ACT_PID ]]; then
		kill "$ACT_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$ACT_PID" 2>/dev/null || break; sleep 0.1; done
	fi
	true
}
trap 'stop_servers; cleanup' EXIT

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_bus
start_daemon

EPORT=$(free_port)
"$EXPORTER" --listen=127.0.0.1:$EPORT --bus-address="$ADDR" --timeout=1s >"$T/exporter.log" 2>&1 &
EXP_PID=$!
E="http://127.0.0.1:$EPORT"

PPORT=$(free_port)
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - $SRC/contrib/prometheus/iommutest-rules.yml
scrape_configs:
  - job_name: iommutest
    static_configs:
      - targets: ['127.0.0.1:$EPORT']
YML
promtool check config "$T/prometheus.yml" >/dev/null || fail "promtool rejects the test's config"
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
	--web.listen-address=127.0.0.1:$PPORT --log.level=warn >"$T/prometheus.log" 2>&1 &
PROM_PID=$!
P="http://127.0.0.1:$PPORT"
"${CHECK[@]}" wait-ready "$P" || { cat "$T/prometheus.log"; exit 1; }
"${CHECK[@]}" wait-query "$P" 'up{job="iommutest"}' 1
START=$(date +%s)

# The runs: each one's Describe() goes into runs.json for the comparison.
runs=()
run() {
	local out
	out=$(ctl --json run "$@") || [[ $? -eq 1 ]] || fail "iommuctl run $* failed: $out"
	runs+=("$out")
}
# Full speed, then the same scenario at a crawl: the rate-collapse alert's case.
run --set=Replace.Count= --set=Replace.Duration=3s --set=Expect.Replacements='>=1' \
	"$(scenario model-hitless)"
run --set=Replace.Count=300000 "$(scenario model-clear-then-update)"
# A hitless scenario whose writer is not: Faults=0 expected, faults seen.
run --set=Scenario.Name=model-hitless-broken --set=Model.Writer=clear-then-update \
	--set=Replace.Count=200000 "$(scenario model-hitless)"
# Half the domains lack the DMA range and replacements are rare: faults at rest.
run --set=Scenario.Name=model-missing-range --set=Domains.Layout=missing-range \
	--set=Replace.Rate=500 --set=Replace.Count=1500 --set=Expect.Faults='>0' \
	--set=Expect.Replacements='>=1500' --set=Expect.DmaErrors= "$(scenario model-hitless)"
run --set=Replace.Rate=300 --set=Replace.Count=2400 --set=Expect.Replacements='>=2400' \
	"$(scenario model-hitless)"
printf '%s\n' "${runs[@]}" | jq -s . >"$T/runs.json"
"${CHECK[@]}" wait-query "$P" 'sum(iommutest_runs_finished_total)' ${#runs[@]}
sleep 2 # one more scrape after the last run's end, for the rate()s to see it flat

"${CHECK[@]}" families "$P" iommutest_runs_started_total iommutest_runs_finished_total \
	iommutest_replacements_total iommutest_faults_total iommutest_dma_transfers_total \
	iommutest_dma_errors_total iommutest_kmsg_suppressed_lines_total \
	iommutest_fault_events_lost_total iommutest_replace_latency_seconds_bucket \
	iommutest_replace_latency_seconds_sum iommutest_replace_latency_seconds_count \
	iommutest_active_runs iommutest_run_info iommutest_run_faults iommutest_build_info
"${CHECK[@]}" compare "$P" "$T/runs.json"

# The formats, checked by their own tools.
"${CHECK[@]}" http "$E/metrics" 200 >"$T/m.prom"
promtool check metrics <"$T/m.prom" || fail "promtool check metrics complains about the 0.0.4 text"
"${CHECK[@]}" http "$E/metrics" 200 'application/openmetrics-text; version=1.0.0' >"$T/m.om"
tail -n 1 "$T/m.om" | grep -qx '# EOF' || fail "OpenMetrics text does not end in # EOF"
"${CHECK[@]}" openmetrics "$T/m.om"
ctl metrics --openmetrics >"$T/ctl.om"
"${CHECK[@]}" openmetrics "$T/ctl.om"
(cd "$SRC/contrib/prometheus" && promtool check rules iommutest-rules.yml >/dev/null &&
	promtool test rules iommutest-rules.test.yml) || fail "promtool rejects the rules or their tests"

# The textfile collector's file: complete, world-readable, no temporary left.
mkdir "$T/textfile"
ctl metrics --textfile="$T/textfile"
promtool check metrics <"$T/textfile/iommutest.prom" || fail "the textfile does not pass promtool"
[[ $(stat -c %a "$T/textfile/iommutest.prom") == 644 ]] || fail "the textfile is not mode 644"
[[ $(ls -A "$T/textfile") == iommutest.prom ]] || fail "left behind in the textfile directory: $(ls -A "$T/textfile")"
ctl metrics --textfile="$T/textfile" --openmetrics 2>/dev/null && fail "--textfile with --openmetrics was accepted"

# What is not GET /metrics.
"${CHECK[@]}" http "$E/" 404 >/dev/null
"${CHECK[@]}" http "$E/metrics/x" 404 >/dev/null
code=$("$PY" -c "
import urllib.request, urllib.error
try: urllib.request.urlopen(urllib.request.Request('$E/metrics', data=b'x', method='POST'))
except urllib.error.HTTPError as e: print(e.code, e.headers.get('Allow'))")
[[ $code == "405 GET, HEAD" ]] || fail "POST /metrics: $code, want 405 with Allow: GET, HEAD"

# Socket activation: the exporter serves on the fd it is given, not on --listen.
APORT=$(free_port)
ACT_PID=$("${CHECK[@]}" activated "$EXPORTER" "$APORT" "$T/activated.log" --bus-address="$ADDR" \
	--listen=127.0.0.1:1)
"${CHECK[@]}" http "http://127.0.0.1:$APORT/metrics" 200 | grep -q '^iommutest_build_info' ||
	fail "the socket-activated exporter does not serve the metrics"

# A daemon that does not answer: the waiting scrape gets its 503 when the
# exporter is told to stop, and the exporter exits cleanly.
kill -STOP "$DAEMON_PID"
"${CHECK[@]}" status-in "http://127.0.0.1:$APORT/metrics" 503 3 >"$T/sigterm.out" &
getter=$!
sleep 0.3
kill -TERM "$ACT_PID"
wait "$getter" || fail "a scrape waiting at SIGTERM got no 503: $(cat "$T/sigterm.out")"
for _ in $(seq 50); do kill -0 "$ACT_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ACT_PID" 2>/dev/null && fail "the exporter did not exit on SIGTERM"
grep -qi 'abort\|panic' "$T/activated.log" && fail "the exporter died badly: $(cat "$T/activated.log")"
ACT_PID=
echo "SIGTERM with a scrape waiting: $(cat "$T/sigterm.out")"

# A bus daemon that hangs: other paths still answer at once, a scrape within its timeout.
kill -STOP "$BUS_PID"
"${CHECK[@]}" status-in "$E/other" 404 0.5
"${CHECK[@]}" status-in "$E/metrics" 503 2
kill -CONT "$BUS_PID"

# The bus lost with scrapes in flight: every one of them is answered.
"${CHECK[@]}" lose-bus "$E/metrics" 10 503 3 "$BUS_PID"
wait "$BUS_PID" 2>/dev/null || true
BUS_PID=

# The daemon gone: 503 with a reason within the exporter's 1 s, and Prometheus sees it down.
kill -CONT "$DAEMON_PID"
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
"${CHECK[@]}" status-in "$E/metrics" 503 2
"${CHECK[@]}" wait-query "$P" '(up{job="iommutest"} == bool 0)' 1
END=$(($(date +%s) + 2)) # the last scrape is in the second that ends now

# Every query of the dashboard and the rules, over the whole test: each has data.
"${CHECK[@]}" exprs "$P" "$START" "$END" "$SRC/contrib/dashboards/iommutest.json" \
	"$SRC/contrib/prometheus/iommutest-rules.yml"
echo "exporter and Prometheus checks passed"
