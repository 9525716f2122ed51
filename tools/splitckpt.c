/* The `splitckpt` command: dispatches to its subcommands (launch, restart, command,
 * coordinator, inspect) and prints the overall help. */
#include "config.h"

#include "cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: splitckpt SUBCOMMAND [OPTIONS]\n"
		"\n"
		"Transparent checkpoint/restart of serial, threaded and MPI programs.\n"
		"\n"
		"  launch [OPTIONS] PROGRAM [ARGS]   run PROGRAM under checkpoint control\n"
		"  restart [OPTIONS]                 resume the newest committed checkpoint\n"
		"  command [OPTIONS] ACTION          talk to a running job's coordinator\n"
		"  coordinator [OPTIONS]             run a coordinator yourself\n"
		"  inspect PATH                      show and verify an image or a generation\n"
		"\n"
		"`splitckpt SUBCOMMAND --help` explains each; `man splitckpt` has the details.\n"
		"Version %s.\n",
		PACKAGE_VERSION);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return SC_EXIT_USAGE;
	}
	const char *sub = argv[1];
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
	    {"launch", cmd_launch},	      {"restart", cmd_restart}, {"command", cmd_command},
	    {"coordinator", cmd_coordinator}, {"inspect", cmd_inspect},
	};
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		if (strcmp(sub, subs[i].name) == 0)
			return subs[i].fn(argc - 1, argv + 1);
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "--version")) {
		printf("splitckpt %s\n", PACKAGE_VERSION);
		return 0;
	}
	fprintf(stderr, "splitckpt: unknown subcommand '%s'\n", sub);
	usage(stderr);
	return SC_EXIT_USAGE;
}
