/* `splitckpt restart`: picks the newest committed generation (or --generation N) of the
 * checkpoint directory, makes sure the job has a coordinator, and becomes a fresh lower half
 * that maps the saved upper half back and resumes it. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../coordinator/textbuf.h"
#include "cli.h"
#include "coord_start.h"
#include "launcher.h"
#include "lh_exec.h"
#include "image.h"
#include "manifest.h"
#include "supervise.h"

#define MAX_GENERATIONS 4096

static void usage(FILE *f)
{
	fprintf(f,
		"usage: splitckpt restart [OPTIONS] [LAUNCHER [LAUNCHER OPTIONS]]\n"
		"\n"
		"Resumes the job saved in the checkpoint directory from its newest committed\n"
		"generation and keeps checkpointing into the same directory. An MPI job is\n"
		"relaunched with LAUNCHER (mpiexec*, mpirun*, srun: any node set, the same\n"
		"number of ranks), by default with the one it was launched with.\n"
		"\n"
		"  --ckptdir DIR      checkpoint directory (SPLITCKPT_CHECKPOINT_DIR)\n"
		"  --generation N     resume generation N instead of the newest\n"
		"  --interval S       checkpoint every S seconds, 0 = only on request\n"
		"  --keep N           keep the N newest generations (default 2)\n"
		"  --coord-host H     use the coordinator on H (SPLITCKPT_COORD_HOST)\n"
		"  --coord-port P     ... listening on port P (SPLITCKPT_COORD_PORT)\n"
		"  --mpi NAME         the lower half's MPI, mpich or openmpi, whichever the job\n"
		"                     was checkpointed under (SPLITCKPT_MPI; default: the\n"
		"                     launcher's)\n"
		"  --on-signal SIG    on SIG (USR1, 10...), end the job with a checkpoint\n"
		"                     (exit status 85), e.g. Slurm's --signal=B:USR1@120\n"
		"  --requeue          after such an end, `scontrol requeue $SLURM_JOB_ID`\n"
		"  --quiet            no line on stderr for each checkpoint\n"
		"  --verbose          the coordinator's address, and from every rank each\n"
		"                     checkpoint's phases with their times and its image\n"
		"  --help             this text\n");
}

/* The image of this process's rank in generation g, which must open and validate (everything
 * but the page data, whose checksums the restore itself verifies); its program in *program.
 * A generation of an MPI job needs one restarting process per rank, started by the MPI
 * launcher with the job's number of ranks: without one around this process, returns 1. */
static int usable(const char *ckptdir, const struct sc_gen_entry *g, char *image, size_t len,
		  char *program, size_t plen, char *err, size_t errlen)
{
	long rank = 0, size = -1;
	if (g->nranks != 1) {
		sc_launcher_rank(&rank, &size);
		if (rank < 0) {
			snprintf(
			    err, errlen,
			    "generation %llu has %u ranks: restart it under the MPI launcher: "
			    "mpiexec -n %u splitckpt restart --ckptdir %s (srun -n %u ... under "
			    "Slurm), or name the launcher: splitckpt restart --ckptdir %s "
			    "mpiexec -n %u",
			    (unsigned long long)g->gen, g->nranks, g->nranks, ckptdir, g->nranks,
			    ckptdir, g->nranks);
			return 1; /* no launcher around us */
		}
		if ((size >= 0 && size != (long)g->nranks) || rank >= (long)g->nranks) {
			snprintf(err, errlen,
				 "generation %llu was taken with %u ranks but this job has %ld: "
				 "restart it with %u ranks (the number of ranks cannot change)",
				 (unsigned long long)g->gen, g->nranks, size >= 0 ? size : rank + 1,
				 g->nranks);
			return -1;
		}
	}
	if (sc_gen_image_path(ckptdir, g->gen, (uint32_t)rank, image, len)) {
		snprintf(err, errlen, "checkpoint directory path too long: %s", ckptdir);
		return -1;
	}
	struct sc_image img;
	if (sc_image_open(image, &img, err, errlen))
		return -1;
	if (img.hdr.generation != g->gen || img.hdr.rank != (uint32_t)rank ||
	    img.hdr.nranks != g->nranks) {
		snprintf(err, errlen,
			 "%s holds rank %u of %u of generation %llu, not rank %ld of %u of "
			 "generation %llu",
			 image, img.hdr.rank, img.hdr.nranks,
			 (unsigned long long)img.hdr.generation, rank, g->nranks,
			 (unsigned long long)g->gen);
		sc_image_close(&img);
		return -1;
	}
	snprintf(program, plen, "%.*s", (int)sizeof img.hdr.program, img.hdr.program);
	sc_image_close(&img);
	return 0;
}

/* An MPI job restarted without a launcher: under the one it was last run under. */
static int relaunch(const struct sc_job_opts *jo, const char *why)
{
	static char buf[8192], err[1024];
	static char *av[256];
	int n = sc_launcher_recall(jo->ckptdir, buf, sizeof buf, av, 256, err, sizeof err);
	if (n < 0) {
		sc_error("restart", "%s", err);
		return SC_EXIT_FAILURE;
	}
	if (n == 0) {
		sc_error("restart", "%s", why);
		return SC_EXIT_FAILURE;
	}
	enum sc_launcher k = sc_launcher_kind(av[0]);
	if (k == SC_LAUNCHER_NONE) {
		sc_error("restart", "%s/launcher names '%s', which is not an MPI launcher",
			 jo->ckptdir, av[0]);
		return SC_EXIT_FAILURE;
	}
	return sc_restart_under_launcher(jo, k, n, av);
}

/* This rank of an MPI job cannot restart: the job's coordinator, if one runs already (started
 * by `splitckpt restart ... mpiexec` before the ranks, or by a faster rank), ends the ranks
 * that wait for this one and exits if it exists only for this job. */
static void abandon(const struct sc_job_opts *jo)
{
	long rank = -1, size = -1;
	sc_launcher_rank(&rank, &size);
	struct sc_jobstate js;
	char err[1024];
	if (rank < 0 ||
	    sc_coord_target(jo->ckptdir, jo->coord_host,
			    jo->coord_port < 0 ? 0 : (int)jo->coord_port, &js, err, sizeof err))
		return;
	struct sc_textbuf reply;
	int status;
	uint64_t gen;
	sc_tb_init(&reply);
	(void)sc_coord_request(&js, SC_CMD_ABANDON, (uint64_t)rank, 0, 5000, &reply, &status, &gen,
			       err, sizeof err);
	sc_tb_free(&reply);
}

/* Restarts this process's rank (execs the lower half), or returns an exit status after
 * saying why not. */
static int restart_rank(const struct sc_job_opts *jo)
{
	static struct sc_gen_entry gens[MAX_GENERATIONS];
	size_t n = 0;
	char err[2048];
	int r = sc_manifest_load(jo->ckptdir, gens, MAX_GENERATIONS, &n, err, sizeof err);
	if (r < 0) {
		sc_error("restart", "%s", err);
		return SC_EXIT_FAILURE;
	}
	if (n == 0) {
		sc_error("restart", "no checkpoint in %s (no committed generation in %s/MANIFEST)",
			 jo->ckptdir, jo->ckptdir);
		return SC_EXIT_FAILURE;
	}
	const struct sc_gen_entry *g = NULL;
	char image[PATH_MAX], program[PATH_MAX];
	if (jo->generation >= 0) {
		for (size_t i = 0; i < n; i++)
			if (gens[i].gen == (uint64_t)jo->generation)
				g = &gens[i];
		if (!g) {
			sc_error("restart",
				 "generation %ld is not among the committed generations "
				 "of %s (newest: %llu)",
				 jo->generation, jo->ckptdir, (unsigned long long)gens[n - 1].gen);
			return SC_EXIT_FAILURE;
		}
		int u = usable(jo->ckptdir, g, image, sizeof image, program, sizeof program, err,
			       sizeof err);
		if (u == 1)
			return relaunch(jo, err);
		if (u) {
			sc_error("restart", "%s", err);
			return SC_EXIT_FAILURE;
		}
	} else {
		/* The newest generation whose image opens and validates (header, tables); a
		 * damaged newest one falls back to its predecessor, saying so. */
		for (size_t i = n; i-- > 0;) {
			int u = usable(jo->ckptdir, &gens[i], image, sizeof image, program,
				       sizeof program, err, sizeof err);
			if (u == 0) {
				g = &gens[i];
				break;
			}
			if (u == 1)
				return relaunch(jo, err);
			if (gens[i].nranks != 1) {
				/* An MPI job: every rank must resume the same generation, and
				 * one rank alone cannot fall back to an older one. */
				sc_error("restart", "%s", err);
				return SC_EXIT_FAILURE;
			}
			sc_error("restart", "generation %llu is not usable: %s",
				 (unsigned long long)gens[i].gen, err);
		}
		if (!g) {
			sc_error("restart", "no usable generation in %s", jo->ckptdir);
			return SC_EXIT_FAILURE;
		}
		if (g != &gens[n - 1])
			sc_error("restart", "falling back to generation %llu",
				 (unsigned long long)g->gen);
	}
	char *args[] = {image, NULL};
	return sc_lh_exec("restart", jo, "--restore", program, 1, args);
}

int cmd_restart(int argc, char **argv)
{
	struct sc_job_opts jo;
	if (sc_job_opts_parse("restart", argc, argv, 0, &jo))
		return jo.help ? 0 : SC_EXIT_USAGE;
	if (jo.help) {
		usage(stdout);
		return 0;
	}
	/* `splitckpt restart [OPTIONS] LAUNCHER [ITS OPTIONS]`: every rank restarts under it */
	if (jo.argi < argc) {
		enum sc_launcher k = sc_launcher_kind(argv[jo.argi]);
		if (k == SC_LAUNCHER_NONE) {
			sc_error("restart",
				 "unexpected argument '%s': only an MPI launcher (mpiexec, mpirun, "
				 "srun) with its options may follow the options",
				 argv[jo.argi]);
			return SC_EXIT_USAGE;
		}
		int rc = sc_supervise("restart", &jo);
		if (rc >= 0)
			return rc;
		return sc_restart_under_launcher(&jo, k, argc - jo.argi, argv + jo.argi);
	}
	int rc = sc_supervise("restart", &jo);
	if (rc >= 0)
		return rc;
	return sc_restart_here(&jo);
}

int sc_restart_here(const struct sc_job_opts *jo)
{
	int rc = restart_rank(jo);
	abandon(jo);
	return rc;
}
