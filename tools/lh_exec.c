/* Option parsing shared by `splitckpt launch` and `splitckpt restart`, and the hand-over to
 * the lower half: after the coordinator is found or started, this process execs the lower
 * half, so the user's process (and its exit status) is the program's. */
#include "config.h"

#include "lh_exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "coord_start.h"
#include "launcher.h"
#include "lh_variant.h"
#include "manifest.h"
#include "supervise.h"

/* "--name VALUE" or "--name=VALUE"; returns the value or NULL if argv[*i] is not --name. */
static const char *opt_value(const char *sub, int argc, char **argv, int *i, const char *name,
			     int *bad)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		sc_error(sub, "option %s needs a value", name);
		*bad = 1;
		return NULL;
	}
	return argv[++*i];
}

int sc_job_opts_parse(const char *sub, int argc, char **argv, int stop_at_program,
		      struct sc_job_opts *o)
{
	memset(o, 0, sizeof *o);
	o->coord_port = -1;
	o->interval = -1;
	o->keep = 2;
	o->generation = -1;
	const char *ckptdir = NULL;
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int bad = 0;
		unsigned long u;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			o->help = 1;
			return 0;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o->quiet = 1;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o->verbose = 1;
		} else if ((v = opt_value(sub, argc, argv, &i, "--ckptdir", &bad))) {
			ckptdir = v;
		} else if ((v = opt_value(sub, argc, argv, &i, "--coord-host", &bad))) {
			o->coord_host = v;
		} else if ((v = opt_value(sub, argc, argv, &i, "--coord-port", &bad))) {
			if (sc_parse_uint(sub, "--coord-port", v, 65535, &u))
				return -1;
			o->coord_port = (long)u;
		} else if ((v = opt_value(sub, argc, argv, &i, "--interval", &bad))) {
			if (sc_parse_uint(sub, "--interval", v, 100000000, &u))
				return -1;
			o->interval = (long)u;
		} else if ((v = opt_value(sub, argc, argv, &i, "--keep", &bad))) {
			if (sc_parse_uint(sub, "--keep", v, 1000000, &u) || u == 0) {
				if (u == 0)
					sc_error(sub, "--keep must be at least 1");
				return -1;
			}
			o->keep = (long)u;
		} else if ((v = opt_value(sub, argc, argv, &i, "--mpi", &bad))) {
			/* the same as SPLITCKPT_MPI, which the launcher passes on to the ranks */
			if (strcmp(v, "mpich") && strcmp(v, "openmpi")) {
				sc_error(sub, "--mpi must be mpich or openmpi (got '%s')", v);
				return -1;
			}
			if (setenv("SPLITCKPT_MPI", v, 1)) {
				sc_error(sub, "cannot set SPLITCKPT_MPI: %s", strerror(errno));
				return -1;
			}
		} else if ((v = opt_value(sub, argc, argv, &i, "--on-signal", &bad))) {
			char err[256];
			o->end_signal = sc_end_signal_parse(v, err, sizeof err);
			if (o->end_signal <= 0) {
				sc_error(sub, "--on-signal: %s", err);
				return -1;
			}
		} else if (!strcmp(a, "--requeue")) {
			o->requeue = 1;
		} else if (stop_at_program && !strcmp(a, "--resume")) {
			o->resume = 1;
		} else if (!stop_at_program &&
			   (v = opt_value(sub, argc, argv, &i, "--generation", &bad))) {
			if (sc_parse_uint(sub, "--generation", v, 999999, &u))
				return -1;
			o->generation = (long)u;
		} else {
			if (!bad)
				sc_error(sub, "unknown option '%s' (see splitckpt %s --help)", a,
					 sub);
			return -1;
		}
		if (bad)
			return -1;
	}
	o->argi = i;
	const char *env_iv = getenv("SPLITCKPT_CHECKPOINT_INTERVAL");
	if (o->interval < 0 && env_iv && *env_iv) {
		unsigned long u;
		if (sc_parse_uint(sub, "SPLITCKPT_CHECKPOINT_INTERVAL", env_iv, 100000000, &u))
			return -1;
		o->interval = (long)u;
	}
	char err[1024];
	if (sc_ckptdir_resolve(ckptdir, o->ckptdir, sizeof o->ckptdir, err, sizeof err)) {
		sc_error(sub, "%s", err);
		return -1;
	}
	return 0;
}

static void set(const char *name, const char *value)
{
	if (setenv(name, value, 1)) {
		perror("setenv");
		exit(SC_EXIT_FAILURE);
	}
}

int sc_job_coordinator(const char *sub, const struct sc_job_opts *o, struct sc_jobstate *js)
{
	char err[2048], parent[PATH_MAX];
	/* like `mkdir -p`: a job script's $SCRATCH/ckpt/$SLURM_JOB_NAME needs no mkdir first */
	snprintf(parent, sizeof parent, "%s", o->ckptdir);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (sc_mkdir_parents(parent, err, sizeof err)) {
			sc_error(sub, "cannot create checkpoint directory %s: %s", o->ckptdir, err);
			return SC_EXIT_FAILURE;
		}
	}
	if (mkdir(o->ckptdir, 0700) && errno != EEXIST) {
		sc_error(sub, "cannot create checkpoint directory %s: %s", o->ckptdir,
			 strerror(errno));
		return SC_EXIT_FAILURE;
	}
	struct sc_coord_opts co = {
	    .ckptdir = o->ckptdir,
	    .coord_host = o->coord_host,
	    .coord_port = o->coord_port < 0 ? 0 : (int)o->coord_port,
	    .interval = o->interval,
	    .keep = (unsigned)o->keep,
	    .quiet = o->quiet,
	};
	int started = 0;
	if (sc_coord_ensure(&co, js, &started, err, sizeof err)) {
		sc_error(sub, "%s", err);
		return SC_EXIT_FAILURE;
	}
	long rank = -1, size = -1;
	sc_launcher_rank(&rank, &size);
	if (o->verbose && (rank < 0 || !o->coord_host)) /* not again by each rank we start */
		sc_error(sub, "coordinator %s:%d (pid %d, %s) for %s", js->host, js->port, js->pid,
			 started ? "started now" : "already running", o->ckptdir);
	return 0;
}

int sc_lh_exec(const char *sub, const struct sc_job_opts *o, const char *mode, const char *program,
	       int nargs, char **args)
{
	char err[2048], lh[PATH_MAX], runtime[PATH_MAX];
	/* MPI programs (linked by splitckpt-mpicc) need the lower half of an MPI implementation;
	 * see lh_variant.c. Everything else runs on the serial one. */
	char variant[32];
	sc_lh_variant(mode, program, variant, sizeof variant);
	if (sc_find_lower_half(variant, lh, sizeof lh, err, sizeof err) ||
	    sc_find_runtime_lib(runtime, sizeof runtime, err, sizeof err)) {
		sc_error(sub, "%s", err);
		return SC_EXIT_FAILURE;
	}
	struct sc_jobstate js;
	int rc = sc_job_coordinator(sub, o, &js);
	if (rc)
		return rc;
	/* inside a launcher (mpiexec -n 4 splitckpt launch ./app): how to start the job again,
	 * now that the checkpoint directory exists */
	if (!strcmp(mode, "--launch"))
		sc_launcher_record_from_env(o->ckptdir, program);
	char port[16];
	snprintf(port, sizeof port, "%d", js.port);
	set("SPLITCKPT_LH_COORD_HOST", js.host);
	set("SPLITCKPT_LH_COORD_PORT", port);
	set("SPLITCKPT_LH_SECRET", js.secret);
	set("SPLITCKPT_LH_CKPTDIR", o->ckptdir);
	set("SPLITCKPT_LH_RUNTIME", runtime);
	set("SPLITCKPT_LH_QUIET", o->quiet ? "1" : "0");
	set("SPLITCKPT_LH_VERBOSE", o->verbose ? "1" : "0");
	char end_signal[16];
	snprintf(end_signal, sizeof end_signal, "%d", o->end_signal);
	set("SPLITCKPT_LH_END_SIGNAL", end_signal);
	char **av = calloc((size_t)nargs + 3, sizeof *av);
	if (!av)
		return SC_EXIT_FAILURE;
	av[0] = lh;
	av[1] = (char *)mode;
	for (int i = 0; i < nargs; i++)
		av[2 + i] = args[i];
	execv(lh, av);
	sc_error(sub, "cannot run %s: %s", lh, strerror(errno));
	return SC_EXIT_FAILURE;
}
