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
	# Show the end of every failed test's log: CI keeps only what is printed.
	find tests -name '*.trs' -print0 | xargs -0 grep -l ':test-result: \(FAIL\|ERROR\)' |
		while read -r trs; do
			echo "===== ${trs%.trs}.log"
			tail -n 80 "${trs%.trs}.log"
		done
fi
sh "$top/scripts/test-summary.sh" tests/test-suite.log
exit $rc
