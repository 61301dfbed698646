#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The whole test suite, from a fresh clone: dependencies, a normal build with
# every suite (unit, integration, bench), and an ASan/UBSan build running the
# unit and integration suites.
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

# One closing line over both builds, from meson's machine-readable logs.
jq -rs '
  (map(select(.result == "OK" or .result == "EXPECTEDFAIL")) | length) as $p |
  (map(select(.result == "FAIL" or .result == "TIMEOUT" or .result == "ERROR" or .result == "UNEXPECTEDPASS")) | length) as $f |
  (map(select(.result == "SKIP")) | length) as $s |
  "\($p) passed, \($f) failed, \($s) skipped"' \
	build-test/meson-logs/testlog.json build-sanitize/meson-logs/testlog.json
exit $rc
