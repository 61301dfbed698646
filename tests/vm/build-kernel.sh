#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The guest kernel of the VM tier. Prints the path of a bzImage on stdout (and
# nothing else there); progress and errors go to stderr.
#
#   KERNEL=/path/to/bzImage   use that image as it is (nothing is built or checked)
#   KSRC=/path/to/linux       build that tree with tests/vm/kernel.config, out of
#                             tree in the cache (one object tree per source tree),
#                             incrementally: make decides what changed, including
#                             uncommitted edits and configuration changes
#   neither                   build a Debian linux-source tarball once per (tarball,
#                             fragments, this script) and reuse it; which one is
#                             KERNEL_TRACK's business:
#     KERNEL_TRACK=lts        (default) bookworm's linux-source-6.12, installed by
#                             contrib/install-deps.sh --vm (/usr/src/linux-source-6.12.tar.xz)
#     KERNEL_TRACK=sid        the newest linux-source-X.Y of Debian sid, downloaded
#                             by fetch-kernel-source.sh (private apt state, nothing installed)
#                             KERNEL_TARBALL= overrides either with a tarball of your own
#
#   IOMMUTEST_VM_CACHE        cache directory (default /var/tmp/iommutest-vm), outside
#                             the clone so that CI runs on one machine share it
#   JOBS                      make -j (default: nproc)
#
# Configuration: `make ARCH=x86_64 tinyconfig`, then the fragment merged in and
# `make olddefconfig`, repeated so that options whose dependencies the first
# round enabled can be set; finally every option of the fragment is checked in
# the resulting .config and the build fails naming any that did not stick.
# The fragment is tests/vm/kernel.config plus each tests/vm/kernel.config.d/*.config
# whose "# applies-if: PATH" header names a file the source tree has: options
# that only newer (or older) trees know, checked as strictly as the rest.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
self=$here/build-kernel.sh
cache=${IOMMUTEST_VM_CACHE:-/var/tmp/iommutest-vm}
track=${KERNEL_TRACK:-lts}
jobs=${JOBS:-$(nproc)}
# Written by make_fragment for the tree being configured.
fragment=

log() { echo "build-kernel: $*" >&2; }
die() {
	log "$*"
	exit 1
}

if [[ -n ${KERNEL:-} ]]; then
	[[ -f $KERNEL && -r $KERNEL ]] || die "KERNEL=$KERNEL: no such readable file"
	log "using KERNEL=$KERNEL (not built here, its configuration is not checked)"
	realpath "$KERNEL"
	exit 0
fi

# make_fragment SRCDIR OUT: kernel.config and the kernel.config.d parts that apply to SRCDIR.
make_fragment() {
	local src=$1 out=$2 part cond
	cp "$here/kernel.config" "$out"
	for part in "$here"/kernel.config.d/*.config; do
		[[ -f $part ]] || continue
		cond=$(sed -n 's/^# applies-if: *//p' "$part" | head -n 1)
		[[ -n $cond ]] || die "$part has no '# applies-if: PATH' line"
		if [[ -e $src/$cond ]]; then
			log "fragment $(basename "$part") applies ($cond exists in this tree)"
			cat "$part" >>"$out"
		fi
	done
	fragment=$out
}

# missing_options CONFIG: the fragment's settings that CONFIG does not have, one per line.
missing_options() {
	awk '
		FNR == NR {
			if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) want[substr($0, 1, RLENGTH - 1)] = $0
			else if (match($0, /^# CONFIG_[A-Za-z0-9_]+ is not set/)) off[$2] = 1
			next
		}
		match($0, /^CONFIG_[A-Za-z0-9_]+=/) { have[substr($0, 1, RLENGTH - 1)] = $0 }
		END {
			for (k in want) if (have[k] != want[k])
				printf "%s (have: %s)\n", want[k], (k in have) ? have[k] : "not set"
			for (k in off) if (k in have) printf "# %s is not set (have: %s)\n", k, have[k]
		}' "$fragment" "$1" | sort
}

# configure SRCDIR OBJDIR: tinyconfig + fragment + olddefconfig in OBJDIR, checked.
configure() {
	local src=$1 obj=$2 missing
	local mk=(make -C "$src" ARCH=x86_64 -s)
	[[ $obj != "$src" ]] && mk+=("O=$obj")
	# Called in an || list, where set -e does not apply: every step checks.
	"${mk[@]}" tinyconfig >/dev/null || return 1
	for _ in 1 2 3; do
		# Drop every symbol the fragment sets, then append the fragment.
		awk 'FNR == NR {
				if (match($0, /^CONFIG_[A-Za-z0-9_]+=/)) set[substr($0, 1, RLENGTH - 1)] = 1
				else if (match($0, /^# CONFIG_[A-Za-z0-9_]+ is not set/)) set[$2] = 1
				next
			}
			match($0, /^CONFIG_[A-Za-z0-9_]+=/) && (substr($0, 1, RLENGTH - 1) in set) { next }
			match($0, /^# CONFIG_[A-Za-z0-9_]+ is not set/) && ($2 in set) { next }
			{ print }' "$fragment" "$obj/.config" >"$obj/.config.merge" || return 1
		grep -E '^(CONFIG_|# CONFIG_)' "$fragment" >>"$obj/.config.merge" || return 1
		mv "$obj/.config.merge" "$obj/.config" || return 1
		"${mk[@]}" olddefconfig >/dev/null || return 1
		missing=$(missing_options "$obj/.config") || return 1
		[[ -z $missing ]] && return 0
	done
	log "the kernel configuration lacks options that tests/vm/kernel.config requires"
	log "(olddefconfig dropped them: a dependency is missing or the symbol does not exist in this tree):"
	sed 's/^/    /' <<<"$missing" >&2
	return 1
}

fmt_time() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

mkdir -p "$cache"
exec 9>"$cache/lock"

if [[ -n ${KSRC:-} ]]; then
	src=$(realpath "$KSRC") || die "KSRC=$KSRC does not exist"
	[[ -f $src/Makefile && -f $src/Kconfig ]] || die "KSRC=$src is not a kernel source tree"
	# One object tree per source tree: configuration changes are make's business.
	key=$(echo "$src" | sha256sum | cut -c1-16)
	obj=$cache/ksrc-$key
	head=$(git -C "$src" describe --always --dirty 2>/dev/null || echo "not a git tree")
	log "KSRC=$src ($head): building out of tree in $obj"
	flock 9
	mkdir -p "$obj"
	touch "$obj"
	start=$SECONDS
	make_fragment "$src" "$obj/.iommutest-fragment"
	configure "$src" "$obj" || exit 1
	if ! make -C "$src" ARCH=x86_64 O="$obj" -j"$jobs" bzImage >"$obj/build.log" 2>&1; then
		tail -n 40 "$obj/build.log" >&2
		die "kernel build failed; full log: $obj/build.log"
	fi
	# Publish a copy atomically: a concurrent reader never sees half an image.
	cp "$obj/arch/x86/boot/bzImage" "$obj/bzImage.tmp"
	mv "$obj/bzImage.tmp" "$obj/bzImage"
	printf 'source: %s\nhead: %s\nbuilt: %s\n' "$src" "$head" "$(date -Is)" >"$obj/info"
	log "built $src ($head) in $(fmt_time $((SECONDS - start)))"
	echo "$obj/bzImage"
	exit 0
fi

case $track in
lts)
	tarball=${KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
	[[ -f $tarball ]] || die "$tarball is missing: install linux-source-6.12 (contrib/install-deps.sh --vm), or set KERNEL= or KSRC="
	;;
sid)
	tarball=${KERNEL_TARBALL:-}
	if [[ -z $tarball ]]; then
		tarball=$("$here/fetch-kernel-source.sh" sid) || die "no linux-source tarball from Debian sid (fetch-kernel-source.sh failed)"
	fi
	[[ -f $tarball ]] || die "$tarball is missing"
	;;
*) die "KERNEL_TRACK=$track: lts or sid" ;;
esac
mapfile -t parts < <(compgen -G "$here/kernel.config.d/*.config" | sort)
key=$( (stat -c '%n %s %Y' "$tarball"; cat "$here/kernel.config" "${parts[@]}" "$self") |
	sha256sum | cut -c1-16)
out=$cache/kernel-$key

if [[ ! -f $out/bzImage ]]; then
	flock 9
fi
if [[ -f $out/bzImage ]]; then
	touch "$out"
	log "cached: $out (that build took $(sed -n 's/^built-in: //p' "$out/info" 2>/dev/null || echo '?'))"
	echo "$out/bzImage"
	exit 0
fi

# We hold the lock: any build directory left over is from a build that was killed.
rm -rf "$cache"/build.*
# Kernels and KSRC object trees nobody used for a month.
find "$cache" -maxdepth 1 \( -name 'kernel-*' -o -name 'ksrc-*' \) -mtime +30 -exec rm -rf {} + 2>/dev/null || true

tmp=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS
log "building $(basename "$tarball") with tests/vm/kernel.config, make -j$jobs (key $key)"
# Less than half of the tarball is read by this build: leave out what is
# large and never compiled here (documentation, other architectures' code,
# GPU and media drivers, perf, selftests). Kconfig files and Makefiles
# stay, since Kconfig sources every architecture's and driver's. Patterns are
# anchored at the top directory: tools/objtool/arch/x86/include/arch/ must stay.
top=$(tar -tJf "$tarball" 2>/dev/null | head -n 1 | cut -d/ -f1) || true
[[ -n $top ]] || die "$tarball is not a tar.xz archive"
tar -xJf "$tarball" -C "$tmp" --anchored --exclude="$top/Documentation/*/*" \
	--exclude="$top/arch/[!x]*.[chS]" --exclude="$top/arch/[!x]*.dts*" \
	--exclude="$top/drivers/gpu/*.[ch]" --exclude="$top/drivers/media/*.[ch]" \
	--exclude="$top/tools/perf/*" --exclude="$top/tools/testing/*"
src=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)
[[ -n $src && -f $src/Makefile ]] || die "$tarball does not hold a kernel tree"
log "extracted in $(fmt_time $((SECONDS - start)))"
make_fragment "$src" "$tmp/fragment"
configure "$src" "$src" || exit 1
log "configured at $(fmt_time $((SECONDS - start)))"
if ! make -C "$src" ARCH=x86_64 -j"$jobs" bzImage >"$tmp/build.log" 2>&1; then
	tail -n 40 "$tmp/build.log" >&2
	cp "$tmp/build.log" "$cache/last-failed-build.log"
	die "kernel build failed; full log: $cache/last-failed-build.log"
fi
mkdir "$tmp/out"
cp "$src/arch/x86/boot/bzImage" "$tmp/out/bzImage"
cp "$src/.config" "$tmp/out/config"
cp "$tmp/build.log" "$tmp/out/build.log"
cp "$tmp/fragment" "$tmp/out/fragment"
elapsed=$((SECONDS - start))
printf 'track: %s\nsource: %s\nrelease: %s\nbuilt: %s\nbuilt-in: %s\n' "$track" "$tarball" \
	"$(make -C "$src" -s kernelrelease 2>/dev/null)" "$(date -Is)" "$(fmt_time $elapsed)" >"$tmp/out/info"
mv -T "$tmp/out" "$out"
log "built in $(fmt_time $elapsed): $out"
echo "$out/bzImage"
