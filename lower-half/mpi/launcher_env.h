/* The rank and job size an MPI launcher gives a process in its environment, read the same way by
 * the MPI lower half (before MPI_Init) and by `splitckpt` (which rank's image to restore):
 * hydra and srun --mpi=pmi2 set PMI_*, Open MPI's mpirun OMPI_COMM_WORLD_*, srun --mpi=pmix
 * PMIX_RANK (its size is SLURM_NTASKS; PMIX_SIZE where a PMIx launcher sets it). */
#ifndef SPLITCKPT_LAUNCHER_ENV_H
#define SPLITCKPT_LAUNCHER_ENV_H

#include <stdlib.h>
#include <string.h>

/* *rank and *size from the first variable pair whose rank is set; -1 where unknown. */
static inline void sc_launcher_env_rank(long *rank, long *size)
{
	static const char *const names[][3] = {
	    {"PMI_RANK", "PMI_SIZE", NULL},
	    {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", NULL},
	    {"PMIX_RANK", "PMIX_SIZE", "SLURM_NTASKS"},
	    {"SLURM_PROCID", "SLURM_NTASKS", NULL},
	};
	*rank = *size = -1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *r = getenv(names[i][0]), *n = getenv(names[i][1]);
		if (!r || !*r)
			continue;
		/* A Slurm batch script has SLURM_PROCID=0 too, but it is no task of a step. */
		if (!strcmp(names[i][0], "SLURM_PROCID") && !getenv("SLURM_STEP_ID"))
			continue;
		if ((!n || !*n) && names[i][2])
			n = getenv(names[i][2]);
		*rank = atol(r);
		*size = n && *n ? atol(n) : -1;
		return;
	}
}

#endif
