/* PATH search (execvp's rules) and #! script handling (binfmt_script's rules) in front of the
 * ELF loader. The first 256 bytes of a file are read like the kernel's exec buffer; the
 * interpreter line is parsed as Linux does: one interpreter path and at most one argument. */
#define _GNU_SOURCE
#include "exec_resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_BUF 256 /* BINPRM_BUF_SIZE: how much of the #! line the kernel looks at */
#define MAX_DEPTH 4 /* nested interpreters (a script run by a script...) */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int is_exec_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

/* execvp's search: each $PATH element (empty = current directory, default /bin:/usr/bin). */
static int search_path(const char *file, char *out, char *err, size_t errlen)
{
	const char *path = getenv("PATH"), *dir, *end;
	int seen_noexec = 0;

	if (!path)
		path = "/bin:/usr/bin";
	for (dir = path;; dir = end + 1) {
		size_t dlen;
		int n;

		end = strchr(dir, ':');
		if (!end)
			end = dir + strlen(dir);
		dlen = (size_t)(end - dir);
		n = dlen ? snprintf(out, SC_EXEC_PATH_MAX, "%.*s/%s", (int)dlen, dir, file)
			 : snprintf(out, SC_EXEC_PATH_MAX, "%s", file);
		if (n > 0 && n < SC_EXEC_PATH_MAX) {
			if (is_exec_file(out))
				return 0;
			if (access(out, F_OK) == 0)
				seen_noexec = 1;
		}
		if (*end == 0)
			break;
	}
	if (seen_noexec)
		return fail(err, errlen, "%s: found in PATH but not an executable file", file);
	return fail(err, errlen, "%s: command not found in PATH", file);
}

static char *own(struct sc_exec_plan *plan, const char *s, size_t len)
{
	char *c;

	if (plan->nowned == (int)(sizeof(plan->owned) / sizeof(plan->owned[0])))
		return NULL;
	c = strndup(s, len);
	if (c)
		plan->owned[plan->nowned++] = c;
	return c;
}

/* If plan->path is a #! script, rewrites plan->path and plan->argv for its interpreter and
 * returns 1; returns 0 when it is not a script (or cannot be read), -1 on a bad #! line. */
static int expand_script(struct sc_exec_plan *plan, char *err, size_t errlen)
{
	char buf[HDR_BUF + 1], *nl, *name, *arg = NULL, *q, **nargv;
	ssize_t n;
	size_t argc = 0, k = 0;
	int fd = open(plan->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	do
		n = read(fd, buf, HDR_BUF);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n < 2 || buf[0] != '#' || buf[1] != '!')
		return 0;
	buf[n] = 0;
	nl = memchr(buf, '\n', (size_t)n);
	if (!nl && n == HDR_BUF)
		return fail(err, errlen, "%s: #! line longer than %d bytes", plan->path,
			    HDR_BUF - 1);
	if (nl)
		*nl = 0;
	if (memchr(buf, 0, nl ? (size_t)(nl - buf) : (size_t)n))
		return fail(err, errlen, "%s: NUL byte in the #! line", plan->path);
	/* Trailing blanks are not part of the argument; the rest after the interpreter is one
	 * single argument, spaces included (Linux does not split it). */
	for (q = buf + strlen(buf);
	     q > buf + 2 && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == '\r');)
		*--q = 0;
	for (name = buf + 2; *name == ' ' || *name == '\t';)
		name++;
	if (*name == 0)
		return fail(err, errlen, "%s: #! line names no interpreter", plan->path);
	for (q = name; *q && *q != ' ' && *q != '\t';)
		q++;
	if (*q) {
		*q++ = 0;
		while (*q == ' ' || *q == '\t')
			q++;
		if (*q)
			arg = q;
	}
	while (plan->argv[argc])
		argc++;
	nargv = calloc(argc + 3, sizeof(*nargv));
	if (!nargv)
		return fail(err, errlen, "%s: out of memory", plan->path);
	/* {interp, [arg,] script, argv[1]...}: the script's own argv[0] is dropped. */
	nargv[k++] = own(plan, name, strlen(name));
	if (arg)
		nargv[k++] = own(plan, arg, strlen(arg));
	nargv[k++] = own(plan, plan->path, strlen(plan->path));
	for (size_t i = 0; i < k; i++) {
		if (!nargv[i]) {
			free(nargv);
			return fail(err, errlen, "%s: out of memory", plan->path);
		}
	}
	for (size_t i = 1; i < argc; i++)
		nargv[k++] = plan->argv[i];
	nargv[k] = NULL;
	free(plan->argv);
	plan->argv = nargv;
	memmove(plan->path, name, strlen(name) + 1);
	return 1;
}

int sc_exec_resolve(const char *file, char *const argv[], struct sc_exec_plan *plan, char *err,
		    size_t errlen)
{
	size_t argc = 0;
	int depth = 0, r;

	memset(plan, 0, sizeof(*plan));
	if (!file || !*file)
		return fail(err, errlen, "no program given");
	if (strchr(file, '/')) {
		if (strlen(file) >= SC_EXEC_PATH_MAX)
			return fail(err, errlen, "%.64s...: path too long", file);
		strcpy(plan->path, file);
	} else if (search_path(file, plan->path, err, errlen) < 0) {
		return -1;
	}
	strcpy(plan->execfn, plan->path);
	while (argv && argv[argc])
		argc++;
	/* execve with an empty argv: the kernel then gives the program argv[0] = "". */
	plan->argv = calloc(argc + 2, sizeof(*plan->argv));
	if (!plan->argv || (argc == 0 && !(plan->argv[0] = own(plan, "", 0)))) {
		sc_exec_plan_free(plan);
		return fail(err, errlen, "%s: out of memory", file);
	}
	for (size_t i = 0; i < argc; i++)
		plan->argv[i] = argv[i];
	while ((r = expand_script(plan, err, errlen)) == 1) {
		if (++depth > MAX_DEPTH) {
			sc_exec_plan_free(plan);
			return fail(err, errlen, "%s: more than %d levels of #! interpreters",
				    plan->execfn, MAX_DEPTH);
		}
	}
	if (r < 0) {
		sc_exec_plan_free(plan);
		return -1;
	}
	return 0;
}

void sc_exec_plan_free(struct sc_exec_plan *plan)
{
	free(plan->argv);
	plan->argv = NULL;
	for (int i = 0; i < plan->nowned; i++)
		free(plan->owned[i]);
	plan->nowned = 0;
}
