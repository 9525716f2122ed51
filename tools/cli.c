/* Helpers every subcommand uses: error printing, option/environment precedence, checkpoint
 * directory resolution, number parsing and locating the installed helper binaries. */
#include "config.h"

#include "cli.h"
#include "../coordinator/textbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sc_error(const char *sub, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "splitckpt %s: %s\n", sub, msg);
}

void sc_print_json_error(const char *msg)
{
	struct sc_textbuf tb;
	sc_tb_init(&tb);
	sc_tb_printf(&tb, "{\"ok\":false,\"error\":");
	sc_tb_json_str(&tb, msg);
	sc_tb_printf(&tb, "}");
	printf("%s\n", sc_tb_str(&tb));
	sc_tb_free(&tb);
}

const char *sc_opt_env(const char *opt, const char *env, const char *dflt)
{
	if (opt)
		return opt;
	const char *v = env ? getenv(env) : NULL;
	if (v && *v)
		return v;
	return dflt;
}

int sc_ckptdir_resolve(const char *opt, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *dir = sc_opt_env(opt, "SPLITCKPT_CHECKPOINT_DIR", SC_DEFAULT_CKPTDIR);
	int n;
	if (dir[0] == '/') {
		n = snprintf(out, outlen, "%s", dir);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof cwd)) {
			snprintf(err, errlen, "cannot resolve checkpoint directory %s: %s", dir,
				 strerror(errno));
			return -1;
		}
		n = snprintf(out, outlen, "%s/%s", cwd, dir);
	}
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "checkpoint directory path too long: %s", dir);
		return -1;
	}
	/* strip trailing slashes (but keep "/") */
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

int sc_parse_uint(const char *sub, const char *opt, const char *val, unsigned long max,
		  unsigned long *out)
{
	char *end;
	if (!val || !*val || *val == '-') {
		sc_error(sub, "%s needs a non-negative number, got '%s'", opt, val ? val : "");
		return -1;
	}
	errno = 0;
	unsigned long v = strtoul(val, &end, 10);
	if (errno || *end || v > max) {
		sc_error(sub, "%s: '%s' is not a number between 0 and %lu", opt, val, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Where a helper file is: $ENVDIR/NAME when the variable is set (the build tree's tests set it),
 * else next to our own executable as installed (BIN/../REL/NAME, so an installation can be
 * moved, e.g. into a modules tree or a DESTDIR), else the configured directory. */
static int find_file(const char *envdir, const char *rel, const char *dflt_dir, const char *name,
		     char *out, size_t outlen, char *err, size_t errlen)
{
	char self[PATH_MAX];
	const char *env = getenv(envdir);
	int n;
	if (env && *env) {
		n = snprintf(out, outlen, "%s/%s", env, name);
	} else if (sc_self_exe(self, sizeof self) == 0 && strrchr(self, '/')) {
		*strrchr(self, '/') = '\0';
		char cand[PATH_MAX];
		n = snprintf(cand, sizeof cand, "%s/../%s/%s", self, rel, name);
		if (n > 0 && (size_t)n < sizeof cand && access(cand, R_OK) == 0 &&
		    realpath(cand, self) && strlen(self) < outlen) {
			strcpy(out, self);
			return 0;
		}
		n = snprintf(out, outlen, "%s/%s", dflt_dir, name);
	} else {
		n = snprintf(out, outlen, "%s/%s", dflt_dir, name);
	}
	if (n < 0 || (size_t)n >= outlen) {
		snprintf(err, errlen, "path too long for %s", name);
		return -1;
	}
	if (access(out, R_OK) != 0) {
		snprintf(err, errlen, "%s not found (%s); is splitckpt installed completely?", out,
			 strerror(errno));
		return -1;
	}
	return 0;
}

int sc_find_lower_half(const char *variant, char *out, size_t outlen, char *err, size_t errlen)
{
	char name[64];
	snprintf(name, sizeof name, "splitckpt-lh-%s", variant);
	return find_file("SPLITCKPT_LIBEXECDIR", "libexec/" PACKAGE, PKGLIBEXECDIR, name, out,
			 outlen, err, errlen);
}

int sc_find_runtime_lib(char *out, size_t outlen, char *err, size_t errlen)
{
	return find_file("SPLITCKPT_LIBDIR", "lib", LIBDIR, "libsplitckpt.so", out, outlen, err,
			 errlen);
}

int sc_self_exe(char *out, size_t outlen)
{
	ssize_t n = readlink("/proc/self/exe", out, outlen - 1);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	return 0;
}

const char *sc_base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}
