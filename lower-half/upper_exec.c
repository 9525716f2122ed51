/* What the upper half sees when it execs or asks for its own executable. An execve from the
 * upper half would leave the split process (the new program would run without a lower half),
 * so it is turned into an execve of a fresh lower half that loads the new program: exec'ing
 * programs and #! wrappers (pyenv shims, conda/venv launchers) stay under checkpoint control.
 * readlink("/proc/self/exe") names the upper half's program, not the loader, so that $ORIGIN
 * and programs that locate their installation work. Runs inside the SIGSYS handler with the
 * upper half's TLS: no libc, only raw system calls and static lower-half buffers. */
#include "upper_exec.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "sc_syscall.h"

#define MAX_ARGS 8192
#define MAX_ENVS 16384
#define OUR_VARS_LEN 8192

static char *new_argv[MAX_ARGS + 4];
static char *new_envp[MAX_ENVS + 8];
static char our_vars[OUR_VARS_LEN];
static char exec_path[4096];

static size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static int has_prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

/* Appends "NAME=VALUE\0" to our_vars at *off; returns the string or NULL when full. */
static char *put_var(size_t *off, const char *name, const char *value)
{
	size_t need = str_len(name) + str_len(value) + 2;
	if (*off + need > OUR_VARS_LEN)
		return 0;
	char *s = our_vars + *off, *d = s;
	while (*name)
		*d++ = *name++;
	*d++ = '=';
	while (*value)
		*d++ = *value++;
	*d = '\0';
	*off += need;
	return s;
}

static void utoa(unsigned long v, char *out)
{
	char tmp[24];
	int n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*out++ = tmp[--n];
	*out = '\0';
}

long sc_upper_execve(const struct sc_lh_info *info, const char *path, char *const argv[],
		     char *const envp[], uint64_t caller_mask)
{
	if (!path || !argv)
		return -EFAULT;
	/* A forked child of the rank is not checkpointed (a checkpoint refuses while it runs):
	 * what it execs runs natively, outside any split process. */
	if (sc_sys0(SYS_getpid) != info->rank_pid)
		return sc_sys3(SYS_execve, path, argv, envp);
	/* execve does not search PATH: a bare name is relative to the working directory, and the
	 * lower half would search PATH for it. */
	size_t plen = str_len(path);
	if (plen + 3 > sizeof exec_path)
		return -ENAMETOOLONG;
	int bare = 1;
	for (size_t i = 0; i < plen; i++)
		if (path[i] == '/')
			bare = 0;
	size_t o = 0;
	if (bare) {
		exec_path[o++] = '.';
		exec_path[o++] = '/';
	}
	for (size_t i = 0; i <= plen; i++)
		exec_path[o++] = path[i];

	/* Fail the way the kernel would before giving up this process: execvp tries the next
	 * PATH entry on ENOENT/EACCES, and a failed exec must leave the caller running. */
	long r = sc_sys4(SYS_faccessat, AT_FDCWD, exec_path, X_OK, 0);
	if (r < 0)
		return r;
	struct stat st;
	r = sc_sys4(SYS_newfstatat, AT_FDCWD, exec_path, &st, 0);
	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode))
		return -EACCES;

	size_t a = 0;
	new_argv[a++] = (char *)info->lh_path;
	new_argv[a++] = (char *)"--exec";
	new_argv[a++] = exec_path;
	for (size_t i = 0; argv[i]; i++) {
		if (a >= MAX_ARGS)
			return -E2BIG;
		new_argv[a++] = argv[i];
	}
	new_argv[a] = 0;

	size_t e = 0, off = 0;
	for (size_t i = 0; envp && envp[i]; i++) {
		if (has_prefix(envp[i], "SPLITCKPT_LH_"))
			continue;
		if (e >= MAX_ENVS)
			return -E2BIG;
		new_envp[e++] = envp[i];
	}
	char port[24], end_signal[24];
	utoa(info->coord_port, port);
	utoa((uint32_t)info->end_signal, end_signal);
	const char *vars[][2] = {
	    {"SPLITCKPT_LH_COORD_HOST", info->coord_host},
	    {"SPLITCKPT_LH_COORD_PORT", port},
	    {"SPLITCKPT_LH_SECRET", info->secret},
	    {"SPLITCKPT_LH_CKPTDIR", info->ckptdir},
	    {"SPLITCKPT_LH_RUNTIME", info->runtime_path},
	    {"SPLITCKPT_LH_QUIET", (info->flags & SC_INFO_F_QUIET) ? "1" : "0"},
	    {"SPLITCKPT_LH_END_SIGNAL", end_signal},
	    {"SPLITCKPT_LH_VERBOSE", (info->flags & SC_INFO_F_VERBOSE) ? "1" : "0"},
	};
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		char *v = put_var(&off, vars[i][0], vars[i][1]);
		if (!v)
			return -E2BIG;
		new_envp[e++] = v;
	}
	new_envp[e] = 0;
	/* The new program starts with its caller's mask, as after a real execve; if the exec
	 * fails, sigreturn puts the handler's mask back. On success this does not return. */
	uint64_t handler_mask;
	caller_mask &= ~(1ULL << (SIGSYS - 1));
	sc_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &caller_mask, &handler_mask, 8);
	r = sc_sys3(SYS_execve, info->lh_path, new_argv, new_envp);
	sc_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &handler_mask, 0, 8);
	return r;
}

static int is_self_exe(const char *p)
{
	static const char *const names[] = {"/proc/self/exe", "/proc/thread-self/exe"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *a = p, *b = names[i];
		while (*a && *a == *b)
			a++, b++;
		if (!*a && !*b)
			return 1;
	}
	return 0;
}

long sc_upper_readlinkat(const struct sc_lh_info *info, long dirfd, const char *path, char *buf,
			 long size)
{
	if (path && info->exe_path[0] && is_self_exe(path)) {
		if (size <= 0)
			return -EINVAL;
		long n = (long)str_len(info->exe_path);
		if (n > size)
			n = size;
		for (long i = 0; i < n; i++)
			buf[i] = info->exe_path[i];
		return n;
	}
	return sc_sys4(SYS_readlinkat, dirfd, path, buf, size);
}
