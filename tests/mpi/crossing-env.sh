#!/bin/bash
# crossing_env.c natively and through the MPICH lower half: with 2 ranks once for MPI_Init and
# once for every level of MPI_Init_thread, with 4 ranks for MPI_THREAD_MULTIPLE. Both runs must
# pass and report the same provided level (the crossing converts the ABI's 0/1024/2048/4096 to
# MPICH's levels and back).
. "$(dirname "$0")/crossing-lib.sh"
build crossing_env
for n in 2 4; do
	levels="init single funneled serialized multiple"
	[ "$n" = 2 ] || levels=multiple
	for level in $levels; do
		native=$(run_native crossing_env "$n" "$level") ||
			fail "crossing_env native with $n ranks, $level (status $?)"
		sc=$(run_sc crossing_env "$n" "$level") ||
			fail "crossing_env through splitckpt with $n ranks, $level (status $?)"
		echo "native: $native"
		echo "splitckpt: $sc"
		[ -n "$native" ] && [ "$native" = "$sc" ] ||
			fail "$level with $n ranks: splitckpt and native differ"
	done
	echo "PASS: crossing_env with $n ranks ($levels), native and through splitckpt"
done
