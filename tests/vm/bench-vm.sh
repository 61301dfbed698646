#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench-vm.sh --kernel=lts|sid --profile=iommu|mock [--boots=N] [run-vm.sh options…]
#
# The VM tier's benchmarks (meson test --suite vm: vm-TRACK-PROFILE-bench):
# N (default 2) separate benchmark boots (run-vm.sh --bench: QEMU with
# -icount, rates in guest time), then each RESULT ratio of the first boot
# beside the others'. The method is only worth its numbers if boots agree: a
# ratio that differs between two boots by more than BENCH_REPRO_POINTS
# (default 1) points fails the test, and so does a boot that fails or a
# benchmark missing from one. Points of a contention curve (workers=N, N > 1:
# N threads on two vCPUs, whose interleaving the guest scheduler decides
# anew in each boot) get BENCH_REPRO_POINTS_CONTENDED (default 3). The ratios
# themselves (the daemon against the bare ioctl loop) are printed, never
# judged: the target is the issue's, not a gate.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
boots=2 args=()
for arg; do
	case $arg in
	--boots=*) boots=${arg#*=} ;;
	*) args+=("$arg") ;;
	esac
done
[[ $boots =~ ^[1-9]$ ]] || { echo "bench-vm.sh: --boots=$boots: 1 to 9" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/iommutest-bench-vm.XXXXXX")
trap 'rm -rf "$T"' EXIT
tolerance=${BENCH_REPRO_POINTS:-1} tolerance_contended=${BENCH_REPRO_POINTS_CONTENDED:-3}

for ((boot = 1; boot <= boots; boot++)); do
	echo "==== benchmark boot $boot of $boots ===="
	# Each boot its own --log-dir (DIR/bootN): one boot's logs must not overwrite another's.
	boot_args=()
	for arg in "${args[@]}"; do
		if [[ $arg == --log-dir=* ]] && ((boots > 1)); then
			arg=$arg/boot$boot
		fi
		boot_args+=("$arg")
	done
	rc=0
	"$here/run-vm.sh" --bench "${boot_args[@]}" >"$T/boot$boot" 2>&1 || rc=$?
	cat "$T/boot$boot"
	((rc == 0)) || exit "$rc"
done

# "RESULT bench-mock-pasid workers=4 daemon=… ratio=98.1% spread=0.3 …" →
# "bench-mock-pasid workers=4<TAB>98.1<TAB>0.3"
ratios() {
	sed -En 's/^RESULT (bench-[^ ]+( [a-z]+=[0-9]+)?) daemon=[^ ]+ bare=[^ ]+ ratio=([0-9.]+)% spread=([0-9.]+) .*/\1\t\3\t\4/p' "$1"
}
ratios "$T/boot1" >"$T/r1"
[[ -s $T/r1 ]] || { echo "FAIL: the first boot printed no benchmark ratio"; exit 1; }
((boots > 1)) || { echo "bench-vm: one boot: the ratios are not compared"; exit 0; }
echo "==== reproducibility: the same ratios from $boots boots (tolerance $tolerance point, contention curve $tolerance_contended) ===="
bad=0
for ((boot = 2; boot <= boots; boot++)); do
	ratios "$T/boot$boot" >"$T/r$boot"
	while IFS=$'\t' read -r name r1 s1; do
		line=$(awk -F'\t' -v n="$name" '$1 == n' "$T/r$boot")
		if [[ -z $line ]]; then
			echo "FAIL: $name: in boot 1, not in boot $boot"
			bad=1
			continue
		fi
		IFS=$'\t' read -r _ r2 s2 <<<"$line"
		tol=$tolerance
		[[ $name =~ workers=([0-9]+)$ ]] && ((BASH_REMATCH[1] > 1)) && tol=$tolerance_contended
		delta=$(awk -v a="$r1" -v b="$r2" 'BEGIN { d = a - b; printf "%.1f", d < 0 ? -d : d }')
		verdict=ok
		awk -v d="$delta" -v t="$tol" 'BEGIN { exit !(d <= t) }' || { verdict="FAIL: more than $tol points apart"; bad=1; }
		printf '%-28s boot 1 %6s%% (spread %s)   boot %s %6s%% (spread %s)   difference %s points (tolerance %s): %s\n' \
			"$name" "$r1" "$s1" "$boot" "$r2" "$s2" "$delta" "$tol" "$verdict"
		echo "RESULT $name reproducible boot=$boot ratio1=$r1% ratio$boot=$r2% delta=$delta tolerance=$tol $([[ $verdict == ok ]] && echo ok || echo failed)"
	done <"$T/r1"
	if [[ $(wc -l <"$T/r$boot") -ne $(wc -l <"$T/r1") ]]; then
		echo "FAIL: boots 1 and $boot printed different benchmarks: $(cut -f1 "$T/r1" | paste -sd' ') / $(cut -f1 "$T/r$boot" | paste -sd' ')"
		bad=1
	fi
done
((bad == 0)) || exit 1
echo "bench-vm: every ratio of boot 1 is within its tolerance in the other boots"
