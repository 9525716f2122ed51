/* What `launch` and `restart` share: their common options, and becoming the lower half once
 * the job's coordinator is known. */
#ifndef SPLITCKPT_LH_EXEC_H
#define SPLITCKPT_LH_EXEC_H

#include <limits.h>

struct sc_job_opts {
	char ckptdir[PATH_MAX]; /* absolute */
	const char *coord_host; /* NULL = unset */
	long coord_port;	/* -1 = unset */
	long interval;		/* -1 = unset (keep the coordinator's) */
	long keep;		/* generations to keep */
	int quiet;
	int verbose;	 /* the coordinator found or started; each rank's checkpoints */
	long generation; /* restart only; -1 = newest */
	int end_signal;	 /* --on-signal: end the job with a checkpoint on it (0 = none) */
	int requeue;	 /* --requeue: requeue the Slurm job after such an end */
	int resume;	 /* launch --resume: restart when DIR holds a checkpoint */
	int help;
	int argi; /* index of the first non-option argument */
};

/* Parses the options of `launch` (stop_at_program: the first non-option is PROGRAM) or
 * `restart`. Returns 0, or -1 after printing a message naming the bad option. */
int sc_job_opts_parse(const char *sub, int argc, char **argv, int stop_at_program,
		      struct sc_job_opts *o);

struct sc_jobstate;

/* Creates the checkpoint directory if needed and makes sure the job has a coordinator (found
 * or started per the options), filling *js. Returns 0, or an exit status after printing why. */
int sc_job_coordinator(const char *sub, const struct sc_job_opts *o, struct sc_jobstate *js);

/* Ensures the coordinator, then execs the lower half that `program` needs (serial, or an MPI
 * implementation's: lh_variant.c) as `LH MODE ARGS...` with the job's settings in
 * SPLITCKPT_LH_* variables. Returns only on failure (exit status). */
int sc_lh_exec(const char *sub, const struct sc_job_opts *o, const char *mode, const char *program,
	       int nargs, char **args);

/* `splitckpt restart` in this process (a serial job, or one rank under a launcher): from the
 * newest usable generation or o->generation; returns only on failure (exit status). */
int sc_restart_here(const struct sc_job_opts *o);
#endif
