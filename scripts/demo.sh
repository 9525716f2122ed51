#!/bin/bash
# The README's demo: installs dependencies, builds and installs splitckpt, then runs the MPI heat
# example (examples/heat_mpi.c, 4 ranks under MPICH's mpiexec) under splitckpt, checkpoints it,
# ends it with a kill-checkpoint, restarts it with `splitckpt restart` (which starts the same
# launcher again) and shows that it resumed after the checkpoint and printed exactly what an
# uninterrupted run prints.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
sh scripts/setup-debian.sh >/dev/null
[ -x configure ] || ./autogen.sh >/dev/null 2>&1
build=${SC_BUILD_DIR:-$top/build}
mkdir -p "$build" && cd "$build"
[ -f Makefile ] || "$top/configure" --enable-werror --prefix="$build/install" >/dev/null
make -j2 >/dev/null
make install >/dev/null
PATH=$build/install/bin:$PATH
work=$(mktemp -d /tmp/splitckpt-demo.XXXXXX)
# One node: MPICH's shared-memory transports (UCX would also probe network devices).
export UCX_TLS=${UCX_TLS:-self,sm}
args=(1500 1024)
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "building examples/heat_mpi.c with mpicc.mpich (reference) and splitckpt-mpicc"
mpicc.mpich -O2 -w -o "$work/heat_native" "$top/examples/heat_mpi.c" -lm
splitckpt-mpicc -O2 -o "$work/heat_mpi" "$top/examples/heat_mpi.c" -lm

say "uninterrupted run: mpiexec.hydra -n 4 heat_native ${args[*]}"
mpiexec.hydra -n 4 "$work/heat_native" "${args[@]}" >"$work/reference.out"
tail -n 2 "$work/reference.out"

say "splitckpt launch --ckptdir $work/ckpt mpiexec.hydra -n 4 heat_mpi ${args[*]}"
splitckpt launch --ckptdir "$work/ckpt" mpiexec.hydra -n 4 "$work/heat_mpi" "${args[@]}" \
	>"$work/run1.out" 2>"$work/run1.err" &
pid=$!
wait_lines() {
	for _ in $(seq 1200); do
		[ "$(wc -l <"$work/run1.out")" -ge "$1" ] && return
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	echo "demo: the job did not get to $1 lines" >&2
	cat "$work/run1.err" >&2
	exit 1
}
wait_lines 20
splitckpt command --ckptdir "$work/ckpt" --status
splitckpt command --ckptdir "$work/ckpt" --bcheckpoint
wait_lines 40
say "kill-checkpoint after $(wc -l <"$work/run1.out") lines of output"
splitckpt command --ckptdir "$work/ckpt" --kcheckpoint
set +e
wait $pid
rc=$?
set -e
echo "launched job ended with status $rc (85 = ended by a kill-checkpoint)"
# When the first rank's exit status 85 reaches it, MPICH's mpiexec may kill the ranks still
# exiting, report their signal instead and print a banner on stdout after their output.
sed -i -e '/^=*$/d' -e '/^=   /d' -e '/^YOUR APPLICATION TERMINATED/d' \
	-e '/^This typically refers to a problem/d' -e '/^Please see the FAQ page/d' "$work/run1.out"
cat "$work/run1.err"
splitckpt inspect "$work/ckpt" --no-verify >"$work/inspect.txt"
head -n 8 "$work/inspect.txt"

say "splitckpt restart --ckptdir $work/ckpt   (runs mpiexec.hydra -n 4 again, recorded at launch)"
splitckpt restart --ckptdir "$work/ckpt" >"$work/run2.out"
echo "restarted run printed $(wc -l <"$work/run2.out") lines, starting with: $(head -n 1 "$work/run2.out")"
cat "$work/run1.out" "$work/run2.out" >"$work/combined.out"
if cmp -s "$work/combined.out" "$work/reference.out" && [ "$(head -n 1 "$work/run2.out")" != "$(head -n 1 "$work/reference.out")" ]; then
	say "OK: the restart resumed after the checkpoint; launch + restart output == uninterrupted output"
else
	say "MISMATCH"
	diff "$work/reference.out" "$work/combined.out" | head
	exit 1
fi
rm -rf "$work"
