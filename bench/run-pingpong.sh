#!/bin/bash
# Builds bench/pingpong.c natively and with splitckpt-mpicc, runs both with 2 ranks in the same
# session, alternating (ROUNDS times, default 5), and prints the median latencies and bandwidths
# and the ratio splitckpt/native per size. Goals (ping-pong latency): <= 1.10 at 8 B, <= 1.02 at
# 1 MiB. MPICH (mpicc.mpich, mpiexec.hydra) by default; BENCH_MPI=openmpi measures Open MPI
# (mpicc.openmpi, mpirun.openmpi, the Open MPI lower half) against native Open MPI. Usage:
# run-pingpong.sh [ROUNDS]; SC_BUILDDIR / SC_SRCDIR name the trees.
set -eu
rounds=${1:-5}
source "$(dirname "$0")/lib.sh"
bench_select_mpi run-pingpong
work=$(mktemp -d "${TMPDIR:-/tmp}/sc-pingpong.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$native_cc" -O2 -o "$work/native" "$here/pingpong.c"
"$b/tools/splitckpt-mpicc" -O2 -o "$work/sc" "$here/pingpong.c"
for r in $(seq "$rounds"); do
	"$launcher" -n 2 "$work/native" >"$work/native.$r"
	"$launcher" -n 2 "$sc" launch --quiet --ckptdir "$work/ckpt" \
		"$work/sc" >"$work/sc.$r"
done
# median over rounds of each round's median
python3 - "$work" "$rounds" "$mpi" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def load(kind):
    runs = []
    for r in range(1, rounds + 1):
        d = {}
        for line in open(f"{work}/{kind}.{r}"):
            k, size, us = line.split()
            d[(k, int(size))] = float(us)
        runs.append(d)
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}
nat, sc = load("native"), load("sc")
print(f"{sys.argv[3]}: ratio = splitckpt time / native time (1.00 = no overhead; for bandwidth, native MB/s")
print("divided by splitckpt MB/s)")
print(f"{'measurement':<24}{'native':>14}{'splitckpt':>14}{'ratio':>8}")
for key in nat:
    kind, size = key
    ratio = sc[key] / nat[key]
    if kind == "stream":  # time per message -> MB/s
        print(f"{f'bandwidth {size} B':<24}{size / nat[key]:>10.1f}MB/s{size / sc[key]:>10.1f}MB/s"
              f"{ratio:>8.2f}")
        continue
    label = f"{kind} {size} B" if kind != "comm_rank" else "MPI_Comm_rank call"
    print(f"{label:<24}{nat[key]:>12.4f}us{sc[key]:>12.4f}us{ratio:>8.2f}")
d = sc[("comm_rank", 0)] - nat[("comm_rank", 0)]
print(f"crossing cost (MPI_Comm_rank, splitckpt - native): {d * 1000:.1f} ns per call")
PY
