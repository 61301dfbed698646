#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what iommutest needs to build and test, from Debian bookworm's
# default apt sources. Needs root; does not touch the apt configuration.
set -euo pipefail

pkgs=(
	build-essential meson ninja-build pkg-config
	libsystemd-dev libnl-3-dev check
	dbus jq util-linux passwd
)
# --test: also what the suites need (valgrind; clang and libFuzzer for the fuzz target)
[[ ${1:-} == --test ]] && pkgs+=(valgrind clang libclang-rt-14-dev)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "install-deps: missing packages: ${missing[*]}; run as root or install them." >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
