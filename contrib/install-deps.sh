#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what iommutest needs to build and test, from Debian bookworm's
# default apt sources. Needs root; does not touch the apt configuration.
#   --test  also what the test suites need (valgrind, clang and libFuzzer,
#           busctl, and the VM tier's packages)
#   --vm    only add the VM tier's packages
set -euo pipefail

# Build: compilers and meson; run: dbus-daemon for a private bus, jq for the
# demo's table. util-linux (setpriv, flock) and passwd (groupadd) are there
# even on a minimal root only because they are Essential or priority
# required; listed so that nothing relies on that.
pkgs=(
	build-essential meson ninja-build pkg-config
	libsystemd-dev libnl-3-dev check libmicrohttpd-dev
	dbus jq util-linux passwd
)
# The test suites beyond that: valgrind (meson test --setup=valgrind), clang
# and its runtime (the libFuzzer build), systemd for busctl (the integration
# tests call and watch the daemon with it; nothing here boots systemd); the
# metrics path's real servers and checkers: Prometheus and promtool, the
# Python client's OpenMetrics parser, xmllint and headless Chromium for the
# report.
test_pkgs=(valgrind clang libclang-rt-14-dev systemd
	prometheus python3-prometheus-client libxml2-utils chromium)
# The VM tier (tests/vm/, docs/testing.md): QEMU, Debian's kernel source and
# what building it takes (binutils' readelf also checks busybox), and a
# static busybox for the guest.
vm_pkgs=(
	qemu-system-x86 linux-source-6.12 busybox-static
	bc bison flex libelf-dev libssl-dev cpio xz-utils binutils
)
for arg; do
	case $arg in
	--test) pkgs+=("${test_pkgs[@]}" "${vm_pkgs[@]}") ;;
	--vm) pkgs+=("${vm_pkgs[@]}") ;;
	*)
		echo "usage: install-deps.sh [--test] [--vm]" >&2
		exit 2
		;;
	esac
done

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
