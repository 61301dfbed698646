#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# build-initramfs.sh OUTPUT.cpio.gz — the guest's root file system:
#   - busybox (static) for /init, the shell utilities, mount, poweroff;
#   - bash, for the guest test scripts (the same dialect as the host tests);
#   - iommutestd, iommuctl and notify-capture from the meson build directory,
#     dbus-daemon, jq and busctl from the host, with every shared library ldd finds
#     for them and the dynamic loader;
#   - a dbus configuration for a private bus, the example scenarios, the guest
#     test scripts (tests/vm/guest/) and /init.
#
# The project's programs come from $IOMMUTESTD, $IOMMUCTL, $NOTIFY_CAPTURE (as
# meson sets them) or from BUILD_DIR=/path/to/meson/build; optional extras from
# $BARE_REPLACE (the bench tier's bare ioctl loop), when set.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${1:?usage: build-initramfs.sh OUTPUT.cpio.gz}

die() {
	echo "build-initramfs: $*" >&2
	exit 1
}

if [[ -n ${BUILD_DIR:-} ]]; then
	: "${IOMMUTESTD:=$BUILD_DIR/daemon/iommutestd}"
	: "${IOMMUCTL:=$BUILD_DIR/cli/iommuctl}"
	: "${NOTIFY_CAPTURE:=$BUILD_DIR/tests/integration/notify-capture}"
	[[ -z ${BARE_REPLACE:-} && -x $BUILD_DIR/tests/vm/bare-replace ]] && BARE_REPLACE=$BUILD_DIR/tests/vm/bare-replace
fi
for v in IOMMUTESTD IOMMUCTL NOTIFY_CAPTURE; do
	[[ -n ${!v:-} ]] || die "\$$v is not set (set BUILD_DIR= or run through meson test)"
	[[ -x ${!v} ]] || die "$v=${!v} is not an executable (build first: ninja -C BUILD)"
done

busybox=$(command -v busybox || true)
[[ -n $busybox ]] || die "busybox is not installed (contrib/install-deps.sh --vm installs busybox-static)"
# The guest has no loader of its own for busybox: it must be static, which its
# ELF program headers say (no PT_INTERP). readelf is binutils, which the
# kernel build needs anyway.
command -v readelf >/dev/null || die "readelf is not installed (binutils; contrib/install-deps.sh --vm)"
phdrs=$(LC_ALL=C readelf -lW "$busybox" 2>&1) || die "$busybox: not an ELF executable: $phdrs"
! grep -q 'INTERP' <<<"$phdrs" ||
	die "$busybox is dynamically linked (Debian's busybox package): install busybox-static"
for p in bash dbus-daemon jq cpio gzip; do
	command -v "$p" >/dev/null || die "$p is not installed (contrib/install-deps.sh --vm)"
done

root=$(mktemp -d "${TMPDIR:-/tmp}/iommutest-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,dev,proc,sys,tmp,run,var/lib/dbus,iommutest/tests,iommutest/scenarios}

# copy_with_libs HOSTPATH DESTPATH: the program and every library it needs,
# libraries at the path the loader resolved them to on the host.
declare -A copied=()
copy_lib() {
	local lib=$1
	[[ -n ${copied[$lib]:-} ]] && return 0
	copied[$lib]=1
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
}
copy_with_libs() {
	local prog=$1 dest=$2 line lib
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$prog" "$root$dest"
	while read -r line; do
		case $line in
		*"=> not found"*) die "$prog: missing library: $line" ;;
		*"=> "/*) lib=${line#*=> }; lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;; # the loader
		*) continue ;;	      # linux-vdso.so.1
		esac
		copy_lib "$lib"
	done < <(ldd "$prog")
}

copy_with_libs "$IOMMUTESTD" /usr/libexec/iommutestd
copy_with_libs "$IOMMUCTL" /usr/bin/iommuctl
copy_with_libs "$NOTIFY_CAPTURE" /usr/bin/notify-capture
copy_with_libs "$(command -v dbus-daemon)" /usr/bin/dbus-daemon
copy_with_libs "$(command -v jq)" /usr/bin/jq
copy_with_libs "$(command -v bash)" /bin/bash
# busctl, so that guest tests watch the daemon's signals as a client would.
command -v busctl >/dev/null || die "busctl is not installed (package systemd; contrib/install-deps.sh --test)"
copy_with_libs "$(command -v busctl)" /usr/bin/busctl
[[ -n ${BARE_REPLACE:-} ]] && copy_with_libs "$BARE_REPLACE" /usr/bin/bare-replace
# Sanitizer builds need their runtime too; ldd found it above. Lookups go
# through the default paths: the libraries sit where the host's loader found them.

cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	case $applet in busybox | bash) continue ;; esac
	[[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
# /usr/bin and /usr/sbin programs are found through PATH=/bin:/usr/bin.

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
iommutest:x:990:
nogroup:x:65534:
EOF
echo 'passwd: files
group: files' >"$root/etc/nsswitch.conf"
cat >"$root/etc/iommutest-bus.conf" <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- The guest's private bus: anyone may connect and own; access control under test is the daemon's. -->
<busconfig>
  <type>custom</type>
  <listen>unix:path=/run/iommutest-bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
EOF
cat >"$root/etc/iommutestd.conf" <<'EOF'
[Daemon]
AdminGroup=iommutest
EOF

install -m 0755 "$here/guest/init" "$root/init"
install -m 0755 "$here/guest/run-tests.sh" "$root/iommutest/run-tests.sh"
install -m 0644 "$here/guest/lib.sh" "$here/guest/bench.sh" "$root/iommutest/"
for t in "$here"/guest/test-*.sh; do
	install -m 0755 "$t" "$root/iommutest/tests/$(basename "$t" | sed 's/^test-//')"
done
cp "$src"/contrib/scenarios/*.conf "$root/iommutest/scenarios/"

(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 -n >"$out.tmp"
mv "$out.tmp" "$out"
echo "build-initramfs: $out ($(du -k "$out" | cut -f1) KiB, $(du -sk "$root" | cut -f1) KiB unpacked)" >&2
