#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# fetch-kernel-source.sh [SUITE]
#
# The newest linux-source-X.Y tarball of a Debian suite (default: sid), for the
# VM tier's kernel matrix. Prints the tarball's path on stdout (nothing else
# there); progress and errors go to stderr.
#
# The machine's apt configuration, sources and package state are left alone:
# apt-get runs with a private source list, private list and cache directories
# in the VM cache, and only *downloads* the one .deb, which dpkg -x unpacks
# into the cache. Nothing is installed. The mirror is the one the machine
# already uses for its own Debian release, as apt itself reports it
# (apt-get indextargets), so no host name lives in this repository.
#
#   IOMMUTEST_VM_CACHE   cache directory (default /var/tmp/iommutest-vm)
#   SID_MIRROR           use this archive URI instead of the machine's
#   SID_REFRESH_HOURS    re-read the suite's index after this long (default 12)
#
# Offline, with an unpacked tarball of an earlier run in the cache, that one
# is used and a warning says so; offline without one is an error.
set -euo pipefail

suite=${1:-sid}
cache=${IOMMUTEST_VM_CACHE:-/var/tmp/iommutest-vm}
apt_dir=$cache/apt-$suite
src_dir=$cache/sources
refresh_hours=${SID_REFRESH_HOURS:-12}

log() { echo "fetch-kernel-source: $*" >&2; }
die() {
	log "$*"
	exit 1
}

[[ $suite =~ ^[a-z0-9-]+$ ]] || die "'$suite' is not a Debian suite name"
command -v apt-get >/dev/null || die "apt-get is missing (this script needs a Debian machine)"
command -v dpkg >/dev/null || die "dpkg is missing"

mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$src_dir"
exec 8>"$apt_dir/lock"
flock 8

# Newest cached tarball for this suite, or nothing: the offline fallback.
cached_newest() {
	compgen -G "$src_dir/linux-source-*_$suite.tar.xz" | sort -V | tail -n 1 || true
}

# The machine's Debian archive: the site serving its own release's main
# suite (not -security or -updates), by apt's own reading of its sources.
mirror=${SID_MIRROR:-}
if [[ -z $mirror ]]; then
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	mirror=$(apt-get indextargets --format '$(SITE) $(CODENAME) $(ORIGIN) $(TARGET_OF)' 2>/dev/null |
		awk -v c="$codename" '$2 == c && $3 == "Debian" && $4 == "deb" { print $1; exit }') || true
	[[ -n $mirror ]] || die "no Debian archive for '$codename' in this machine's apt sources (apt-get indextargets); run apt-get update, or set SID_MIRROR="
fi

# apt reads /etc/apt/apt.conf.d before any -o: its hooks (APT::Update::
# Post-Invoke: PackageKit, AppStream) would run for our private update. A
# configuration file of our own replaces that directory and apt.conf; only
# the machine's proxy settings, if any, are carried over.
mkdir -p "$apt_dir/empty.d"
{
	echo "Dir::Etc::main \"/dev/null\";"
	echo "Dir::Etc::Parts \"$apt_dir/empty.d\";"
	apt-config dump 2>/dev/null | grep -E '^Acquire::[a-z]+::Proxy ' || true
} >"$apt_dir/apt.conf"
export APT_CONFIG=$apt_dir/apt.conf
opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o "Dir::State::status=/dev/null"
	-o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null"
	-o "Acquire::Check-Valid-Until=false" -o "APT::Sandbox::User=root" -q)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
signed=''
[[ -f $keyring ]] && signed="[signed-by=$keyring] "
echo "deb ${signed}$mirror $suite main" >"$apt_dir/sources.list.new"
if ! cmp -s "$apt_dir/sources.list.new" "$apt_dir/sources.list" 2>/dev/null; then
	mv "$apt_dir/sources.list.new" "$apt_dir/sources.list"
	rm -f "$apt_dir/updated"
else
	rm -f "$apt_dir/sources.list.new"
fi

# Read the suite's index, unless a recent one is there.
if [[ -z $(find "$apt_dir/updated" -mmin -$((refresh_hours * 60)) 2>/dev/null) ]]; then
	log "reading the $suite index from $mirror (private apt state in $apt_dir)"
	# --error-on=any: a mirror that cannot be reached is a failure, not a warning.
	if apt-get "${opts[@]}" --error-on=any update >"$apt_dir/update.log" 2>&1; then
		touch "$apt_dir/updated"
	else
		fallback=$(cached_newest)
		[[ -n $fallback ]] || {
			sed 's/^/    /' "$apt_dir/update.log" >&2
			die "apt-get update of $suite failed and no earlier linux-source tarball is cached"
		}
		log "WARNING: apt-get update of $suite failed (offline?); using the cached $(basename "$fallback")"
		echo "$fallback"
		exit 0
	fi
fi

# linux-source-X.Y packages of the suite, the highest X.Y first.
pkg=$(apt-cache "${opts[@]}" pkgnames linux-source- 2>/dev/null | grep -E '^linux-source-[0-9]+\.[0-9]+$' | sort -V | tail -n 1) || true
[[ -n $pkg ]] || die "the $suite index at $mirror has no linux-source-X.Y package"
version=$(apt-cache "${opts[@]}" show "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | sort -V | tail -n 1) || true
[[ -n $version ]] || die "apt-cache show $pkg: no version"
out=$src_dir/${pkg}_${version//:/%}_$suite.tar.xz

if [[ -f $out ]]; then
	log "$pkg $version ($suite): cached $out"
	echo "$out"
	exit 0
fi

tmp=$(mktemp -d "$apt_dir/download.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "downloading $pkg $version from $suite (apt-get download; nothing is installed)"
(cd "$tmp" && apt-get "${opts[@]}" download "$pkg=$version" >"$tmp/download.log" 2>&1) || {
	sed 's/^/    /' "$tmp/download.log" >&2
	die "apt-get download $pkg=$version failed"
}
deb=$(compgen -G "$tmp/*.deb" | head -n 1) || true
[[ -n $deb ]] || die "apt-get download left no .deb"
dpkg -x "$deb" "$tmp/root"
tarball=$(compgen -G "$tmp/root/usr/src/linux-source-*.tar.xz" | head -n 1) || true
[[ -n $tarball ]] || die "$(basename "$deb") holds no usr/src/linux-source-*.tar.xz"
mv "$tarball" "$out.tmp"
mv "$out.tmp" "$out"
# Older tarballs of this suite: the one just fetched replaces them.
for old in "$src_dir"/linux-source-*_"$suite".tar.xz; do
	[[ $old == "$out" ]] || rm -f "$old"
done
log "$pkg $version: $out"
echo "$out"
