#!/bin/bash
# Checkpoint and restart throughput of a process with SIZE MiB (default 1024) of touched,
# incompressible memory, against the raw write (+fdatasync) and read of the same bytes to the
# same directory, measured in the same run. Prints the ratios. Usage:
#   bench/ckpt-restart.sh [SIZE_MIB] [DIR]      (run from the build tree or with SC_BUILDDIR set)
set -euo pipefail
mib=${1:-1024}
dir=$(mktemp -d "${2:-${TMPDIR:-/tmp}}/sc-bench.XXXXXX")
source "$(dirname "$0")/lib.sh"
hog=$b/bench/memhog
trap '"$sc" command --ckptdir "$dir/ckpt" --quit >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }

read -r _ raw_w _ raw_r < <("$hog" "$mib" --raw "$dir/raw.bin")

"$sc" launch --quiet --ckptdir "$dir/ckpt" "$hog" "$mib" > "$dir/run1.out" 2>&1 &
for _ in $(seq 600); do grep -q ready "$dir/run1.out" 2>/dev/null && break; sleep 0.1; done
t0=$(now)
"$sc" command --ckptdir "$dir/ckpt" --kcheckpoint > "$dir/ckpt.txt"
t1=$(now)
wait || true
ckpt_s=$(calc "$t1 - $t0" 6)
bytes=$(awk 'NR>2 {b=$4} END {print b}' "$dir/ckpt/MANIFEST")

drop_caches
t0=$(now)
"$sc" restart --quiet --ckptdir "$dir/ckpt" > "$dir/run2.out" 2>&1 &
pid=$!
for _ in $(seq 6000); do grep -q tick "$dir/run2.out" 2>/dev/null && break; sleep 0.005; done
t1=$(now)
restart_s=$(calc "$t1 - $t0" 6)
kill "$pid" 2>/dev/null || true
wait 2>/dev/null || true

printf 'memory %d MiB, image %.3f GB\n' "$mib" "$(calc "$bytes / 1000000000")"
printf 'raw write+fdatasync %.3f s, raw read (cold) %.3f s\n' "$raw_w" "$raw_r"
printf 'checkpoint (command to commit) %.3f s = %.2fx raw write (goal <= 1.25)\n' "$ckpt_s" "$(calc "$ckpt_s / $raw_w")"
printf 'restart (command to running, cold cache) %.3f s = %.2fx raw write (goal <= 1.5), %.2fx raw read\n' \
	"$restart_s" "$(calc "$restart_s / $raw_w")" "$(calc "$restart_s / $raw_r")"
