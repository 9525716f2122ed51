#!/bin/bash
# The second half of ckpt-cov.sh's programs: persistent collectives, dynamic, shared and PSCW
# windows, MPI-IO, neighbourhood and large-count collectives, handles as integers, sessions.
CKPT_COV_SET="cov_pcoll cov_dynwin cov_io cov_shwin cov_pscw cov_nbr cov_interop cov_session" \
	exec bash "$(dirname "$0")/ckpt-cov.sh"
