/* Test driver for tools/coord_start.c (sc_coord_ensure), used by coord-protocol.sh. Run as
 * `coord_ensure_client coordinator ...` it is a coordinator, so that sc_self_exe() names a
 * binary able to start one; otherwise it calls sc_coord_ensure with the given options and
 * prints "started=0|1 host=H port=P pid=N", or the error and exit status 1. */
#define _GNU_SOURCE
#include "config.h"

#include "tools/cli.h"
#include "tools/coord_start.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "coordinator"))
		return cmd_coordinator(argc - 1, argv + 1);
	struct sc_coord_opts o = {.interval = -1, .keep = 2, .quiet = 1};
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];
		if (!strcmp(a, "--ckptdir"))
			o.ckptdir = v;
		else if (!strcmp(a, "--coord-host"))
			o.coord_host = v;
		else if (!strcmp(a, "--coord-port"))
			o.coord_port = atoi(v);
		else if (!strcmp(a, "--interval"))
			o.interval = atol(v);
		else if (!strcmp(a, "--keep"))
			o.keep = (unsigned)atoi(v);
		else {
			fprintf(stderr, "coord_ensure_client: unknown option %s\n", a);
			return 64;
		}
	}
	struct sc_jobstate js;
	int started = -1;
	char err[2048];
	if (sc_coord_ensure(&o, &js, &started, err, sizeof err) != 0) {
		fprintf(stderr, "coord_ensure_client: %s\n", err);
		return 1;
	}
	printf("started=%d host=%s port=%d pid=%d\n", started, js.host, js.port, js.pid);
	return 0;
}
