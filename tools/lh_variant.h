/* Which lower half runs a program: the serial one, or the one of an MPI implementation for
 * programs built with splitckpt-mpicc (they link libsplitckpt_mpi.so). */
#ifndef SPLITCKPT_LH_VARIANT_H
#define SPLITCKPT_LH_VARIANT_H

#include <stddef.h>

/* SPLITCKPT_LOWER_HALF (serial, mpich, openmpi) if set; else for `--launch PROGRAM` an MPI
 * lower half when PROGRAM, found like execvp finds it, is an ELF file that needs
 * libsplitckpt_mpi.so: SPLITCKPT_MPI if set, else "openmpi" under an Open MPI launcher (mpirun,
 * srun --mpi=pmix), else "mpich"; else "serial". Writes the name to out. */
void sc_lh_variant(const char *mode, const char *program, char *out, size_t outlen);

#endif
