#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad input gets a clear error naming the problem; the daemon keeps serving.
. "$(dirname "$0")/lib.sh"
start_bus
start_daemon

# A bad value: the error names the file, the line and the key.
sed 's/^Rate=max/Rate=fast/' "$(scenario model-hitless)" >"$T/bad-rate.conf"
line=$(grep -n '^Rate=fast' "$T/bad-rate.conf" | head -1 | cut -d: -f1)
[[ -n $line ]] || fail "could not make a bad scenario"
set +e
msg=$(ctl start "$T/bad-rate.conf" 2>&1)
rc=$?
set -e
echo "bad rate → $msg"
[[ $rc -eq 2 ]] || fail "bad scenario: exit status $rc, expected 2"
grep -q "bad-rate.conf:$line:" <<<"$msg" || fail "error does not name bad-rate.conf:$line"
grep -q "Rate" <<<"$msg" || fail "error does not name the key"

# An unknown key.
printf '[Scenario]\nBackend=model\n[Replace]\nCout=5\n' >"$T/unknown.conf"
set +e
msg=$(ctl start "$T/unknown.conf" 2>&1)
set -e
echo "unknown key → $msg"
grep -q "unknown.conf:4:" <<<"$msg" && grep -q "Cout" <<<"$msg" || fail "unknown key error: $msg"

# A missing required key.
printf '[Scenario]\nName=x\n' >"$T/missing.conf"
set +e
msg=$(ctl start "$T/missing.conf" 2>&1)
set -e
echo "missing key → $msg"
grep -q "Backend" <<<"$msg" || fail "missing Backend= error: $msg"

# An out-of-range PASID.
printf '[Scenario]\nBackend=model\n[Attach]\nPoints=RID 1048576\n' >"$T/pasid.conf"
set +e
msg=$(ctl start "$T/pasid.conf" 2>&1)
set -e
echo "bad PASID → $msg"
grep -q "pasid.conf:4:" <<<"$msg" || fail "PASID error: $msg"

# A bad override.
set +e
msg=$(ctl start --set=Replace.Count=lots "$(scenario model-hitless)" 2>&1)
set -e
echo "bad override → $msg"
grep -q "Replace.Count" <<<"$msg" || fail "override error: $msg"

# Two runs on one device: the second is refused with a clear busy error.
path=$(ctl start --set=Replace.Count= --set=Replace.Duration=30s "$(scenario model-hitless)")
set +e
msg=$(ctl start "$(scenario model-hitless)" 2>&1)
rc=$?
set -e
echo "second run → $msg"
[[ $rc -eq 2 ]] || fail "second run on a busy device: exit status $rc"
grep -qi "busy" <<<"$msg" && grep -q "${path##*/}" <<<"$msg" || fail "busy error does not name the run: $msg"
ctl stop "${path##*/}"

# Run paths are canonical, in the daemon and in iommuctl: /org/iommutest1/run/N,
# N decimal without leading zeros. Other spellings of a real run are no run.
n=${path##*/}
busctl --address="$ADDR" call org.iommutest1 "/org/iommutest1/run/$n" org.iommutest1.Run \
	Describe >/dev/null || fail "Describe() on the canonical path of run $n"
for p in "/org/iommutest1/run/0x$n" "/org/iommutest1/run/0$n" "/org/iommutest1/run/${n}0000000000"; do
	set +e
	msg=$(busctl --address="$ADDR" call org.iommutest1 "$p" org.iommutest1.Run Describe 2>&1)
	rc=$?
	set -e
	echo "$p → $msg"
	[[ $rc -ne 0 ]] || fail "the daemon answered $p as a run"
	grep -q "No run at $p" <<<"$msg" || fail "$p: not a NoSuchRun error: $msg"
	set +e
	msg=$(ctl show "$p" 2>&1)
	rc=$?
	set -e
	[[ $rc -eq 2 ]] && grep -q "Invalid run" <<<"$msg" || fail "iommuctl show $p: $msg"
done
set +e
msg=$(ctl show "0$n" 2>&1)
rc=$?
set -e
[[ $rc -eq 2 ]] && grep -q "Invalid run" <<<"$msg" || fail "iommuctl show 0$n: $msg"

# No daemon on a bus: a clear message, exit status 2.
set +e
msg=$("$IOMMUCTL" --bus-address="unix:path=$T/nonexistent" status 2>&1)
rc=$?
set -e
echo "no bus → $msg"
[[ $rc -eq 2 ]] || fail "no bus: exit status $rc"

# Devices: the model's is described; an unknown one is a clear error.
[[ $(ctl --json caps model0 | jq -r .state) == ready ]] || fail "caps model0"
[[ $(busctl --address="$ADDR" get-property org.iommutest1 /org/iommutest1/device/model0 \
	org.iommutest1.Device Backend) == 's "model"' ]] || fail "Device object for model0"
set +e
msg=$(ctl caps 0000:00:09.0 2>&1)
rc=$?
set -e
echo "unknown device → $msg"
[[ $rc -eq 2 ]] && grep -q "0000:00:09.0" <<<"$msg" || fail "caps on an unknown device: $msg"

kill -0 "$DAEMON_PID" || fail "daemon died on bad input"
[[ $(ctl --json status | jq -r .version) != "" ]] || fail "daemon no longer answers"
echo "ok"
