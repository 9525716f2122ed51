#!/bin/bash
# How much warning `--on-signal` needs (Slurm's --signal=B:USR1@SECONDS): for each size, a
# process with SIZE MiB of touched, incompressible memory runs under
# `splitckpt launch --on-signal USR1`; the time from the signal to the job's exit (status 85,
# the checkpoint committed) is what the warning must cover, printed with the raw write
# (+fdatasync) of the same bytes to the same directory in the same run. Usage:
#   bench/signal-warning.sh [DIR [SIZE_MIB...]]     (default sizes: 256 1024 4096)
set -euo pipefail
dir=$(mktemp -d "${1:-${TMPDIR:-/tmp}}/sc-warn.XXXXXX")
shift || true
sizes=("$@")
((${#sizes[@]})) || sizes=(256 1024 4096)
source "$(dirname "$0")/lib.sh"
hog=$b/bench/memhog
trap 'rm -rf "$dir"' EXIT

printf '%8s  %10s  %12s  %10s  %s\n' MiB "signal->85" "raw write" ratio "s per GiB"
for mib in "${sizes[@]}"; do
	read -r _ raw_w _ _ < <("$hog" "$mib" --raw "$dir/raw.bin")
	rm -f "$dir/raw.bin"
	"$sc" launch --quiet --on-signal USR1 --ckptdir "$dir/ckpt.$mib" "$hog" "$mib" \
		>"$dir/run.out" 2>&1 &
	pid=$!
	for _ in $(seq 1200); do grep -q ready "$dir/run.out" 2>/dev/null && break; sleep 0.1; done
	t0=$(now)
	kill -USR1 "$pid"
	rc=0
	wait "$pid" || rc=$?
	t1=$(now)
	((rc == 85)) || { cat "$dir/run.out"; echo "signal-warning: exit $rc, not 85" >&2; exit 1; }
	s=$(calc "$t1 - $t0" 2)
	printf '%8d  %8s s  %10s s  %9sx  %s\n' "$mib" "$s" "$(calc "$raw_w" 2)" \
		"$(calc "$s / $raw_w" 2)" "$(calc "$s * 1024 / $mib" 2)"
	rm -rf "$dir/ckpt.$mib"
done
