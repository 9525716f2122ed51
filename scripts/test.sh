#!/bin/bash
# The README's test command: installs the dependencies, builds with warnings as errors and runs
# every test (`make check`: unit tests under ASan/UBSan, end-to-end checkpoint/restart tests,
# emulated Slurm cluster tests). Prints "N passed, N failed, N skipped" last.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
sh scripts/setup-debian.sh
[ -x configure ] || ./autogen.sh
build=${SC_BUILD_DIR:-$top/build}
mkdir -p "$build"
cd "$build"
[ -f Makefile ] || "$top/configure" --enable-werror --prefix="$build/install"
make -j2
rc=0
make -j2 check || rc=$?
if [ $rc -ne 0 ]; then
	for f in $(find tests -name '*.log' ! -name test-suite.log); do
		if grep -qE '^(FAIL|ERROR)' "${f%.log}.trs" 2>/dev/null || grep -q ':test-result: FAIL\|:test-result: ERROR' "${f%.log}.trs" 2>/dev/null; then
			echo "===== $f"; tail -n 60 "$f"
		fi
	done
fi
sh "$top/scripts/test-summary.sh" tests/test-suite.log
exit $rc
