#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite, from a fresh clone: dependencies, a normal build with
# every suite (unit, integration, bench, and vm: the QEMU guest tier, whose
# kernel is built once and cached in /var/tmp/iommutest-vm, see
# docs/testing.md), an ASan/UBSan build running the
# unit and integration suites, and a clang build that runs the fuzz targets
# under libFuzzer: the kernel-log parser for 30 s; the scenario parser, the
# config file, the CLI's JSON parser, tracefs lines, /proc/interrupts, PCI
# config space and D-Bus method calls for 60 s each.
set -euo pipefail
cd "$(dirname "$0")/.."

contrib/install-deps.sh --test

meson setup build-test --buildtype=debugoptimized --wipe >/dev/null 2>&1 ||
	meson setup build-test --buildtype=debugoptimized >/dev/null
ninja -C build-test
rc=0
meson test -C build-test --print-errorlogs --num-processes 2 || rc=1

meson setup build-sanitize -Db_sanitize=address,undefined -Db_lundef=false --wipe >/dev/null 2>&1 ||
	meson setup build-sanitize -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-sanitize
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-sanitize --suite unit --suite integration --print-errorlogs \
	--num-processes 2 --timeout-multiplier 3 || rc=1

# libFuzzer needs clang; only the fuzz targets are built. Without clang the
# builds above already ran the same targets over their seeds and mutations.
logs=(build-test/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json)
if command -v clang >/dev/null; then
	CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false --wipe >/dev/null 2>&1 ||
		CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
	ninja -C build-fuzz tests/fuzz/fuzz-kmsg tests/fuzz/fuzz-scenario tests/fuzz/fuzz-config \
		tests/fuzz/fuzz-json tests/fuzz/fuzz-tracefs tests/fuzz/fuzz-interrupts tests/fuzz/fuzz-pciconfig \
		tests/fuzz/fuzz-dbus
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-fuzz --suite fuzz --no-rebuild --print-errorlogs || rc=1
	logs+=(build-fuzz/meson-logs/testlog.json)
fi

# What the benchmarks measured and how far each fuzz target got, from the
# tests' own output (meson keeps it in testlog.json), before the closing line.
echo "--- benchmarks and fuzzing ---"
jq -r 'select(.name | test(":(bench|fuzz) / ")) |
	(.name | sub("^.*/ "; "")) as $n | (.stdout // "") + (.stderr // "") | split("\n")[] |
	select(test("ratio|render,|rate with|scrape costs|RSS|descriptors|per replacement|direct [0-9(]|daemon worker|replacements/s|stat::number_of_executed_units|DONE +cov")) |
	"\($n): \(.)"' "${logs[@]}" 2>/dev/null || true

# One closing line over all builds, from meson's machine-readable logs.
jq -rs '
  (map(select(.result == "OK" or .result == "EXPECTEDFAIL")) | length) as $p |
  (map(select(.result == "FAIL" or .result == "TIMEOUT" or .result == "ERROR" or .result == "UNEXPECTEDPASS")) | length) as $f |
  (map(select(.result == "SKIP")) | length) as $s |
  "\($p) passed, \($f) failed, \($s) skipped"' \
	"${logs[@]}"
exit $rc
