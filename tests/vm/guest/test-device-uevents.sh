#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Device objects follow the kernel's uevents, without polling: binding edu to
# vfio-pci and unbinding it shows as PropertiesChanged (Driver, State) on its
# Device object, removing it from the PCI bus as InterfacesRemoved and a
# rescan as InterfacesAdded, each within a second of the action. busctl
# watches the bus from outside, as a client would.
. /iommutest/lib.sh
[[ $IOMMUTEST_PROFILE == iommu ]] || fail "needs the iommu profile (intel_iommu=on)"
require_backend vfio
command -v busctl >/dev/null || fail "busctl is not in the guest (build-initramfs.sh copies it from the host)"
[[ -z $(pci_driver "$EDU_BDF") ]] || fail "$EDU_BDF is bound to $(pci_driver "$EDU_BDF") at the start"

bus() { busctl --address="$IOMMUTEST_ADDR" "$@"; }
# The object path as the daemon encodes it (sd_bus_path_encode: "_30000_3a00_3a03_2e0").
obj=$(bus --json=short call org.iommutest1 /org/iommutest1 org.freedesktop.DBus.ObjectManager \
	GetManagedObjects | jq -r --arg id "$EDU_BDF" \
	'.data[0] | to_entries[] | select(.value["org.iommutest1.Device"].Id.data == $id) | .key')
[[ $obj == /org/iommutest1/device/* ]] || fail "GetManagedObjects lists no Device object for $EDU_BDF"
echo "device object: $obj"

# One line per signal the daemon sends, "ARRIVAL_US JSON": the arrival is
# stamped as busctl hands the line over, so the latency measured below is the
# daemon's (uevent to signal), not that of this script's polling, whose jq
# runs take hundreds of milliseconds under TCG on a busy host.
bus --json=short monitor --match="type='signal',sender='org.iommutest1'" 2>&1 |
	while IFS= read -r line; do echo "${EPOCHREALTIME/./} $line"; done >>"$T/monitor.log" &
MON=$!
# run-tests.sh gives edu back (devices_restore) however this test ends.
trap 'kill $MON 2>/dev/null; rm -rf "$T"' EXIT
sleep 0.5

# expect_signal WHAT JQ-CONDITION: after the last mark, a signal for which
# the condition holds arrived within a second of the action (guest time).
# The wait itself is longer, so that a slow poll is not taken for a missing
# signal; a signal later than the bound still fails, with its latency.
mark() {
	mark=$(wc -l <"$T/monitor.log")
	mark_us=${EPOCHREALTIME/./}
}
expect_signal() {
	local what=$1 cond=$2 deadline=$((SECONDS + 15)) line at
	while :; do
		# One jq per poll over every line since the mark, each wrapped with
		# its arrival; the first that matches gives its time. Nothing found
		# (or a line jq cannot read) leaves line empty and the poll goes on:
		# under errexit and pipefail no status of this pipeline may end the
		# script.
		line=$(tail -n +$((mark + 1)) "$T/monitor.log" | while read -r at json; do
			if [[ $json == '{'* ]]; then echo "{\"at\":$at,\"signal\":$json}"; fi
		done | jq -rn --arg obj "$obj" \
			"first(inputs | .at as \$at | .signal | select($cond) | \$at)" 2>/dev/null) || line=
		[[ -n $line ]] && break
		((SECONDS < deadline)) || { cat "$T/monitor.log"; fail "no $what within 15 s"; }
		sleep 0.1
	done
	at=$(((line - mark_us) / 1000))
	((at <= 1000)) || { cat "$T/monitor.log"; fail "$what took $at ms (bound: 1 s)"; }
	echo "$what: $at ms after the action"
}
changed='.member == "PropertiesChanged" and .path == $obj and any(.payload.data[2][]; . == "Driver")'
added_or_removed() { echo ".member == \"$1\" and .payload.data[0] == \$obj"; }

mark
pci_bind_vfio "$EDU_BDF"
expect_signal "PropertiesChanged(Driver) on bind" "$changed"
[[ $(bus get-property org.iommutest1 "$obj" org.iommutest1.Device Driver) == 's "vfio-pci"' ]] ||
	fail "Driver is not vfio-pci after the bind"

mark
pci_release "$EDU_BDF"
expect_signal "PropertiesChanged(Driver) on unbind" "$changed"
[[ $(bus get-property org.iommutest1 "$obj" org.iommutest1.Device Driver) == 's ""' ]] ||
	fail "Driver is not empty after the unbind"

mark
echo 1 >"/sys/bus/pci/devices/$EDU_BDF/remove"
expect_signal "InterfacesRemoved on remove" "$(added_or_removed InterfacesRemoved)"
if bus get-property org.iommutest1 "$obj" org.iommutest1.Device Id >/dev/null 2>&1; then
	fail "the Device object of the removed $EDU_BDF still answers"
fi

mark
echo 1 >/sys/bus/pci/rescan
expect_signal "InterfacesAdded on rescan" "$(added_or_removed InterfacesAdded)"
[[ -e /sys/bus/pci/devices/$EDU_BDF ]] || fail "$EDU_BDF did not come back with the rescan"
[[ $(bus get-property org.iommutest1 "$obj" org.iommutest1.Device Id) == "s \"$EDU_BDF\"" ]] ||
	fail "the Device object did not come back with the rescan"
echo ok
