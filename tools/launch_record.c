/* The launcher a job runs under, kept in its checkpoint directory (DIR/launcher: the argv,
 * NUL-separated; a restart's in DIR/launcher.pending until its ranks are back, manifest.h) so
 * that a plain `splitckpt restart --ckptdir DIR` starts the job again the same way; and the rank
 * a launcher gave this process (its environment). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lower-half/mpi/launcher_env.h"
#include "launcher.h"
#include "manifest.h"
#include "lh_variant.h"

void sc_launcher_rank(long *rank, long *size)
{
	sc_launcher_env_rank(rank, size);
}

int sc_launcher_record(const char *ckptdir, int pending, int argc, char *const *argv, char *err,
		       size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const char *name = pending ? SC_LAUNCHER_PENDING_FILE : SC_LAUNCHER_FILE;
	if (snprintf(path, sizeof path, "%s/%s", ckptdir, name) >= (int)sizeof path ||
	    snprintf(tmp, sizeof tmp, "%s/.%s.%ld", ckptdir, name, (long)getpid()) >=
		(int)sizeof tmp) {
		snprintf(err, errlen, "checkpoint directory path too long: %s", ckptdir);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot record the launcher in %s: %s", tmp, strerror(errno));
		return -1;
	}
	int ok = 1;
	for (int i = 0; i < argc && ok; i++)
		ok = write(fd, argv[i], strlen(argv[i]) + 1) == (ssize_t)(strlen(argv[i]) + 1);
	if (close(fd) || !ok || rename(tmp, path)) {
		snprintf(err, errlen, "cannot record the launcher in %s: %s", path,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int sc_launcher_recall(const char *ckptdir, char *buf, size_t buflen, char **argv, int max,
		       char *err, size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/" SC_LAUNCHER_FILE, ckptdir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, buflen);
	close(fd);
	/* untrusted: NUL-terminated words, not empty, within the buffer */
	if (n <= 0 || (size_t)n == buflen || buf[n - 1] != '\0') {
		snprintf(err, errlen, "%s is damaged (not a NUL-separated command line)", path);
		return -1;
	}
	int argc = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
		if (!buf[i] || argc == max - 1) {
			snprintf(err, errlen, "%s is damaged (empty word or too many words)", path);
			return -1;
		}
		argv[argc++] = buf + i;
	}
	argv[argc] = NULL;
	return argc;
}

void sc_launcher_record_from_env(const char *ckptdir, const char *program)
{
	long rank, size;
	sc_launcher_rank(&rank, &size);
	if (rank != 0 || size < 1)
		return;
	char path[PATH_MAX], n[24], variant[32];
	snprintf(path, sizeof path, "%s/" SC_LAUNCHER_FILE, ckptdir);
	if (access(path, F_OK) == 0)
		return;
	snprintf(n, sizeof n, "%ld", size);
	sc_lh_variant("--launch", program, variant, sizeof variant);
	int openmpi = !strcmp(variant, "openmpi");
	char *srun[] = {"srun", "-n", n, openmpi ? "--mpi=pmix" : "--mpi=pmi2"};
	char *ompi[] = {"mpirun.openmpi", "--oversubscribe", "-n", n};
	char *hydra[] = {"mpiexec.hydra", "-n", n};
	char err[512];
	int r = 0;
	if (getenv("SLURM_STEP_ID"))
		r = sc_launcher_record(ckptdir, 0, 4, srun, err, sizeof err);
	else if (getenv("OMPI_COMM_WORLD_SIZE"))
		r = sc_launcher_record(ckptdir, 0, 4, ompi, err, sizeof err);
	else if (getenv("PMI_SIZE"))
		r = sc_launcher_record(ckptdir, 0, 3, hydra, err, sizeof err);
	(void)r; /* best effort: restart then asks for the launcher */
}
