/* The checkpoint thread of an upper half: talks to the coordinator, and for each checkpoint
 * suspends the application, captures process state, writes the image and resumes (or exits for
 * a kill-checkpoint). After a restart the lower half continues this thread right where it saved
 * its context before writing the image; from there it restores process state, reconnects to the
 * (new) coordinator and lets the application go on. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../coordinator/coord_client.h"
#include "../lower-half/sc_syscall.h"
#include "ckpt_mpi.h"
#include "runtime.h"

#define ERRLEN 2048

static struct sc_conn conn = {.fd = -1};
static struct sc_msg msg_in, msg_out;
static struct sc_image_thread threads[SC_MAX_THREADS + 1];
static char hostname[256], cmdline[1024];
static const struct sc_mpi_ckpt_ops *mpi; /* registered by libsplitckpt_mpi, if linked */

void sc_ckpt_register_mpi(const struct sc_mpi_ckpt_ops *ops)
{
	mpi = ops;
}

void sc_say(const char *fmt, ...)
{
	char buf[ERRLEN + 64];
	int n = snprintf(buf, sizeof buf, "splitckpt: ");
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	(void)!write(2, buf, n);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The upper half's command line: /proc/self/cmdline is the lower half's
 * ("splitckpt-lh-* --launch PROGRAM ARGS"), so drop its first two words. */
/* The node this process runs on: read again after a restart, which may be on another node
 * (the coordinator's log and error messages name it). uname(2) allocates nothing. */
static void read_hostname(void)
{
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(hostname, sizeof hostname, "%s", u.nodename);
}

static void read_cmdline(void)
{
	FILE *f = fopen("/proc/self/cmdline", "r");
	if (!f)
		return;
	char raw[sizeof cmdline];
	size_t n = fread(raw, 1, sizeof raw - 1, f);
	fclose(f);
	raw[n] = '\0';
	size_t i = 0, words = 0, o = 0;
	while (i < n && words < 2)
		if (raw[i++] == '\0')
			words++;
	for (; i < n && o + 1 < sizeof cmdline; i++)
		cmdline[o++] = raw[i] ? raw[i] : ' ';
	while (o && cmdline[o - 1] == ' ')
		o--;
	cmdline[o] = '\0';
}

static int coordinator_connect(char *err, size_t errlen)
{
	const struct sc_lh_info *info = sc_rt.info;
	static struct sc_msg hello, welcome;
	memset(&hello, 0, sizeof hello);
	hello.role = SC_ROLE_RANK;
	hello.rank = info->rank;
	hello.nranks = info->nranks;
	hello.pid = (uint32_t)getpid();
	snprintf(hello.text, sizeof hello.text, "%s", hostname);
	return sc_conn_open(&conn, info->coord_host, (int)info->coord_port, info->secret, &hello,
			    &welcome, 30000, err, errlen);
}

static void send_to_coordinator(void *ctx, const struct sc_msg *m)
{
	sc_conn_send(ctx, m);
}

static void ack_header(const struct sc_msg *req, int status, uint64_t bytes, uint64_t nanos)
{
	memset(&msg_out, 0, sizeof msg_out);
	msg_out.type = SC_MSG_PHASE_ACK;
	msg_out.gen = req->gen;
	msg_out.phase = req->phase;
	msg_out.status = status;
	msg_out.rank = sc_rt.info->rank;
	msg_out.bytes = bytes;
	msg_out.nanos = nanos;
}

static void ack(const struct sc_msg *req, int status, uint64_t bytes, uint64_t nanos,
		const char *text)
{
	ack_header(req, status, bytes, nanos);
	snprintf(msg_out.text, sizeof msg_out.text, "%s", text ? text : "");
	sc_conn_send(&conn, &msg_out);
}

/* A successful QUIESCE ACK: the report in as many messages as it takes. */
static void ack_report(const struct sc_msg *req, const char *report)
{
	ack_header(req, 0, 0, 0);
	sc_msg_send_text(&msg_out, report, send_to_coordinator, &conn);
}

/* The QUIESCE phase's targets, which come in several messages when long (SC_FLAG_MORE). The
 * application's threads run during the quiesce, so this thread may allocate. Returns the whole
 * text once the last part came, else NULL; "" when out of memory (err set). */
static const char *quiesce_targets(const struct sc_msg *m, char *err, size_t errlen)
{
	static char *buf;
	static size_t len, cap;
	size_t n = strnlen(m->text, sizeof m->text);
	if (len + n + 1 > cap) {
		size_t ncap = (len + n + 1) * 2;
		char *b = realloc(buf, ncap);
		if (!b) {
			len = 0;
			snprintf(err, errlen, "out of memory for the collective targets");
			return "";
		}
		buf = b;
		cap = ncap;
	}
	memcpy(buf + len, m->text, n);
	len += n;
	buf[len] = '\0';
	if (m->flags & SC_FLAG_MORE)
		return NULL;
	len = 0;
	return buf;
}

static int phase_suspend(char *err, size_t errlen)
{
	if (sc_suspend_all(err, errlen))
		return -1;
	if (sc_procstate_capture(conn.fd, err, errlen)) {
		sc_resume_all();
		return -1;
	}
	return 0;
}

/* Kept out of line so that the frame of phase_write, whose context is saved, is not written
 * by the image writer's work: after a restart that frame must be as it was at the save. */
static __attribute__((noinline)) int write_image(const char *path, uint64_t gen, size_t nthreads,
						 struct sc_image_stats *stats, char *err,
						 size_t errlen)
{
	struct sc_region_desc *regions;
	size_t nregions;
	if (sc_regions_collect(&regions, &nregions, err, errlen))
		return -1;
	const struct sc_lh_info *info = sc_rt.info;
	struct sc_image_info ii = {
	    .generation = gen,
	    .rank = info->rank,
	    .nranks = info->nranks,
	    .program = (const char *)getauxval(AT_EXECFN),
	    .hostname = hostname,
	    .cmdline = cmdline,
	    .mpi = mpi ? mpi->impl() : NULL,
	    .vdso_start = info->vdso_start,
	    .vdso_end = info->vdso_end,
	};
	uint64_t sp = (uint64_t)__builtin_frame_address(0);
	return sc_image_write(path, &ii, regions, nregions, threads, nthreads, sp, stats, err,
			      errlen);
}

static void restarted(void);

/* This rank's last image, for --verbose (its directory loses ".tmp" at the commit). */
static uint64_t image_bytes;
static char image_path[PATH_MAX];

static void phase_write(const struct sc_msg *req)
{
	static char err[ERRLEN];
	static struct sc_image_stats stats;
	static char path[PATH_MAX];
	static uint64_t gen;
	snprintf(path, sizeof path, "%s", req->text);
	gen = req->gen;
	size_t n = sc_suspended_threads(threads, SC_MAX_THREADS);
	struct sc_image_thread *self = &threads[n];
	memset(self, 0, sizeof *self);
	self->tid = (uint32_t)sc_sys0(SYS_gettid);
	self->flags = SC_THREAD_CKPT;
	self->fs_base = sc_get_fs(sc_rt.have_fsgsbase);
	sc_sys2(SYS_prctl, PR_GET_TID_ADDRESS, &self->clear_child_tid);
	if (sc_ctx_save(&self->ctx)) {
		restarted();
		return;
	}
	uint64_t t0 = now_ns();
	int r = write_image(path, gen, n + 1, &stats, err, sizeof err);
	image_bytes = r ? 0 : stats.bytes_written;
	snprintf(image_path, sizeof image_path, "%s", path);
	/* On success the text names the program, for MANIFEST and `command --list`. */
	ack(req, r ? -1 : 0, r ? 0 : stats.bytes_written, now_ns() - t0, r ? err : sc_rt.exe_path);
}

static void finish_checkpoint(const struct sc_msg *done)
{
	if (done->status == 0 && (sc_rt.info->flags & SC_INFO_F_VERBOSE)) {
		char *tmp = strstr(image_path, ".tmp/");
		if (tmp)
			memmove(tmp, tmp + 4, strlen(tmp + 4) + 1);
		sc_say("rank %u on %s: generation %llu committed (%s): its image %s, %llu bytes",
		       sc_rt.info->rank, hostname, (unsigned long long)done->gen, done->text,
		       image_path, (unsigned long long)image_bytes);
	}
	if (done->status == 0 && done->flags & SC_FLAG_KILL)
		_exit(SC_EXIT_CHECKPOINTED);
	sc_resume_all();
	if (mpi)
		mpi->resume();
	if (done->status != 0) {
		if (sc_rt.info->rank == 0)
			sc_say("checkpoint %llu failed: %s", (unsigned long long)done->gen,
			       done->text);
		return;
	}
	if (!sc_rt.quiet && sc_rt.info->rank == 0) {
		double s = (double)done->nanos / 1e9;
		sc_say("checkpoint %llu: %.3f GB in %.2f s (%.2f GB/s) in %s",
		       (unsigned long long)done->gen, (double)done->bytes / 1e9, s,
		       s > 0 ? (double)done->bytes / 1e9 / s : 0.0, sc_rt.info->ckptdir);
	}
}

/* Runs on the checkpoint thread's restored stack, in the new process. */
static void restarted(void)
{
	static char err[ERRLEN];
	uint64_t t0 = now_ns();
	sc_rt.restart_count = sc_rt.info->restart_count;
	sc_rt.quiet = (sc_rt.info->flags & SC_INFO_F_QUIET) != 0;
	conn.fd = -1; /* the old socket does not exist in this process */
	read_hostname();
	memcpy(sc_rt.info->exe_path, sc_rt.exe_path, sizeof sc_rt.exe_path);
	sc_rt.info->suspend_signal = sc_rt.suspend_signal;
	if (sc_procstate_restore(err, sizeof err)) {
		sc_say("restart from %s failed: %s", sc_rt.info->image_path, err);
		_exit(1);
	}
	sc_end_signal_setup(); /* after the saved dispositions are back */
	if (mpi && mpi->restart(err, sizeof err)) {
		sc_say("restart of rank %u from %s failed: %s", sc_rt.info->rank,
		       sc_rt.info->image_path, err);
		/* Seen by the coordinator, so that one started for this restart (--exit-on-last)
		 * ends with the job instead of waiting for ranks that never come. */
		if (coordinator_connect(err, sizeof err) == 0)
			sc_conn_close(&conn);
		_exit(1);
	}
	if (coordinator_connect(err, sizeof err)) {
		sc_say("restart: %s", err);
		_exit(1);
	}
	__atomic_store_n(&sc_rt.info->restart_done, 1, __ATOMIC_RELEASE); /* the watch stops */
	memset(&msg_out, 0, sizeof msg_out);
	msg_out.type = SC_MSG_RESTARTED;
	msg_out.gen = sc_rt.info->restored_generation;
	msg_out.rank = sc_rt.info->rank;
	sc_conn_send(&conn, &msg_out);
	sc_resume_all();
	if (!sc_rt.quiet && sc_rt.info->rank == 0)
		sc_say("restarted from generation %llu (%s) in %.2f s",
		       (unsigned long long)sc_rt.info->restored_generation, sc_rt.info->image_path,
		       (double)(now_ns() - t0) / 1e9);
}

/* Waits for the coordinator's next message; with --on-signal, looks for the signal every
 * END_POLL_MS meanwhile and passes it on. */
#define END_POLL_MS 200
static int next_message(char *err, size_t errlen)
{
	for (;;) {
		if (sc_end_signal_armed()) {
			int sig = sc_end_signal_take();
			if (sig) {
				if (!sc_rt.quiet)
					sc_say("rank %u: signal %d: asking to end the job with a "
					       "checkpoint",
					       sc_rt.info->rank, sig);
				memset(&msg_out, 0, sizeof msg_out);
				msg_out.type = SC_MSG_END_REQUEST;
				msg_out.value = (uint64_t)sig;
				sc_conn_send(&conn, &msg_out);
			}
			struct pollfd p = {.fd = conn.fd, .events = POLLIN};
			int r = poll(&p, 1, END_POLL_MS);
			if (r == 0 || (r < 0 && errno == EINTR))
				continue;
		}
		return sc_conn_recv(&conn, &msg_in, -1, err, errlen);
	}
}

static void serve(void)
{
	static char err[ERRLEN];
	for (;;) {
		int r = next_message(err, sizeof err);
		if (r <= 0) {
			sc_say("lost the coordinator (%s); no further checkpoints for this run",
			       r < 0 ? err : "timeout");
			sc_conn_close(&conn);
			return;
		}
		switch (msg_in.type) {
		case SC_MSG_CKPT_PHASE:
			if (msg_in.phase == SC_PHASE_QUIESCE) {
				err[0] = '\0';
				const char *targets = quiesce_targets(&msg_in, err, sizeof err);
				const char *report = "";
				if (!targets)
					break; /* more to come */
				int rc = err[0] ? -1
					 : mpi	? mpi->quiesce(targets, &report, err, sizeof err)
						: 0;
				if (rc)
					ack(&msg_in, -1, 0, 0, err);
				else
					ack_report(&msg_in, report);
			} else if (msg_in.phase == SC_PHASE_DRAIN) {
				uint64_t t0 = now_ns();
				int rc = mpi ? mpi->drain(err, sizeof err) : 0;
				ack(&msg_in, rc ? -1 : 0, 0, now_ns() - t0, rc ? err : NULL);
			} else if (msg_in.phase == SC_PHASE_SUSPEND) {
				int rc = phase_suspend(err, sizeof err);
				ack(&msg_in, rc ? -1 : 0, 0, 0, rc ? err : NULL);
			} else if (msg_in.phase == SC_PHASE_WRITE) {
				phase_write(&msg_in);
			} else {
				ack(&msg_in, -1, 0, 0, "unknown checkpoint phase");
			}
			break;
		case SC_MSG_CKPT_DONE:
			finish_checkpoint(&msg_in);
			break;
		case SC_MSG_KILL:
			_exit(SC_EXIT_CHECKPOINTED);
		default:
			break;
		}
	}
}

static void *ckpt_main(void *arg)
{
	(void)arg;
	static char err[ERRLEN];
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	prctl(PR_SET_NAME, "splitckpt-ckpt");
	if (coordinator_connect(err, sizeof err)) {
		sc_say("%s", err);
		_exit(1);
	}
	serve();
	return NULL;
}

int sc_ckpt_thread_start(char *err, size_t errlen)
{
	read_hostname();
	read_cmdline();
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	/* The new thread must start with every signal blocked, not block them itself once it
	 * runs: until then it would take the program's process-directed signals (a SIGALRM
	 * tick, a kill() of its own), run the program's handlers on this thread, and the
	 * program's own thread would never see them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&t, &a, ckpt_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	if (r) {
		snprintf(err, errlen, "cannot start the checkpoint thread: %s", strerror(r));
		return -1;
	}
	return 0;
}
