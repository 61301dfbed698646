#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs what iommutest needs to build and test, from Debian bookworm's
# default apt sources. Needs root; does not touch the apt configuration.
#   --test  also what the test suites need (valgrind, clang and libFuzzer, and
#           the VM tier's packages)
#   --vm    only add the VM tier's packages
set -euo pipefail

pkgs=(
	build-essential meson ninja-build pkg-config
	libsystemd-dev libnl-3-dev check
	dbus jq util-linux passwd
)
# The VM tier (tests/vm/, docs/testing.md): QEMU, Debian's kernel source and
# what building it takes, and a static busybox for the guest.
vm_pkgs=(
	qemu-system-x86 linux-source-6.12 busybox-static
	bc bison flex libelf-dev libssl-dev cpio xz-utils
)
for arg; do
	case $arg in
	--test) pkgs+=(valgrind clang libclang-rt-14-dev "${vm_pkgs[@]}") ;;
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
