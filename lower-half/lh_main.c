/* The lower half's program: `--launch PROGRAM ARGS` loads PROGRAM as the upper half into the
 * arena and enters it; `--restore IMAGE` maps a saved upper half back and resumes it. It is
 * started by `splitckpt launch/restart`, which passes the job's settings in SPLITCKPT_LH_*
 * variables; those never reach the upper half's environment. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../upper-half/image.h"
#include "arena.h"
#include "elf_load.h"
#include "exec_resolve.h"
#include "restore.h"
#include "stack_build.h"
#include "vdso.h"
#ifdef SC_LH_MPI
#include "mpi/lh_mpi_hook.h"
#endif

#define ERRLEN 1024
#define MIN_STACK (128UL << 10)
#define MAX_STACK (1UL << 30)

static const char *prog = "splitckpt";

static void die(const char *msg)
{
	fprintf(stderr, "%s: %s\n", prog, msg);
	exit(1);
}

/* Copies a setting into the info block; a value that does not fit is an error, not a silently
 * shortened path. */
static void copy_str(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src ? src : "");
	if (l >= n) {
		fprintf(stderr, "%s: setting too long (%zu bytes, at most %zu): %.80s...\n", prog,
			l, n - 1, src);
		exit(1);
	}
	memcpy(dst, src ? src : "", l + 1);
}

/* Job settings from the CLI. The coordinator host is resolved to a numeric address here, so
 * the upper half's checkpoint thread can reconnect at restart without the resolver (which
 * allocates and locks while other threads are suspended). */
static void fill_job_settings(struct sc_lh_info *info)
{
	const char *host = getenv("SPLITCKPT_LH_COORD_HOST");
	const char *port = getenv("SPLITCKPT_LH_COORD_PORT");
	if (!host || !port)
		die("SPLITCKPT_LH_COORD_HOST/PORT not set: start programs with `splitckpt launch`");
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		char m[512];
		snprintf(m, sizeof m, "cannot resolve coordinator host %s: %s", host,
			 gai_strerror(rc));
		die(m);
	}
	void *a = res->ai_family == AF_INET6
		      ? (void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
		      : (void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
	inet_ntop(res->ai_family, a, info->coord_host, sizeof info->coord_host);
	freeaddrinfo(res);
	info->coord_port = (uint32_t)atoi(port);
	copy_str(info->secret, sizeof info->secret, getenv("SPLITCKPT_LH_SECRET"));
	copy_str(info->ckptdir, sizeof info->ckptdir, getenv("SPLITCKPT_LH_CKPTDIR"));
	const char *q = getenv("SPLITCKPT_LH_QUIET");
	if (q && *q == '1')
		info->flags |= SC_INFO_F_QUIET;
	const char *v = getenv("SPLITCKPT_LH_VERBOSE");
	if (v && *v == '1')
		info->flags |= SC_INFO_F_VERBOSE;
	const char *es = getenv("SPLITCKPT_LH_END_SIGNAL");
	info->end_signal = es ? atoi(es) : 0;
	if (info->end_signal < 0 || info->end_signal > 64)
		die("SPLITCKPT_LH_END_SIGNAL is not a signal number");
	info->rank = 0;
	info->nranks = 1;
	info->rank_pid = getpid();
	copy_str(info->runtime_path, sizeof info->runtime_path, getenv("SPLITCKPT_LH_RUNTIME"));
	ssize_t n = readlink("/proc/self/exe", info->lh_path, sizeof info->lh_path - 1);
	info->lh_path[n > 0 ? n : 0] = '\0';
#ifdef SC_LH_MPI
	/* An MPI lower half: publish the MPI table, TLS and rank (lower-half/mpi/lh_mpi.c). Both
	 * launch and restore pass here, after the settings and before the upper half runs. */
	sc_lh_mpi_prepare(info);
#endif
}

static void record_inherited_fds(struct sc_lh_info *info)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *e;
	size_t max = sizeof info->inherited / sizeof info->inherited[0];
	while ((e = readdir(d)) && info->ninherited < max) {
		int fd = atoi(e->d_name);
		struct stat st;
		if (fd <= 2 || fd == dirfd(d) || fstat(fd, &st))
			continue;
		info->inherited[info->ninherited].fd = fd;
		info->inherited[info->ninherited].dev = st.st_dev;
		info->inherited[info->ninherited].ino = st.st_ino;
		info->ninherited++;
	}
	closedir(d);
}

static uint64_t place_in_arena(uint64_t len, uint64_t align, void *arg)
{
	(void)arg;
	return sc_arena_take(len, align);
}

static char *join_env(const char *name, const char *first, const char *rest, char sep)
{
	size_t n = strlen(name) + strlen(first) + (rest ? strlen(rest) : 0) + 3;
	char *s = malloc(n);
	if (!s)
		die("out of memory");
	if (rest && *rest)
		snprintf(s, n, "%s=%s%c%s", name, first, sep, rest);
	else
		snprintf(s, n, "%s=%s", name, first);
	return s;
}

/* The upper half's environment: ours minus SPLITCKPT_LH_*, with libsplitckpt preloaded and
 * glibc's rseq registration off (a restored thread is not registered with the new kernel).
 * The originals travel in SPLITCKPT_ORIG_* so libsplitckpt can put them back in environ. */
static char **upper_environment(const char *runtime)
{
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 8, sizeof *env);
	if (!env)
		die("out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SPLITCKPT_LH_", 13) &&
		    strncmp(environ[i], "LD_PRELOAD=", 11) &&
		    strncmp(environ[i], "GLIBC_TUNABLES=", 15) &&
		    strncmp(environ[i], "SPLITCKPT_ORIG_", 15))
			env[k++] = environ[i];
	const char *pre = getenv("LD_PRELOAD"), *tun = getenv("GLIBC_TUNABLES");
	env[k++] = join_env("LD_PRELOAD", runtime, pre, ':');
	env[k++] = join_env("GLIBC_TUNABLES", "glibc.pthread.rseq=0", tun, ':');
	env[k++] = join_env("SPLITCKPT_ORIG_LD_PRELOAD", pre ? "=" : "-", pre, '\0');
	env[k++] = join_env("SPLITCKPT_ORIG_GLIBC_TUNABLES", tun ? "=" : "-", tun, '\0');
	env[k] = NULL;
	return env;
}

static uint64_t stack_size(void)
{
	struct rlimit rl;
	uint64_t sz = 8UL << 20;
	if (getrlimit(RLIMIT_STACK, &rl) == 0)
		sz = rl.rlim_cur == RLIM_INFINITY ? MAX_STACK : rl.rlim_cur;
	if (sz < MIN_STACK)
		sz = MIN_STACK;
	if (sz > MAX_STACK)
		sz = MAX_STACK;
	return (sz + 4095) & ~4095UL;
}

#ifdef SC_LH_MPICH
/* UCX defaults of the MPICH lower half, set before anything can call MPI_Init and after the
 * upper half's environment is built (the application never sees them). MPICH 4.0's ch4:ucx
 * MPI_Win_create maps the window with ucp_mem_map and then replaces the window's base by the
 * address ucp_mem_query reports; with UCP's registration cache (UCX >= 1.13, on by default) that
 * is the start of the cached region, aligned down to 16 bytes or widened to an earlier cached
 * registration, so every target displacement lands before the application's buffer (fixed in
 * MPICH 4.1, commit a56a78c8). Without the cache ucp_mem_map keeps the exact address. UCX 1.13
 * uses that cache only for ucp_mem_map and its experimental protocols (UCX_PROTO_ENABLE); the
 * default ones register through the transports' own caches, so nothing else changes. A user's
 * own value is kept. UCX_MEM_EVENTS cannot be set here: libucs reads it when it is loaded. */
static void mpich_ucx_defaults(void)
{
	setenv("UCX_RCACHE_ENABLE", "n", 0);
}
#endif

/* --launch PROGRAM ARGS: PROGRAM is searched in PATH like execvp and is argv[0].
 * --exec FILE ARGV0 ARGS: an execve of the upper half relaunched by the SIGSYS handler. */
static int launch(const char *file, char **argv, struct sc_lh_info *info,
		  const struct sc_vdso_layout *vd)
{
	char err[ERRLEN];
	if (!file || !argv[0])
		die("--launch needs a program");
	/* execvp's PATH search and #! handling, as the kernel would do them for execve */
	static struct sc_exec_plan plan;
	if (sc_exec_resolve(file, argv, &plan, err, sizeof err))
		die(err);
	const char *path = plan.path;
	const char *runtime = getenv("SPLITCKPT_LH_RUNTIME");
	if (!runtime || access(runtime, R_OK))
		die("SPLITCKPT_LH_RUNTIME does not name a readable libsplitckpt.so");
	fill_job_settings(info);
	copy_str(info->exe_path, sizeof info->exe_path, path);
	record_inherited_fds(info);

	static struct sc_elf_image exe, interp;
	if (sc_elf_map(path, place_in_arena, NULL, &exe, err, sizeof err))
		die(err);
	if (!exe.is_pie && sc_arena_add_fixed(exe.lo, exe.hi))
		die("too many upper-half ranges outside the arena");
	if (exe.interp[0] && sc_elf_map(exe.interp, place_in_arena, NULL, &interp, err, sizeof err))
		die(err);

	uint64_t ssz = stack_size();
	uint64_t lo = sc_arena_take(ssz, 1UL << 20);
	if (!lo ||
	    mmap((void *)lo, ssz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) != (void *)lo)
		die("cannot allocate the upper half's stack in the arena");

	char **env = upper_environment(runtime);
#ifdef SC_LH_MPICH
	mpich_ucx_defaults();
#endif
	const uint64_t extra[] = {AT_SPLITCKPT, SC_INFO_ADDR, 0};
	struct sc_stack_spec spec = {
	    .argv = plan.argv,
	    .envp = env,
	    .exe = &exe,
	    .interp = exe.interp[0] ? &interp : NULL,
	    .execfn = plan.execfn,
	    .sysinfo_ehdr = vd->ehdr,
	    .extra_auxv = extra,
	};
	uint64_t sp = sc_stack_build((void *)lo, ssz, &spec, err, sizeof err);
	if (!sp)
		die(err);
	if (sc_arena_trap_install(err, sizeof err))
		die(err);
	sc_enter(sp, exe.interp[0] ? interp.entry : exe.entry);
}

static int restore(const char *image, struct sc_lh_info *info, int have_fsgsbase)
{
	char err[ERRLEN];
	static struct sc_image img;
	if (sc_image_open(image, &img, err, sizeof err))
		die(err);
#ifdef SC_LH_MPICH
	mpich_ucx_defaults(); /* the restored upper half keeps its saved environment */
#endif
	fill_job_settings(info);
	record_inherited_fds(info); /* the new environment's, like stdin/stdout/stderr */
	info->restarted = 1;
	info->restart_count = 1;
	info->restored_generation = img.hdr.generation;
	copy_str(info->image_path, sizeof info->image_path, image);
	if (sc_restore_memory(&img, info, err, sizeof err))
		die(err);
	close(img.fd);
	img.fd = -1;
	if (sc_arena_trap_install(err, sizeof err))
		die(err);
#ifdef SC_LH_MPI
	sc_lh_restart_watch_start(info);
#endif
	sc_restore_threads_and_jump(img.threads, img.hdr.n_threads, have_fsgsbase);
}

int main(int argc, char **argv)
{
	char err[ERRLEN];
	int mode_exec = argc >= 4 && !strcmp(argv[1], "--exec");
	if (!mode_exec &&
	    (argc < 3 || (strcmp(argv[1], "--launch") && strcmp(argv[1], "--restore")))) {
		fprintf(stderr,
			"usage: %s --launch PROGRAM [ARGS...] | --exec FILE ARGV0 [ARGS...] | "
			"--restore IMAGE\n"
			"(internal helper of splitckpt: use `splitckpt launch` / "
			"`splitckpt restart`)\n",
			argv[0]);
		return 64;
	}
	int have_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;
	struct sc_lh_info *info = sc_arena_init(err, sizeof err);
	if (!info)
		die(err);
	struct sc_vdso_layout vd;
	if (sc_vdso_relocate(&vd, err, sizeof err))
		die(err);
	info->vdso_start = vd.start;
	info->vdso_end = vd.end;
	if (!strcmp(argv[1], "--launch"))
		return launch(argv[2], argv + 2, info, &vd);
	if (mode_exec)
		return launch(argv[2], argv + 3, info, &vd);
	return restore(argv[2], info, have_fsgsbase);
}
