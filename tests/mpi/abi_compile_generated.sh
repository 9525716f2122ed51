#!/bin/bash
# include/mpi_proto.h and pmpi_proto.h are generated from include/mpi_proto.list: fail when
# someone edited one side only. Skipped (77) where python3 is missing.
set -eu
command -v python3 >/dev/null 2>&1 || { echo "python3 not found: skipped"; exit 77; }
exec python3 "$SC_SRCDIR/include/gen_mpi_proto.py" --check "$SC_SRCDIR/include"
