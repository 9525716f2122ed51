#!/bin/bash
# make check: 'srun --mpi=pmi2 -N 3 -n 4' runs the MPICH build of mpi_ring.c across 3 emulated
# nodes (cluster.sh) and every rank checks a real MPI exchange; rank hostnames must cover n1..n3.
# Skips (77) if MPICH was not found by configure or no cluster can be created here.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=smoke-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/smoke-lib.sh"
smoke_main mpich pmi2 3 4
