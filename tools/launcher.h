/* `splitckpt launch LAUNCHER [LAUNCHER OPTIONS] APP [ARGS]`: recognising an MPI launcher
 * (mpiexec/mpirun of MPICH's hydra or Open MPI, Slurm's srun) as the program, finding where
 * its own options end, and running it with `splitckpt launch` inserted before the application. */
#ifndef SPLITCKPT_LAUNCHER_H
#define SPLITCKPT_LAUNCHER_H

#include <stddef.h>

struct sc_job_opts;

enum sc_launcher {
	SC_LAUNCHER_NONE = 0,
	SC_LAUNCHER_HYDRA,   /* MPICH: mpiexec.hydra, mpiexec.mpich, mpirun.mpich */
	SC_LAUNCHER_OPENMPI, /* Open MPI: mpirun.openmpi, mpiexec.openmpi, orterun */
	SC_LAUNCHER_SRUN,    /* Slurm */
	SC_LAUNCHER_GENERIC, /* another mpiexec/mpirun: the options of hydra and Open MPI */
};

/* The launcher kind of PROGRAM (as named on the command line: mpiexec*, mpirun*, orterun,
 * srun; a plain mpiexec/mpirun is told apart by what it resolves to), or SC_LAUNCHER_NONE. */
enum sc_launcher sc_launcher_kind(const char *program);

/* Index in args (args[0] is the launcher) of the application, i.e. the first argument after
 * the launcher's own options; -1 with err explaining why it cannot be told. */
int sc_launcher_app_index(enum sc_launcher kind, int nargs, char *const *args, char *err,
			  size_t errlen);

/* Ensures the job's coordinator, exports the job settings, and execs the launcher with
 * `splitckpt launch --ckptdir DIR ...` before the application. Returns only on failure (exit
 * status); otherwise the launcher's exit status is the command's. */
int sc_launch_under_launcher(const struct sc_job_opts *o, enum sc_launcher kind, int nargs,
			     char **args);

/* `splitckpt restart [--generation N] LAUNCHER [OPTIONS]`: as above with `splitckpt restart`
 * as the launcher's program (args is the launcher and its options only). */
int sc_restart_under_launcher(const struct sc_job_opts *o, enum sc_launcher kind, int nargs,
			      char **args);

/* The launcher a job in DIR was last run under (DIR/launcher, its argv NUL-separated), kept so
 * that `splitckpt restart --ckptdir DIR` can start the job the same way. Written atomically;
 * pending (a restart's): into DIR/launcher.pending, which the coordinator makes DIR/launcher
 * once every rank restarted. sc_launcher_recall returns the number of arguments (into
 * argv[max], pointing into buf), 0 when none is recorded, -1 with err. */
int sc_launcher_record(const char *ckptdir, int pending, int argc, char *const *argv, char *err,
		       size_t errlen);
int sc_launcher_recall(const char *ckptdir, char *buf, size_t buflen, char **argv, int max,
		       char *err, size_t errlen);
/* This process's rank and the job's size as an MPI launcher set them; -1 when none did. */
void sc_launcher_rank(long *rank, long *size);
/* In a rank started by a launcher around `splitckpt launch` (mpiexec -n 4 splitckpt launch
 * ...): rank 0 records the launcher it can tell from its environment, unless one is recorded. */
void sc_launcher_record_from_env(const char *ckptdir, const char *program);

#endif
