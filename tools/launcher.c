/* `splitckpt launch mpiexec -n 4 ./app`: the program is an MPI launcher. Instead of loading it
 * as an upper half, launch starts (or finds) the job's one coordinator, exports the job settings
 * and runs the launcher natively with `splitckpt launch` inserted before the application, so
 * each rank runs `splitckpt launch ./app` and joins that coordinator. The launcher's own options
 * are parsed with a table per launcher; an option we do not know may take a value, so rather
 * than guess where the application starts we stop with a message (see wrappers/README.md). */
#define _GNU_SOURCE
#include "config.h"

#include "launcher.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "coord_start.h"
#include "lh_exec.h"

#define SUB "launch"

/* Each launcher's options, by how many values follow them as separate arguments: space-separated
 * names in [0], [1], [2]. For hydra and Open MPI without their leading dashes (both accept -opt
 * and --opt); for srun, short options (one letter after '-') and long ones (after "--") apart. */
struct grammar {
	const char *nvals[3];
};

/* MPICH's hydra (mpiexec.hydra -h). */
static const struct grammar hydra = {{
    "v verbose info l prepend-rank ordered-output genvall genvnone envall envnone "
    "print-all-exitcodes disable-auto-cleanup enable-x disable-x",
    "n np f hostfile machinefile host hosts ppn wdir configfile launcher launcher-exec "
    "bootstrap bootstrap-exec rmk bind-to binding map-by genvlist envlist iface nameserver "
    "prepend-pattern outfile-pattern errfile-pattern gpath gdir umask demux topolib tmpdir "
    "usize",
    "genv env",
}};

/* Open MPI 4.1's mpirun (mpirun.openmpi --help all), the commonly used part. */
static const struct grammar openmpi = {{
    "oversubscribe nooversubscribe allow-run-as-root q quiet v verbose tag-output "
    "timestamp-output report-bindings display-map display-allocation merge-stderr-to-stdout "
    "use-hwthread-cpus noprefix nolocal bynode byslot show-progress enable-recovery "
    "disable-recovery",
    "n np c N npernode npersocket x H host hostfile machinefile default-hostfile wdir wd path "
    "prefix map-by rank-by bind-to cpus-per-proc cpus-per-rank output-filename timeout "
    "report-uri rankfile rf tune preload-files stdin ompi-server personality",
    "mca gmca",
}};

/* Slurm 22.05's srun. */
static const struct grammar srun_short = {{
    "l u v Q E H O s X Z",
    "A b B c C d D e G i J L m M n N o p q r S t T w W x",
    "",
}};
static const struct grammar srun_long = {{
    "label unbuffered verbose quiet preserve-env hold overcommit oversubscribe disable-status "
    "no-allocate exclusive pty kill-on-bad-exit no-kill",
    "account begin cpus-per-task constraint dependency chdir error input job-name licenses "
    "distribution clusters ntasks nodes output partition qos relative time threads nodelist "
    "wait exclude gpus mpi export cpu-bind mem mem-per-cpu ntasks-per-node gres gpus-per-task "
    "mem-bind jobid reservation",
    "",
}};

/* How many values follow option NAME in grammar g; -1 if g does not know it. */
static int lookup(const struct grammar *g, const char *name)
{
	size_t n = strlen(name);
	for (int k = 0; k < 3 && n; k++)
		for (const char *w = g->nvals[k]; *w;) {
			size_t l = strcspn(w, " ");
			if (l == n && !strncmp(w, name, n))
				return k;
			w += l + (w[l] == ' ');
		}
	return -1;
}

static enum sc_launcher kind_of_name(const char *b, int generic)
{
	if (!strcmp(b, "srun"))
		return SC_LAUNCHER_SRUN;
	if (!strcmp(b, "orterun") || !strcmp(b, "prterun"))
		return SC_LAUNCHER_OPENMPI;
	if (strncmp(b, "mpiexec", 7) && strncmp(b, "mpirun", 6))
		return SC_LAUNCHER_NONE;
	if (strstr(b, "hydra") || strstr(b, "mpich"))
		return SC_LAUNCHER_HYDRA;
	if (strstr(b, "openmpi") || strstr(b, "ompi"))
		return SC_LAUNCHER_OPENMPI;
	return generic ? SC_LAUNCHER_GENERIC : SC_LAUNCHER_NONE;
}

/* PROGRAM as execvp finds it (in buf when searched in PATH); NULL if it is not there. */
static const char *find_exec(const char *program, char *buf, size_t len)
{
	if (strchr(program, '/'))
		return access(program, X_OK) == 0 ? program : NULL;
	for (const char *p = getenv("PATH"); p && *p;) {
		size_t n = strcspn(p, ":");
		int w = snprintf(buf, len, "%.*s/%s", (int)n, n ? p : ".", program);
		if (w > 0 && (size_t)w < len && access(buf, X_OK) == 0)
			return buf;
		p += n + (p[n] == ':');
	}
	return NULL;
}

enum sc_launcher sc_launcher_kind(const char *program)
{
	enum sc_launcher k = kind_of_name(sc_base_name(program), 1);
	if (k != SC_LAUNCHER_GENERIC)
		return k;
	/* A plain mpiexec/mpirun: Debian's alternatives point it at mpiexec.hydra or orterun. */
	char buf[PATH_MAX], real[PATH_MAX];
	const char *path = find_exec(program, buf, sizeof buf);
	if (path && realpath(path, real)) {
		enum sc_launcher r = kind_of_name(sc_base_name(real), 0);
		if (r != SC_LAUNCHER_NONE)
			return r;
	}
	return SC_LAUNCHER_GENERIC;
}

/* Values taken by option a of launcher kind (0, 1, 2), -1 if unknown. */
static int nvals_of(enum sc_launcher kind, const char *a)
{
	if (kind == SC_LAUNCHER_SRUN) {
		if (a[1] == '-')
			return strchr(a, '=') ? 0 : lookup(&srun_long, a + 2);
		char letter[2] = {a[1], 0};
		int n = lookup(&srun_short, letter);
		if (n < 0 || !a[2])
			return n;
		if (n)
			return 0;		       /* -n4: the value is attached */
		for (const char *c = a + 1; *c; c++) { /* -lu: flags bundled */
			letter[0] = *c;
			if (lookup(&srun_short, letter) != 0)
				return -1;
		}
		return 0;
	}
	if (a[1] == '-' && strchr(a, '='))
		return 0; /* --opt=value */
	const char *name = a + 1 + (a[1] == '-');
	int n = -1;
	if (kind != SC_LAUNCHER_OPENMPI)
		n = lookup(&hydra, name);
	if (n < 0 && kind != SC_LAUNCHER_HYDRA)
		n = lookup(&openmpi, name);
	return n;
}

static const char *kind_name(enum sc_launcher k)
{
	return k == SC_LAUNCHER_HYDRA	  ? "MPICH's mpiexec (hydra)"
	       : k == SC_LAUNCHER_OPENMPI ? "Open MPI's mpirun"
	       : k == SC_LAUNCHER_SRUN	  ? "srun"
					  : "mpiexec/mpirun";
}

int sc_launcher_app_index(enum sc_launcher kind, int nargs, char *const *args, char *err,
			  size_t errlen)
{
	const char *l = sc_base_name(args[0]);
	const char *hint = kind == SC_LAUNCHER_SRUN	 ? "srun -n N"
			   : kind == SC_LAUNCHER_OPENMPI ? "mpirun -n N"
							 : "mpiexec -n N";
	for (int i = 1; i < nargs; i++) {
		const char *a = args[i];
		if (!strcmp(a, "--")) {
			if (i + 1 < nargs)
				return i + 1;
			break;
		}
		if (a[0] != '-' || !a[1]) {
			for (int j = i + 1; j < nargs; j++)
				if (!strcmp(args[j], ":") && kind != SC_LAUNCHER_SRUN) {
					snprintf(
					    err, errlen,
					    "%s: several programs (':') are not supported here; "
					    "run `%s [OPTIONS] splitckpt launch ./app1 : [OPTIONS] "
					    "splitckpt launch ./app2`",
					    l, l);
					return -1;
				}
			return i;
		}
		if (!strcmp(a, "--multi-prog") || !strcmp(a, "--app") || !strcmp(a, "-app") ||
		    !strcmp(a, "-configfile") || !strcmp(a, "--configfile")) {
			snprintf(err, errlen,
				 "%s %s: the programs are in a file; put `splitckpt launch` before "
				 "each program there",
				 l, a);
			return -1;
		}
		int n = nvals_of(kind, a);
		if (n < 0) {
			snprintf(
			    err, errlen,
			    "cannot tell where the options of %s end: '%s' is not an option of "
			    "%s that splitckpt knows, and it may take a value; put splitckpt "
			    "after the launcher's options instead: `%s [OPTIONS] splitckpt "
			    "launch ./app`",
			    l, a, kind_name(kind), hint);
			return -1;
		}
		if (i + n >= nargs) {
			snprintf(err, errlen, "%s: option %s needs %d value%s", l, a, n,
				 n > 1 ? "s" : "");
			return -1;
		}
		i += n;
	}
	snprintf(err, errlen, "%s: no program after its options (see splitckpt launch --help)", l);
	return -1;
}

static int export(const char *name, const char *value)
{
	if (setenv(name, value, 1) == 0)
		return 0;
	sc_error(SUB, "cannot set %s: %s", name, strerror(errno));
	return -1;
}

/* The implementation whose lower half the ranks need, if the launcher says it. */
static const char *mpi_of(enum sc_launcher kind, int app, char *const *args)
{
	if (kind == SC_LAUNCHER_HYDRA)
		return "mpich";
	if (kind == SC_LAUNCHER_OPENMPI)
		return "openmpi";
	for (int i = 1; kind == SC_LAUNCHER_SRUN && i < app; i++) {
		const char *v = !strncmp(args[i], "--mpi=", 6)		   ? args[i] + 6
				: !strcmp(args[i], "--mpi") && i + 1 < app ? args[i + 1]
									   : NULL;
		if (v)
			return !strncmp(v, "pmix", 4) ? "openmpi" : "mpich";
	}
	return NULL; /* the lower half decides from the ranks' environment (lh_variant.c) */
}

/* Execs args[0..app) (a launcher and its options) with `splitckpt SUB --ckptdir DIR ...` as
 * its program, followed by tail[0..ntail): the job's settings travel both ways, in the
 * environment (hydra and srun pass it on, Open MPI with -x options) and as options. */
static int run_under_launcher(const struct sc_job_opts *o, enum sc_launcher kind, int app,
			      char **args, const char *sub, int ntail, char **tail)
{
	char self[PATH_MAX], where[PATH_MAX];
	if (!find_exec(args[0], where, sizeof where)) { /* before a coordinator is started */
		sc_error(sub, "%s: command not found", args[0]);
		return 127;
	}
	if (sc_self_exe(self, sizeof self)) {
		sc_error(sub, "cannot find the splitckpt executable: %s", strerror(errno));
		return SC_EXIT_FAILURE;
	}
	const char *mpi = mpi_of(kind, app, args);
	const char *user_mpi = getenv("SPLITCKPT_MPI"), *user_lh = getenv("SPLITCKPT_LOWER_HALF");
	if (mpi && kind != SC_LAUNCHER_SRUN && user_mpi && *user_mpi && strcmp(mpi, user_mpi)) {
		/* hydra's and Open MPI's ranks could not even initialize the other MPI (refused
		 * before a coordinator starts; srun's PMI plugin is only a guess) */
		sc_error(sub,
			 "%s starts %s ranks, but the MPI asked for is %s (--mpi or SPLITCKPT_MPI)",
			 args[0], mpi, user_mpi);
		return SC_EXIT_USAGE;
	}
	struct sc_jobstate js;
	int rc = sc_job_coordinator(sub, o, &js);
	if (rc)
		return rc;
	char port[16];
	snprintf(port, sizeof port, "%d", js.port);
	if (export("SPLITCKPT_CHECKPOINT_DIR", o->ckptdir) ||
	    export("SPLITCKPT_COORD_HOST", js.host) || export("SPLITCKPT_COORD_PORT", port) ||
	    export("SPLITCKPT_SECRET", js.secret) ||
	    (mpi && !(user_mpi && *user_mpi) && !(user_lh && *user_lh) &&
	     export("SPLITCKPT_MPI", mpi)))
		return SC_EXIT_FAILURE;
	static const char *const ompi_x[] = {
	    "SPLITCKPT_CHECKPOINT_DIR", "SPLITCKPT_COORD_HOST", "SPLITCKPT_COORD_PORT",
	    "SPLITCKPT_SECRET",		"SPLITCKPT_MPI",	"SPLITCKPT_LOWER_HALF"};
	size_t nx = sizeof ompi_x / sizeof ompi_x[0];
	char **av = calloc((size_t)(app + ntail) + 2 * nx + 16, sizeof *av);
	if (!av) {
		sc_error(sub, "out of memory");
		return SC_EXIT_FAILURE;
	}
	int n = 0;
	for (int i = 0; i < app; i++)
		av[n++] = args[i];
	if (n > 1 && !strcmp(av[n - 1], "--"))
		n--; /* the inserted splitckpt is the program now */
	/* `splitckpt restart` repeats the last launcher (sc_launcher_record) */
	char err[1024];
	if (sc_launcher_record(o->ckptdir, !strcmp(sub, "restart"), n, av, err, sizeof err))
		sc_error(sub, "%s", err);
	for (size_t i = 0; kind == SC_LAUNCHER_OPENMPI && i < nx; i++)
		if (getenv(ompi_x[i])) {
			av[n++] = "-x";
			av[n++] = (char *)ompi_x[i];
		}
	av[n++] = self;
	av[n++] = (char *)sub;
	av[n++] = "--ckptdir";
	av[n++] = (char *)o->ckptdir;
	av[n++] = "--coord-host";
	av[n++] = js.host;
	av[n++] = "--coord-port";
	av[n++] = port;
	if (o->quiet)
		av[n++] = "--quiet";
	if (o->verbose)
		av[n++] = "--verbose";
	char end_signal[16];
	if (o->end_signal) { /* every rank catches it too: srun passes it on to its tasks */
		snprintf(end_signal, sizeof end_signal, "%d", o->end_signal);
		av[n++] = "--on-signal";
		av[n++] = end_signal;
	}
	for (int i = 0; i < ntail; i++)
		av[n++] = tail[i];
	av[n] = NULL;
	fflush(NULL);
	execvp(args[0], av);
	sc_error(sub, "cannot run %s: %s", args[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}

int sc_launch_under_launcher(const struct sc_job_opts *o, enum sc_launcher kind, int nargs,
			     char **args)
{
	char err[2048];
	int app = sc_launcher_app_index(kind, nargs, args, err, sizeof err);
	if (app < 0) {
		sc_error(SUB, "%s", err);
		return SC_EXIT_USAGE;
	}
	/* `splitckpt launch srun ... splitckpt launch ./app`: already inserted, run as given. */
	if (!strcmp(sc_base_name(args[app]), "splitckpt")) {
		char where[PATH_MAX];
		if (!find_exec(args[0], where, sizeof where)) {
			sc_error(SUB, "%s: command not found", args[0]);
			return 127;
		}
		struct sc_jobstate js;
		int rc = sc_job_coordinator(SUB, o, &js);
		if (rc)
			return rc;
		fflush(NULL);
		execvp(args[0], args);
		sc_error(SUB, "cannot run %s: %s", args[0], strerror(errno));
		return errno == ENOENT ? 127 : 126;
	}
	char *tail[1 + nargs];
	tail[0] = "--";
	for (int i = app; i < nargs; i++)
		tail[1 + i - app] = args[i];
	return run_under_launcher(o, kind, app, args, SUB, 1 + nargs - app, tail);
}

int sc_restart_under_launcher(const struct sc_job_opts *o, enum sc_launcher kind, int nargs,
			      char **args)
{
	char gen[32];
	char *tail[2];
	int ntail = 0;
	if (o->generation >= 0) {
		snprintf(gen, sizeof gen, "%ld", o->generation);
		tail[ntail++] = "--generation";
		tail[ntail++] = gen;
	}
	return run_under_launcher(o, kind, nargs, args, "restart", ntail, tail);
}
