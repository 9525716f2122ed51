#!/bin/bash
# examples/heat_mpi.c (nonblocking halo exchange + Allreduce) built natively and with
# splitckpt-mpicc, run with 2 and 4 ranks: the output through splitckpt must equal the native.
. "$(dirname "$0")/crossing-lib.sh"
src=$SC_SRCDIR/examples/heat_mpi.c
# gcc 12 flags MPICH's own MPI_STATUSES_IGNORE ((MPI_Status *)1) at -O2: not our code.
"$NATIVE_CC" -std=gnu11 -O2 -Wall -Wextra -Werror -Wno-stringop-overflow \
	-o "$BIN/heat_mpi.native" "$src" -lm ||
	fail "native build of heat_mpi"
"$SC_BUILDDIR/tools/splitckpt-mpicc" -std=gnu11 -O2 -Wall -Wextra -Werror -o "$BIN/heat_mpi.sc" \
	"$src" -lm || fail "splitckpt-mpicc build of heat_mpi"
for n in 2 4; do
	run_native heat_mpi "$n" >"$WORK/native-$n.out" || fail "heat_mpi native with $n ranks"
	run_sc heat_mpi "$n" >"$WORK/sc-$n.out" || fail "heat_mpi through splitckpt with $n ranks"
	[ "$(wc -l <"$WORK/native-$n.out")" -ge 20 ] || fail "heat_mpi printed too little"
	cmp "$WORK/native-$n.out" "$WORK/sc-$n.out" || fail "heat_mpi output differs with $n ranks"
	echo "PASS: heat_mpi with $n ranks: splitckpt output == native output"
done
