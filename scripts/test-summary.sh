#!/bin/sh
# Prints "N passed, N failed, N skipped" from an automake test-suite.log (the closing line CI reads).
log=${1:-tests/test-suite.log}
[ -f "$log" ] || { echo "test-summary: $log not found" >&2; exit 1; }
get() { sed -n "s/^# $1: *\([0-9]*\).*/\1/p" "$log" | head -1; }
pass=$(get PASS); fail=$(get FAIL); skip=$(get SKIP); xfail=$(get XFAIL); xpass=$(get XPASS); err=$(get ERROR)
echo "${pass:-0} passed, $(( ${fail:-0} + ${xpass:-0} + ${err:-0} )) failed, ${skip:-0} skipped"
