#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks for test-prometheus.sh against a real Prometheus and the real exporter.

Subcommands (each exits non-zero with a message on failure):
  wait-ready URL                      Prometheus answers /-/ready
  wait-query URL EXPR VALUE           an instant query's single value reaches VALUE
  families URL NAME...                every family has at least one series
  compare URL RUNS.json               counters equal the runs' Describe() figures
  exprs URL START END FILE...         every expr of dashboards/rule files returns data
  http URL STATUS [ACCEPT]            GET URL gives STATUS (and prints the body)
  status-in URL STATUS SECONDS        ... within SECONDS
  openmetrics FILE                    the OpenMetrics parser takes FILE
  lose-bus URL N STATUS SECONDS PID   N scrapes in flight, then SIGKILL PID (the bus)
  activated EXPORTER PORT LOG ARGS... run EXPORTER with a listening socket passed as fd 3
"""
import json
import math
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def get(url, accept=None, timeout=10):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def api(base, path, **params):
    status, _, body = get(base + path + "?" + urllib.parse.urlencode(params))
    data = json.loads(body)
    if status != 200 or data.get("status") != "success":
        fail(f"{path} {params}: HTTP {status}: {data.get('error', body[:200])}")
    return data["data"]


def instant(base, expr):
    return api(base, "/api/v1/query", query=expr)["result"]


def scalar_sum(base, expr):
    res = instant(base, expr)
    return sum(float(s["value"][1]) for s in res) if res else None


def cmd_wait_ready(base):
    for _ in range(300):
        try:
            if get(base + "/-/ready", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    fail("Prometheus did not become ready in 30 s")


def cmd_wait_query(base, expr, want):
    want = float(want)
    last = None
    for _ in range(300):
        last = scalar_sum(base, expr)
        if last is not None and last >= want:
            print(f"{expr} = {last:g}")
            return
        time.sleep(0.1)
    fail(f"{expr} is {last}, never reached {want:g} in 30 s")


def cmd_families(base, *names):
    missing = [n for n in names if not instant(base, f'count({{__name__="{n}"}})')]
    if missing:
        fail("families without a series in Prometheus: " + ", ".join(missing))
    print(f"{len(names)} families present")


def cmd_compare(base, runs_file):
    """Per scenario: the sum of its runs' figures equals the scraped counters, exactly."""
    runs = json.load(open(runs_file))
    by_scenario = {}
    for r in runs:
        by_scenario.setdefault(r["scenario"], []).append(r)
    for scen, rs in sorted(by_scenario.items()):
        sel = f'scenario="{scen}"'
        repl = scalar_sum(base, f"sum(iommutest_replacements_total{{{sel}}})")
        want = sum(r["replacements"] for r in rs)
        if repl != want:
            fail(f"{scen}: iommutest_replacements_total = {repl}, the runs' Replacements sum to {want}")
        dma = scalar_sum(base, f"sum(iommutest_dma_transfers_total{{{sel}}})")
        want_dma = sum(r["dma_transfers"] for r in rs)
        if dma != want_dma:
            fail(f"{scen}: iommutest_dma_transfers_total = {dma}, the runs say {want_dma}")
        started = scalar_sum(base, f"sum(iommutest_runs_started_total{{{sel}}})")
        if started != len(rs):
            fail(f"{scen}: iommutest_runs_started_total = {started}, {len(rs)} runs")
        for src in sorted({s for r in rs for s in r["faults_by_source"]}):
            total = sum(r["faults_by_source"][src]["total"] for r in rs if src in r["faults_by_source"])
            during = sum(r["faults_by_source"][src]["during_replace"] for r in rs if src in r["faults_by_source"])
            for phase, want_f in (("during_replace", during), ("at_rest", total - during)):
                got = scalar_sum(base, f'sum(iommutest_faults_total{{{sel},source="{src}",phase="{phase}"}})')
                if got != want_f:
                    fail(f"{scen}: faults {src}/{phase} = {got}, Describe() says {want_f}")
        verdicts = {}
        for r in rs:
            v = "error" if r["state"] == "failed" else r["verdict"]
            verdicts[v] = verdicts.get(v, 0) + 1
        for v, n in verdicts.items():
            got = scalar_sum(base, f'sum(iommutest_runs_finished_total{{{sel},verdict="{v}"}})')
            if got != n:
                fail(f"{scen}: runs_finished_total{{verdict={v}}} = {got}, want {n}")
        faults = sum(r["faults"] for r in rs)
        print(f"{scen}: {len(rs)} run(s), {want} replacements, {faults} faults, {want_dma} DMA: all equal")


def exprs_of(path):
    """(where, expr) for every query of a Grafana dashboard or a Prometheus rule file."""
    if path.endswith(".json"):
        d = json.load(open(path))
        out = []
        for p in d["panels"]:
            for t in p.get("targets", []):
                out.append((f'panel "{p["title"]}" {t["refId"]}', t["expr"]))
        for v in d["templating"]["list"]:
            if v["type"] == "query":
                q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
                out.append((f'variable {v["name"]}', q))
        return out
    return rule_exprs(path)


def rule_exprs(path):
    """The expr: blocks of a rule file, read without a YAML library (block scalars and plain)."""
    out, lines, i, name = [], open(path).read().splitlines(), 0, None
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith("- alert:") or s.startswith("- record:"):
            name = s.split(":", 1)[1].strip()
        if s.startswith("expr:"):
            rest = s[len("expr:"):].strip()
            if rest in ("|", ">", "|-", ">-"):
                indent = len(lines[i + 1]) - len(lines[i + 1].lstrip())
                body = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) >= indent):
                    body.append(lines[i].strip())
                    i += 1
                out.append((f"rule {name}", " ".join(body).strip()))
                continue
            out.append((f"rule {name}", rest))
        i += 1
    return out


def substitute(expr, rate_interval, rng):
    # Grafana's variables: "All" is the regex .*; $__rate_interval and $__range as Grafana computes them.
    for var in ("instance", "backend", "device", "scenario"):
        expr = expr.replace("$" + var, ".*")
    return expr.replace("$__rate_interval", rate_interval).replace("$__range", rng)


def cmd_exprs(base, start, end, *files):
    start, end = float(start), float(end)
    rng = f"{int(end - start) + 5}s"
    n = 0
    for f in files:
        items = exprs_of(f)
        if not items:
            fail(f"{f}: no expressions found")
        for where, expr in items:
            if expr.startswith("label_values("):
                # A Grafana templating function, not PromQL: ask the series API as Grafana does.
                inner = expr[len("label_values("):-1]
                sel, _, label = inner.rpartition(",")
                sel = substitute(sel.strip(), "4s", rng)
                res = api(base, "/api/v1/series", **{"match[]": sel, "start": start, "end": end})
                vals = {s.get(label.strip()) for s in res} - {None}
                if not vals:
                    fail(f"{f}: {where}: {expr} has no values")
                n += 1
                continue
            q = substitute(expr, "4s", rng)
            res = api(base, "/api/v1/query_range", query=q, start=start, end=end, step="1")["result"]
            finite = [v for s in res for _, v in s["values"] if not math.isnan(float(v))]
            if not finite:
                fail(f"{f}: {where}: no data over the test's runs for\n  {q}")
            n += 1
    print(f"{n} expressions returned data")


def cmd_http(url, status, accept=None):
    got, headers, body = get(url, accept)
    if got != int(status):
        fail(f"GET {url}: HTTP {got}, want {status}: {body[:200]}")
    sys.stdout.write(body)


def cmd_status_in(url, status, seconds):
    t0 = time.monotonic()
    got, _, body = get(url, timeout=float(seconds) + 5)
    took = time.monotonic() - t0
    if got != int(status) or took > float(seconds):
        fail(f"GET {url}: HTTP {got} after {took:.2f}s, want {status} within {seconds}s: {body.strip()}")
    print(f"HTTP {got} in {took:.2f}s: {body.strip()}")


def cmd_lose_bus(url, n, status, seconds, bus_pid):
    """n scrapes at once; once they are in flight, SIGKILL the bus daemon; each must get status in time."""
    import signal
    import threading

    results = []

    def one():
        t0 = time.monotonic()
        try:
            got = get(url, timeout=float(seconds) + 5)[0]
        except OSError as e:
            got = str(e)
        results.append((got, time.monotonic() - t0))

    threads = [threading.Thread(target=one) for _ in range(int(n))]
    for t in threads:
        t.start()
    time.sleep(0.2)  # all sent: the daemon is stopped, so they wait in the exporter
    os.kill(int(bus_pid), signal.SIGKILL)
    for t in threads:
        t.join()
    bad = [(g, d) for g, d in results if g != int(status) or d > float(seconds)]
    if bad or len(results) != int(n):
        fail(f"{len(bad)} of {n} scrapes with the bus lost: {bad}")
    print(f"{n} scrapes in flight when the bus died: all HTTP {status}, slowest {max(d for _, d in results):.2f}s")


def cmd_openmetrics(path):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    fams = list(text_string_to_metric_families(open(path).read()))
    print(f"OpenMetrics parser: {len(fams)} families")


def cmd_activated(exporter, port, log, *args):
    """systemd's way: a bound, listening socket as fd 3, LISTEN_FDS=1, LISTEN_PID = the child."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(port)))
    s.listen(16)
    pid = os.fork()
    if pid == 0:
        os.dup2(s.fileno(), 3)
        os.set_inheritable(3, True)
        # Not our stdout: whoever reads it (a $(...)) would wait for the exporter to end.
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
        os.execve(exporter, [exporter] + list(args), env)
    s.close()
    print(pid, flush=True)


if __name__ == "__main__":
    cmds = {
        "wait-ready": cmd_wait_ready, "wait-query": cmd_wait_query, "families": cmd_families,
        "compare": cmd_compare, "exprs": cmd_exprs, "http": cmd_http, "status-in": cmd_status_in,
        "openmetrics": cmd_openmetrics, "activated": cmd_activated, "lose-bus": cmd_lose_bus,
    }
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__)
        sys.exit(2)
    cmds[sys.argv[1]](*sys.argv[2:])
