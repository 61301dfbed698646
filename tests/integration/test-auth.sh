#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Mutating calls need root or AdminGroup=; reads are open to everyone.
. "$(dirname "$0")/lib.sh"
start_bus

if [[ $(id -u) -eq 0 ]]; then
	command -v setpriv >/dev/null || fail "setpriv is missing (util-linux; contrib/install-deps.sh)"
	# An unprivileged caller: nobody, with no groups. It may not be able to
	# read the checkout or the build directory (a clone under /root is
	# mode 0700), so it gets its own copies of iommuctl and the scenario in
	# the test's directory, which lib.sh makes world-readable.
	install -m 0755 "$IOMMUCTL" "$T/iommuctl"
	install -m 0644 "$(scenario model-hitless)" "$T/model-hitless.conf"
	IOMMUCTL=$T/iommuctl
	scenario() { echo "$T/$1.conf"; }
	as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	ADMIN_GROUP=iommutest-admins-$$ start_daemon
else
	# Not root: the caller is refused unless in AdminGroup=, which we set to root's group.
	as_other() { "$@"; }
	ADMIN_GROUP=root start_daemon
fi

set +e
msg=$(as_other "$IOMMUCTL" --bus-address="$ADDR" start "$(scenario model-hitless)" 2>&1)
rc=$?
set -e
echo "unprivileged start → $msg"
[[ $rc -ne 0 ]] || fail "unprivileged StartScenario succeeded"
grep -qi "access denied" <<<"$msg" || fail "refusal does not say access denied: $msg"
# Reads stay open.
as_other "$IOMMUCTL" --bus-address="$ADDR" --json status | jq -e .version >/dev/null ||
	fail "unprivileged read refused"

if [[ $(id -u) -eq 0 ]]; then
	# Root may start and stop; an unprivileged Stop() is refused too.
	path=$(ctl start --set=Replace.Count= --set=Replace.Duration=20s "$(scenario model-hitless)")
	set +e
	msg=$(as_other "$IOMMUCTL" --bus-address="$ADDR" stop "${path##*/}" 2>&1)
	rc=$?
	set -e
	[[ $rc -ne 0 ]] && grep -qi "access denied" <<<"$msg" || fail "unprivileged Stop(): $msg"
	ctl stop "${path##*/}"

	# A member of AdminGroup= is allowed: make a group, put nobody in it.
	if command -v groupadd >/dev/null; then
		g=iommutest-admins-$$
		groupadd "$g"
		trap 'groupdel '"$g"' 2>/dev/null || true; cleanup' EXIT
		gid=$(getent group "$g" | cut -d: -f3)
		sleep 0.3
		path=$(setpriv --reuid=65534 --regid=65534 --groups="$gid" "$IOMMUCTL" --bus-address="$ADDR" \
			start --set=Replace.Count=1000 "$(scenario model-hitless)")
		[[ $path == /org/iommutest1/run/* ]] || fail "AdminGroup member refused: $path"
	fi
fi
echo "ok"
