#!/bin/bash
# make check: 'srun --mpi=pmix -N 2 -n 4' runs the Open MPI build of mpi_ring.c on 2 emulated
# nodes (cluster.sh) and every rank checks a real MPI exchange; rank hostnames must cover n1..n2.
# Skips (77) if Open MPI was not found by configure or no cluster can be created here.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=smoke-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/smoke-lib.sh"
smoke_main openmpi pmix 2 4
