#!/bin/bash
# wrappers/COVERAGE.md is what `gen.py mpi.list coverage` makes of the current list: a function
# added to mpi.list without regenerating the document fails here.
set -u
: "${SC_SRCDIR:?run through make check}"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"${PYTHON:-python3}" -B "$SC_SRCDIR/wrappers/gen.py" "$SC_SRCDIR/wrappers/mpi.list" coverage "$out" || exit 1
if ! diff -u "$SC_SRCDIR/wrappers/COVERAGE.md" "$out"; then
	echo "FAIL: wrappers/COVERAGE.md is stale: run wrappers/gen.py mpi.list coverage COVERAGE.md"
	exit 1
fi
echo "PASS: wrappers/COVERAGE.md matches mpi.list"
