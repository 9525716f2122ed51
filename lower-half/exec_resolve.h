/* What execvp would run for a command: the PATH search and the #! script indirection the
 * kernel applies before the ELF loader sees a file, so `splitckpt launch python3 x.py` loads
 * the same program a shell would start. */
#ifndef SPLITCKPT_EXEC_RESOLVE_H
#define SPLITCKPT_EXEC_RESOLVE_H

#include <stddef.h>

#define SC_EXEC_PATH_MAX 4096

struct sc_exec_plan {
	char path[SC_EXEC_PATH_MAX];   /* the ELF file to map */
	char execfn[SC_EXEC_PATH_MAX]; /* AT_EXECFN: the name execve gets (a script's own path) */
	char **argv;		       /* the program's argv, NULL-terminated */
	char *owned[16];	       /* strings of argv allocated here (interpreters, scripts) */
	int nowned;
};

/* Resolves `file` (searched in $PATH when it has no '/', as execvp does) and `argv` into the
 * ELF file to load and its arguments: a "#!interp [arg]" script becomes interp with argv
 * {interp, [arg,] script, argv[1]...}, up to 4 levels deep like the kernel. A file that cannot
 * be opened or is neither ELF nor script is passed through for sc_elf_map to diagnose.
 * Returns 0, or -1 with err; release with sc_exec_plan_free. */
int sc_exec_resolve(const char *file, char *const argv[], struct sc_exec_plan *plan, char *err,
		    size_t errlen);
void sc_exec_plan_free(struct sc_exec_plan *plan);

#endif
