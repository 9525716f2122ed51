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
	    "  --quiet            no line on stderr for each checkpoint\n"
	    "  --help             this text\n",
	    SC_DEFAULT_CKPTDIR);
}

int cmd_launch(int argc, char **argv)
{
	struct sc_job_opts jo;
	if (sc_job_opts_parse("launch", argc, argv, 1, &jo))
		return jo.help ? 0 : SC_EXIT_USAGE;
	if (jo.help) {
		usage(stdout);
		return 0;
	}
	if (jo.argi >= argc) {
		sc_error("launch", "no program given (see splitckpt launch --help)");
		return SC_EXIT_USAGE;
	}
	enum sc_launcher k = sc_launcher_kind(argv[jo.argi]);
	if (k != SC_LAUNCHER_NONE)
		return sc_launch_under_launcher(&jo, k, argc - jo.argi, argv + jo.argi);
	return sc_lh_exec("launch", &jo, "--launch", argv[jo.argi], argc - jo.argi, argv + jo.argi);
}
