/* `splitckpt command`: sends one action (checkpoint, status, list, interval, kill, quit...) to a
 * running job's coordinator and prints its answer, as text or as exactly one JSON object.
 * Exit status: 0 success, 1 failure (message says why), 64 bad usage. */
#define _GNU_SOURCE
#include "config.h"

#include "../coordinator/manifest.h"
#include "../coordinator/server.h"
#include "../coordinator/textbuf.h"
#include "cli.h"
#include "coord_start.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUB "command"
#define LOCAL_LIST_MAX 4096

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: splitckpt command [--ckptdir DIR | --coord-host H --coord-port P] ACTION\n"
	    "                         [--json] [--timeout S]\n"
	    "\n"
	    "Talks to the coordinator of a running job, found through DIR/splitckpt.job\n"
	    "(DIR: --ckptdir, SPLITCKPT_CHECKPOINT_DIR, default ./" SC_DEFAULT_CKPTDIR ").\n"
	    "\n"
	    "ACTION (exactly one):\n"
	    "  -c, --checkpoint     start a checkpoint; prints its generation at once\n"
	    "      --bcheckpoint    checkpoint and wait until it is committed or failed\n"
	    "      --kcheckpoint    checkpoint, wait for the commit, then end the job\n"
	    "  -s, --status         coordinator, ranks, state, last generation, interval\n"
	    "  -l, --list           committed generations (read from MANIFEST if the job ended)\n"
	    "  -i, --interval S     checkpoint every S seconds from now on (0 = manual only)\n"
	    "  -k, --kill           end the job's ranks now, without a checkpoint\n"
	    "  -q, --quit           end the ranks and the coordinator\n"
	    "\n"
	    "  --coord-host H, --coord-port P   reach the coordinator at H:P instead\n"
	    "                       (SPLITCKPT_COORD_HOST/PORT; secret from SPLITCKPT_SECRET\n"
	    "                       or DIR/splitckpt.job)\n"
	    "  --json               print exactly one JSON object on stdout, errors included\n"
	    "  --timeout S          wait at most S seconds for the answer (default 30; none\n"
	    "                       for --bcheckpoint/--kcheckpoint; 0 = no limit)\n"
	    "  -h, --help           show this help\n");
}

/* Prints a failure: to stderr, and with --json as {"ok":false,"error":...} on stdout. */
static int fail(int json, const char *msg)
{
	sc_error(SUB, "%s", msg);
	if (json) {
		sc_print_json_error(msg);
	}
	return SC_EXIT_FAILURE;
}

/* --list when the job has ended: MANIFEST is all we need. */
static int list_locally(const char *dir, int json)
{
	char err[1024];
	size_t n;
	struct sc_gen_entry *v = calloc(LOCAL_LIST_MAX, sizeof *v);
	if (!v)
		return fail(json, "out of memory");
	if (sc_manifest_load(dir, v, LOCAL_LIST_MAX, &n, err, sizeof err) < 0) {
		free(v);
		return fail(json, err);
	}
	struct sc_textbuf tb;
	sc_tb_init(&tb);
	sc_format_generations(&tb, dir, v, n, json);
	free(v);
	printf("%s\n", sc_tb_str(&tb));
	sc_tb_free(&tb);
	return 0;
}

/* --status when no coordinator answers: what MANIFEST says about the job's end (nothing when
 * it holds no generation). The caller still reports the failure to reach the job. */
static int job_gone(int err)
{
	return err == ENOENT || err == ECONNREFUSED || err == ETIMEDOUT || err == EHOSTUNREACH ||
	       err == ENETUNREACH || err == ECONNRESET;
}

static void status_locally(const char *dir)
{
	struct sc_gen_entry last;
	size_t n = 0;
	char err[1024], when[32], how[64];
	if (sc_manifest_load(dir, &last, 1, &n, err, sizeof err) != 0 || n == 0)
		return;
	time_t t = (time_t)(last.created_ns / 1000000000u);
	struct tm tm;
	localtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
	printf("job:              not running\n"
	       "checkpoint dir:   %s\n"
	       "last committed:   generation %llu at %s, %llu bytes",
	       dir, (unsigned long long)last.gen, when, (unsigned long long)last.bytes);
	if (last.took_ns)
		printf(" in %.2f s", (double)last.took_ns / 1e9);
	printf(", %s\n", sc_ckpt_how_text(last.how, how, sizeof how));
	fflush(stdout);
}

int cmd_command(int argc, char **argv)
{
	enum { O_BCKPT = 256, O_KCKPT, O_HOST, O_PORT, O_CKPTDIR, O_JSON, O_TIMEOUT };
	static const struct option opts[] = {
	    {"checkpoint", no_argument, NULL, 'c'},
	    {"bcheckpoint", no_argument, NULL, O_BCKPT},
	    {"kcheckpoint", no_argument, NULL, O_KCKPT},
	    {"status", no_argument, NULL, 's'},
	    {"list", no_argument, NULL, 'l'},
	    {"interval", required_argument, NULL, 'i'},
	    {"kill", no_argument, NULL, 'k'},
	    {"quit", no_argument, NULL, 'q'},
	    {"coord-host", required_argument, NULL, O_HOST},
	    {"coord-port", required_argument, NULL, O_PORT},
	    {"ckptdir", required_argument, NULL, O_CKPTDIR},
	    {"json", no_argument, NULL, O_JSON},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint32_t action = 0;
	int nactions = 0, json = 0;
	unsigned long arg = 0, port = 0, timeout_s = 0;
	int have_timeout = 0;
	const char *host = NULL, *ckptdir = NULL;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "+:csli:kqh", opts, NULL)) != -1) {
		uint32_t a = 0;
		switch (c) {
		case 'c':
			a = SC_CMD_CHECKPOINT;
			break;
		case O_BCKPT:
			a = SC_CMD_BCHECKPOINT;
			break;
		case O_KCKPT:
			a = SC_CMD_KCHECKPOINT;
			break;
		case 's':
			a = SC_CMD_STATUS;
			break;
		case 'l':
			a = SC_CMD_LIST;
			break;
		case 'i':
			a = SC_CMD_INTERVAL;
			if (sc_parse_uint(SUB, "--interval", optarg, 10u * 365 * 24 * 3600, &arg))
				return SC_EXIT_USAGE;
			break;
		case 'k':
			a = SC_CMD_KILL;
			break;
		case 'q':
			a = SC_CMD_QUIT;
			break;
		case O_HOST:
			host = optarg;
			break;
		case O_PORT:
			if (sc_parse_uint(SUB, "--coord-port", optarg, 65535, &port) || port == 0) {
				if (port == 0)
					sc_error(SUB, "--coord-port must be 1-65535");
				return SC_EXIT_USAGE;
			}
			break;
		case O_CKPTDIR:
			ckptdir = optarg;
			break;
		case O_JSON:
			json = 1;
			break;
		case O_TIMEOUT:
			if (sc_parse_uint(SUB, "--timeout", optarg, 1000000, &timeout_s))
				return SC_EXIT_USAGE;
			have_timeout = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			sc_error(SUB, "option '%s' needs a value", argv[optind - 1]);
			return SC_EXIT_USAGE;
		default:
			sc_error(SUB, "unknown option '%s' (try --help)", argv[optind - 1]);
			return SC_EXIT_USAGE;
		}
		if (a) {
			action = a;
			nactions++;
		}
	}
	if (optind < argc) {
		sc_error(SUB, "unexpected argument '%s' (try --help)", argv[optind]);
		return SC_EXIT_USAGE;
	}
	if (nactions != 1) {
		sc_error(SUB,
			 "give exactly one action (--checkpoint, --bcheckpoint, --kcheckpoint, "
			 "--status, --list, --interval S, --kill, --quit); try --help");
		return SC_EXIT_USAGE;
	}

	char dir[PATH_MAX], err[2048];
	if (sc_ckptdir_resolve(ckptdir, dir, sizeof dir, err, sizeof err))
		return fail(json, err);
	struct sc_jobstate js;
	int explicit_addr = host || port || sc_opt_env(NULL, "SPLITCKPT_COORD_HOST", NULL) ||
			    sc_opt_env(NULL, "SPLITCKPT_COORD_PORT", NULL);
	if (sc_coord_target(dir, host, (int)port, &js, err, sizeof err) != 0) {
		if (action == SC_CMD_LIST && !explicit_addr && errno == ENOENT)
			return list_locally(dir, json);
		if (action == SC_CMD_STATUS && !explicit_addr && !json && job_gone(errno))
			status_locally(dir);
		return fail(json, err);
	}

	int blocking = action == SC_CMD_BCHECKPOINT || action == SC_CMD_KCHECKPOINT;
	int timeout_ms = blocking ? -1 : 30000;
	if (have_timeout)
		timeout_ms = timeout_s ? (int)(timeout_s * 1000) : -1;
	struct sc_textbuf reply;
	sc_tb_init(&reply);
	int status;
	uint64_t gen;
	uint32_t flags = json ? SC_FLAG_JSON : 0;
	uint64_t value2 = action == SC_CMD_INTERVAL ? arg : (uint64_t)json;
	if (sc_coord_request(&js, action, value2, flags, timeout_ms, &reply, &status, &gen, err,
			     sizeof err) != 0) {
		sc_tb_free(&reply);
		if (action == SC_CMD_LIST && !explicit_addr && errno != EACCES)
			return list_locally(dir, json);
		if (action == SC_CMD_STATUS && !explicit_addr && !json && job_gone(errno))
			status_locally(dir);
		return fail(json, err);
	}
	int rc = status == 0 ? 0 : SC_EXIT_FAILURE;
	if (json)
		printf("%s\n", sc_tb_str(&reply)); /* the coordinator's JSON, errors included */
	if (rc == 0 && !json)
		printf("%s\n", sc_tb_str(&reply));
	else if (rc != 0)
		sc_error(SUB, "%s",
			 json ? "the coordinator reported a failure (see \"error\")"
			      : sc_tb_str(&reply));
	sc_tb_free(&reply);
	return rc;
}
