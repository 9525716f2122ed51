#!/bin/bash
# Checkpoint of an MPI job (bench/mpihog.c under mpiexec.hydra through splitckpt): NRANKS ranks
# with SIZE MiB of touched, incompressible memory each, against NRANKS parallel raw writes
# (+fdatasync) of the same bytes to the same directory in the same run; prints the ratio, and how
# long the MPI cut took (quiesce rounds, drain) from the coordinator's log. Then the cut alone
# for 2, 4 and 8 ranks with small memory. BENCH_MPI=openmpi: under mpirun.openmpi and the Open
# MPI lower half. Usage (from the build tree or with SC_BUILDDIR set):
#   bench/ckpt-mpi.sh [NRANKS] [SIZE_MIB] [DIR]          defaults: 4 256 $TMPDIR
set -euo pipefail
n=${1:-4} mib=${2:-256}
source "$(dirname "$0")/lib.sh"
bench_select_mpi ckpt-mpi
dir=$(mktemp -d "${3:-${TMPDIR:-/tmp}}/sc-bench-mpi.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$b/tools/splitckpt-mpicc" -O2 -o "$dir/mpihog" "$here/mpihog.c"

# one checkpoint of NR ranks with MB MiB each into $dir/ckpt-NR; prints "SECONDS BYTES LOGLINE"
checkpoint() {
	local nr=$1 mb=$2 d=$dir/ckpt-$1
	"$sc" launch --ckptdir "$d" "$launcher" -n "$nr" "$dir/mpihog" "$mb" >"$dir/out" 2>&1 &
	local pid=$!
	for _ in $(seq 1200); do grep -q ready "$dir/out" 2>/dev/null && break; sleep 0.1; done
	"$sc" command --ckptdir "$d" --kcheckpoint --json >"$dir/ckpt.json"
	wait $pid || true
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["nanos"]/1e9, j["bytes"])' \
		"$dir/ckpt.json"
	grep "committed" "$d/coordinator.log" | tail -1
	rm -rf "$d"
}

# the baseline: NRANKS writers of SIZE MiB at once, like the ranks
for r in $(seq "$n"); do "$b/bench/memhog" "$mib" --raw "$dir/raw.$r" >"$dir/raw.$r.out" & done
wait
raw_s=$(awk '{ if ($2 > m) m = $2 } END { printf "%.3f", m }' "$dir"/raw.*.out) # the slowest writer
out=$(checkpoint "$n" "$mib")
read -r ckpt_s bytes <<<"$(head -1 <<<"$out")"
echo "MPI checkpoint ($mpi): $n ranks x $mib MiB = $(calc "$bytes / 1048576") MiB written"
echo "  raw parallel write + fdatasync: ${raw_s} s"
echo "  checkpoint (cut, suspend, write, commit): ${ckpt_s} s   ratio $(calc "$ckpt_s / $raw_s")  (goal <= 1.3)"
phases() { sed -n 's/.* s (\(quiesce.*round(s)\)).*/\1/p'; }
echo "  phases: $(tail -1 <<<"$out" | phases)"
echo "MPI cut alone (16 MiB per rank):"
for nr in 2 4 8; do
	out=$(checkpoint "$nr" 16)
	echo "  $nr ranks: $(tail -1 <<<"$out" | phases)"
done
