/* `splitckpt launch`: makes sure the job has a coordinator (starting one if none is reachable),
 * then becomes the program's lower half, which loads PROGRAM as the upper half. The process
 * that the user started is the process that runs the program, so its exit status is the
 * program's. An MPI launcher as PROGRAM is run natively around the ranks (launcher.c). */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "launcher.h"
#include "lh_exec.h"
#include "manifest.h"
#include "supervise.h"

#define SUB "launch"

/* The words of a command line, as MANIFEST records it ("prog arg..."), one of which names the
 * same file as `program` (a #! script is recorded as its interpreter's command line). */
static int same_program(const char *recorded, const char *program)
{
	const char *want = sc_base_name(program);
	size_t wlen = strlen(want);
	for (const char *w = recorded; *w;) {
		size_t len = strcspn(w, " ");
		const char *base = w;
		for (const char *q = w; q < w + len; q++)
			if (*q == '/')
				base = q + 1;
		if ((size_t)(w + len - base) == wlen && !strncmp(base, want, wlen))
			return 1;
		w += len;
		w += strspn(w, " ");
	}
	return 0;
}

/* --resume: DIR holds a committed generation, so this is a job script's requeued run: restart
 * (under the same launcher, if one is given) instead of launching. -1: nothing to resume. */
static int resume(const struct sc_job_opts *jo, enum sc_launcher k, int nargs, char **args)
{
	static struct sc_gen_entry newest;
	size_t n = 0;
	char err[2048];
	if (sc_manifest_load(jo->ckptdir, &newest, 1, &n, err, sizeof err) < 0) {
		sc_error(SUB, "--resume: %s", err);
		return SC_EXIT_FAILURE;
	}
	if (n == 0)
		return -1;
	const char *program = args[0];
	if (k != SC_LAUNCHER_NONE) {
		int app = sc_launcher_app_index(k, nargs, args, err, sizeof err);
		if (app < 0) {
			sc_error(SUB, "%s", err);
			return SC_EXIT_USAGE;
		}
		/* `srun ... splitckpt launch ./app`: the inner launch's options hide the app */
		program = strcmp(sc_base_name(args[app]), "splitckpt") ? args[app] : NULL;
		nargs = app;
	}
	if (program && strcmp(newest.program, "-") && !same_program(newest.program, program)) {
		sc_error(SUB,
			 "--resume: %s holds a checkpoint of '%s', not of %s: use another "
			 "--ckptdir, or remove it to start afresh",
			 jo->ckptdir, newest.program, program);
		return SC_EXIT_FAILURE;
	}
	if (!jo->quiet)
		sc_error(SUB, "--resume: resuming generation %llu of %s",
			 (unsigned long long)newest.gen, jo->ckptdir);
	if (k != SC_LAUNCHER_NONE)
		return sc_restart_under_launcher(jo, k, nargs, args);
	return sc_restart_here(jo);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: splitckpt launch [OPTIONS] PROGRAM [ARGS...]\n"
	    "       splitckpt launch [OPTIONS] LAUNCHER [LAUNCHER OPTIONS] APP [ARGS...]\n"
	    "\n"
	    "Runs PROGRAM under checkpoint control and exits with its exit status\n"
	    "(85 when the job was ended by `splitckpt command --kcheckpoint`).\n"
	    "An MPI launcher (mpiexec*, mpirun*, srun) as PROGRAM runs the job's ranks:\n"
	    "its options are kept and `splitckpt launch` is inserted before APP, all\n"
	    "ranks share one coordinator, and the exit status is the launcher's. When\n"
	    "its options cannot be parsed, use `mpiexec -n N splitckpt launch ./app`.\n"
	    "\n"
	    "  --ckptdir DIR      checkpoint directory (SPLITCKPT_CHECKPOINT_DIR, default ./%s)\n"
	    "  --interval S       checkpoint every S seconds, 0 = only on request\n"
	    "                     (SPLITCKPT_CHECKPOINT_INTERVAL, default 0)\n"
	    "  --keep N           keep the N newest generations (default 2)\n"
	    "  --coord-host H     use the coordinator on H (SPLITCKPT_COORD_HOST)\n"
	    "  --coord-port P     ... listening on port P (SPLITCKPT_COORD_PORT)\n"
	    "  --mpi NAME         the lower half's MPI: mpich or openmpi (SPLITCKPT_MPI; default:\n"
	    "                     the launcher's)\n"
	    "  --resume           if DIR holds a checkpoint, restart from its newest generation\n"
	    "                     (under LAUNCHER, with its options) instead: the same job\n"
	    "                     script serves the first run and every requeued one\n"
	    "  --on-signal SIG    on SIG (USR1, 10...), end the job with a checkpoint\n"
	    "                     (exit status 85), e.g. Slurm's --signal=B:USR1@120\n"
	    "  --requeue          after such an end, `scontrol requeue $SLURM_JOB_ID`\n"
	    "  --quiet            no line on stderr for each checkpoint\n"
	    "  --verbose          the coordinator's address, and from every rank each\n"
	    "                     checkpoint's phases with their times and its image\n"
	    "  --help             this text\n",
	    SC_DEFAULT_CKPTDIR);
}

int cmd_launch(int argc, char **argv)
{
	struct sc_job_opts jo;
	if (sc_job_opts_parse(SUB, argc, argv, 1, &jo))
		return jo.help ? 0 : SC_EXIT_USAGE;
	if (jo.help) {
		usage(stdout);
		return 0;
	}
	if (jo.argi >= argc) {
		sc_error(SUB, "no program given (see splitckpt launch --help)");
		return SC_EXIT_USAGE;
	}
	int rc = sc_supervise(SUB, &jo);
	if (rc >= 0)
		return rc;
	enum sc_launcher k = sc_launcher_kind(argv[jo.argi]);
	if (jo.resume && (rc = resume(&jo, k, argc - jo.argi, argv + jo.argi)) >= 0)
		return rc;
	if (k != SC_LAUNCHER_NONE)
		return sc_launch_under_launcher(&jo, k, argc - jo.argi, argv + jo.argi);
	return sc_lh_exec(SUB, &jo, "--launch", argv[jo.argi], argc - jo.argi, argv + jo.argi);
}
