# The MPI examples users copy (examples/), run natively and through splitckpt.
TESTS += mpi/example-heat.sh
EXTRA_DIST += mpi/example-heat.sh
TESTS += mpi/mpicc-projects.sh
EXTRA_DIST += mpi/mpicc-projects.sh
