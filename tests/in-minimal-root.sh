#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# in-minimal-root.sh COMMAND…
#
# Runs COMMAND (say, tests/run-all.sh or contrib/demo.sh) as root in a fresh
# minimal Debian bookworm root, in a clone of this checkout's HEAD at
# /root/iommutest, so that every package the command needs must be installed
# by the project's own scripts: a missing install step fails here, where it
# would pass on a developer's machine that happens to have the package.
#
# The root is what `debootstrap --variant=minbase bookworm` makes, with git
# and CA certificates added (what a new user needs to clone), and nothing
# else: no file, no systemd, no column. It is made once and kept as a tarball
# in $IOMMUTEST_ROOT_CACHE (default /var/tmp/iommutest-root), which holds
# nothing the project installs; every call unpacks a new root from it and
# removes that root afterwards.
#
# What the root gets from the host, and why:
#   - /proc, /sys, /dev, /dev/pts: QEMU, the sanitizers and dbus-daemon need them;
#   - the VM tier's kernel cache (${IOMMUTEST_VM_CACHE:-/var/tmp/iommutest-vm}),
#     bound at the same path, so kernels are built once, not on every run;
#   - the host's Debian sources and its access settings for them (proxy,
#     Check-Valid-Until), as apt itself reports them, and /etc/resolv.conf:
#     the root installs from the same archive as the host, and no host name
#     is written in this repository.
#
# Environment: IOMMUTEST_ROOT_CACHE, IOMMUTEST_VM_CACHE, ROOT_MAX_AGE_DAYS
# (remake the tarball after this many days, default 30), DEBIAN_MIRROR (the
# archive for debootstrap instead of the host's), CI (passed through).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
suite=bookworm
cache=${IOMMUTEST_ROOT_CACHE:-/var/tmp/iommutest-root}
vm_cache=${IOMMUTEST_VM_CACHE:-/var/tmp/iommutest-vm}
arch=$(dpkg --print-architecture 2>/dev/null || echo unknown)
tarball=$cache/$suite-minbase-$arch.tar

log() { echo "in-minimal-root: $*" >&2; }
die() {
	log "$*"
	exit 1
}

(($# > 0)) || die "usage: in-minimal-root.sh COMMAND… (run from the checkout, e.g. tests/run-all.sh)"
[[ $(id -u) -eq 0 ]] || die "needs root (chroot, mount)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
command -v git >/dev/null || die "git is not installed (it clones the checkout into the root)"
git -C "$src" rev-parse --verify -q HEAD >/dev/null || die "$src is not a git checkout with a commit"

# The host's Debian archive sites per suite of $suite, by apt's own reading
# of its sources: "SITE SUITE COMPONENT" lines.
host_sources() {
	apt-get indextargets --format '$(SITE) $(CODENAME) $(SUITE) $(COMPONENT) $(ORIGIN) $(TARGET_OF) $(IDENTIFIER)' 2>/dev/null |
		awk -v c="$suite" '$7 == "Packages" && $5 == "Debian" && $6 == "deb" && $2 ~ "^" c "(-|$)" { print $1, $2, $4 }' |
		sort -u
}
sources=$(host_sources) || true
[[ -n $sources ]] || die "this machine's apt sources have no Debian $suite archive (apt-get indextargets); run apt-get update, or set up a $suite source"
mirror=${DEBIAN_MIRROR:-$(awk -v c="$suite" '$2 == c { print $1; exit }' <<<"$sources")}
[[ -n $mirror ]] || die "no Debian archive for the $suite suite itself among: $sources (set DEBIAN_MIRROR=)"

mkdir -p "$cache" "$vm_cache"
exec 9>"$cache/lock"
flock 9

# The bare root, made once. debootstrap's own output goes to a log that is
# shown when it fails.
max_age=${ROOT_MAX_AGE_DAYS:-30}
if [[ ! -f $tarball || -n $(find "$tarball" -mtime +"$max_age" 2>/dev/null) ]]; then
	staging=$(mktemp -d "$cache/debootstrap.XXXXXX")
	log "debootstrap --variant=minbase $suite from $mirror (once; cached in $tarball)"
	if ! debootstrap --variant=minbase --include=git,ca-certificates "$suite" "$staging/root" "$mirror" \
		>"$cache/debootstrap.log" 2>&1; then
		tail -n 30 "$cache/debootstrap.log" >&2
		rm -rf --one-file-system "$staging"
		die "debootstrap failed (log: $cache/debootstrap.log)"
	fi
	# Downloaded .debs are not part of a root a user would have.
	rm -rf "$staging/root/var/cache/apt/archives/"*.deb
	tar -C "$staging/root" --numeric-owner -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf --one-file-system "$staging"
fi

root=$(mktemp -d "$cache/root.XXXXXX")
mounts=()
# Everything started in the root is ended, its mounts are taken down, and
# only then is the root removed: rm must never reach a bound directory (the
# VM cache is on the same file system, so --one-file-system alone would not
# stop it).
teardown() {
	local rc=$? p m left
	for p in /proc/[0-9]*; do
		[[ $(readlink "$p/root" 2>/dev/null) == "$root" ]] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	sleep 0.2
	for ((m = ${#mounts[@]} - 1; m >= 0; m--)); do
		umount -R "${mounts[m]}" 2>/dev/null || umount -R -l "${mounts[m]}" 2>/dev/null || true
	done
	left=$(findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1' || true)
	if [[ -n $left ]]; then
		log "still mounted, so $root is left in place: $left"
	else
		rm -rf --one-file-system "$root"
	fi
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM
# Cancelled with its reader (CI's tee) in one process group, bash's report of
# the killed chroot goes to a closed pipe: left at its default, SIGPIPE would
# end this script before teardown and leave /sys, /dev and the VM cache bound
# in the root. A handler (not an ignore, which children would inherit) turns
# it into an exit that runs teardown.
trap 'exit 141' PIPE

tar -C "$root" --numeric-owner -xf "$tarball"

bind() { # bind HOSTPATH [recursive]
	mkdir -p "$root$1"
	if [[ ${2:-} == recursive ]]; then
		mount --rbind "$1" "$root$1"
		mount --make-rslave "$root$1"
	else
		mount --bind "$1" "$root$1"
	fi
	mounts+=("$root$1")
}
mount -t proc proc "$root/proc"
mounts+=("$root/proc")
bind /sys recursive
bind /dev recursive
bind "$vm_cache"

# The host's way to the archive: its Debian sources for this suite, and the
# access settings apt uses for them.
awk '{ print "deb " $1 " " $2 " " $3 }' <<<"$sources" >"$root/etc/apt/sources.list"
apt-config dump 2>/dev/null |
	grep -E '^Acquire::(Check-Valid-Until|Check-Date|[a-z]+::Proxy) ' \
		>"$root/etc/apt/apt.conf.d/90host-archive-access" || true
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# A chroot is no machine to start services in: a package's maintainer
# scripts (prometheus') must not leave a daemon running behind the root
# (invoke-rc.d asks this, as Debian's chroot tools set it up).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

git clone -q --no-hardlinks "$src" "$root/root/iommutest"
log "running '$*' in a fresh minimal $suite root ($root, checkout $(git -C "$src" rev-parse --short HEAD) at /root/iommutest)"

set +e
chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 CI="${CI:-}" \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	IOMMUTEST_VM_CACHE="$vm_cache" \
	/bin/bash -c 'cd /root/iommutest && exec "$@"' in-minimal-root "$@" </dev/null
rc=$?
set -e
exit "$rc"
