/* The watch over an MPI rank's restart. MPI_Init of the new MPI instance, which the restored
 * upper half runs first, waits for every rank of the job; a rank that refused to restart (a
 * missing or damaged image) never comes, and hydra or srun (without --kill-on-bad-exit) do not
 * end a job for a task's exit status. The refusing rank makes the coordinator exit
 * (SC_CMD_ABANDON, tools/cmd_restart.c); this lower-half thread holds a command connection to
 * it and ends the process when it closes before the upper half says the restart is done. The
 * connection is a watch (SC_FLAG_WATCH): its end, even by SIGKILL before the rank connected,
 * lets a coordinator started for the restart (--exit-on-last) end with the job. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../coordinator/coord_client.h"
#include "lh_mpi_hook.h"

static struct sc_conn conn;

static void *watch(void *arg)
{
	struct sc_lh_info *info = arg;
	struct sc_msg m;
	char err[512];
	while (!__atomic_load_n(&info->restart_done, __ATOMIC_ACQUIRE)) {
		int r = sc_conn_recv(&conn, &m, 1000, err, sizeof err);
		if (r < 0 && !__atomic_load_n(&info->restart_done, __ATOMIC_ACQUIRE)) {
			fprintf(
			    stderr,
			    "splitckpt: restart of rank %u: the job's coordinator ended (%s) "
			    "before every rank restarted (did another rank refuse?); giving up\n",
			    info->rank, err);
			_exit(1);
		}
	}
	sc_conn_close(&conn);
	return NULL;
}

void sc_lh_restart_watch_start(struct sc_lh_info *info)
{
	struct sc_msg hello, welcome;
	char err[512];
	memset(&hello, 0, sizeof hello);
	hello.role = SC_ROLE_COMMAND;
	hello.flags = SC_FLAG_WATCH; /* this process counts for the job until it ends */
	hello.rank = info->rank;
	hello.pid = (uint32_t)getpid();
	snprintf(hello.text, sizeof hello.text, "restart watch of rank %u", info->rank);
	if (info->nranks < 2)
		return;
	/* Not reachable: ended already (the restart after MPI_Init would fail to reach it too) */
	if (sc_conn_open(&conn, info->coord_host, (int)info->coord_port, info->secret, &hello,
			 &welcome, 10000, err, sizeof err) != 0) {
		fprintf(stderr,
			"splitckpt: restart of rank %u: %s (did another rank refuse to restart?); "
			"giving up\n",
			info->rank, err);
		_exit(1);
	}
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, watch, info) != 0)
		sc_conn_close(&conn);
	pthread_attr_destroy(&a);
}
