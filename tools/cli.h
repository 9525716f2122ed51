/* What the `splitckpt` subcommands share: their entry points, the option/environment
 * conventions (an option beats its SPLITCKPT_* variable, which beats the default), and how the
 * tool finds the lower halves and libsplitckpt in an install or in the build tree. */
#ifndef SPLITCKPT_CLI_H
#define SPLITCKPT_CLI_H

#include <stddef.h>

int cmd_launch(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_command(int argc, char **argv);
int cmd_coordinator(int argc, char **argv);
int cmd_inspect(int argc, char **argv);

/* Exit statuses of the CLI itself (a launched program's own status passes through). */
#define SC_EXIT_USAGE 64  /* bad option or argument (EX_USAGE) */
#define SC_EXIT_FAILURE 1 /* the operation failed; a message says why */

/* Default checkpoint directory when neither --ckptdir nor SPLITCKPT_CHECKPOINT_DIR is given. */
#define SC_DEFAULT_CKPTDIR "splitckpt-ckpt"

/* Prints "splitckpt <sub>: <message>\n" to stderr. */
void sc_error(const char *sub, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints {"ok":false,"error":MSG} on stdout: how --json reports a failure. */
void sc_print_json_error(const char *msg);

/* The option value if given, else the environment variable if set and non-empty, else dflt. */
const char *sc_opt_env(const char *opt, const char *env, const char *dflt);

/* Resolves the checkpoint directory (option > SPLITCKPT_CHECKPOINT_DIR > default) to an
 * absolute path in out. Returns 0, or -1 with err set. Does not create it. */
int sc_ckptdir_resolve(const char *opt, char *out, size_t outlen, char *err, size_t errlen);

/* Parses a non-negative integer option value; -1 with a message naming the option if bad. */
int sc_parse_uint(const char *sub, const char *opt, const char *val, unsigned long max,
		  unsigned long *out);

/* Paths of the installed (or, with SPLITCKPT_LIBEXECDIR / SPLITCKPT_LIBDIR set, the build
 * tree's) helper binaries: the lower half named `variant` ("serial", "mpich", "openmpi") and
 * libsplitckpt.so. Returns 0, or -1 with err naming the missing file. */
int sc_find_lower_half(const char *variant, char *out, size_t outlen, char *err, size_t errlen);
int sc_find_runtime_lib(char *out, size_t outlen, char *err, size_t errlen);

/* Path of the running `splitckpt` executable (for starting a coordinator). */
int sc_self_exe(char *out, size_t outlen);
/* The last component of a path (after its last '/'), within path. */
const char *sc_base_name(const char *path);

#endif
