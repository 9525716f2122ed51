/* The launch process that stays (--on-signal, --requeue): forks the job, waits for it, turns
 * the chosen signal into the coordinator's END command (a checkpoint that ends the job, taken
 * as soon as one can be), and after a job that ended with a checkpoint (status 85) runs
 * `scontrol requeue $SLURM_JOB_ID`. */
#define _GNU_SOURCE
#include "config.h"

#include "supervise.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../coordinator/textbuf.h"
#include "../coordinator/signals.h"
#include "cli.h"
#include "launcher.h"
#include "coord_start.h"
#include "lh_exec.h"

static int parse_number(const char *s, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

int sc_end_signal_parse(const char *s, char *err, size_t errlen)
{
	const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
	long sig = -1, n;
	if (isdigit((unsigned char)*s)) {
		if (parse_number(s, &sig))
			sig = -1;
	} else if (!strncasecmp(name, "RTMIN+", 6) && !parse_number(name + 6, &n)) {
		sig = SIGRTMIN + n;
	} else if (!strncasecmp(name, "RTMAX-", 6) && !parse_number(name + 6, &n)) {
		sig = SIGRTMAX - n;
	} else {
		for (int i = 1; i < SIGRTMIN; i++) {
			const char *abbrev = sigabbrev_np(i);
			if (abbrev && !strcasecmp(abbrev, name))
				sig = i;
		}
	}
	if (sig <= 0 || sig > SIGRTMAX) {
		snprintf(err, errlen, "'%s' is not a signal (e.g. USR1, SIGUSR2, 10, RTMIN+1)", s);
		return -1;
	}
	static const int refused[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS,  SIGILL,
				      SIGFPE,  SIGTRAP, SIGSYS,	 SIGCHLD, SIGCONT};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		if (sig == refused[i]) {
			snprintf(err, errlen, "SIG%s cannot be used: %s", sigabbrev_np((int)sig),
				 sig == SIGKILL || sig == SIGSTOP ? "it cannot be caught"
				 : sig == SIGCHLD || sig == SIGCONT
				     ? "the system sends it for other reasons"
				     : "it reports a fault of the program");
			return -1;
		}
	if (sig == sc_suspend_signal()) {
		char name[32];
		snprintf(err, errlen, "%s is the signal splitckpt suspends threads with",
			 sc_signal_name((int)sig, name, sizeof name));
		return -1;
	}
	return (int)sig;
}

/* Asks the coordinator to end the job with a checkpoint. 0 when it took the request; -1 with
 * err when it could not be reached yet (not started, restarting): the caller retries. */
static int request_end(const struct sc_job_opts *o, int sig, char *err, size_t errlen)
{
	struct sc_jobstate js;
	if (sc_coord_target(o->ckptdir, o->coord_host, o->coord_port < 0 ? 0 : (int)o->coord_port,
			    &js, err, errlen))
		return -1;
	struct sc_textbuf reply;
	int status = -1;
	uint64_t gen;
	sc_tb_init(&reply);
	int rc = sc_coord_request(&js, SC_CMD_END, (uint64_t)sig, 0, 5000, &reply, &status, &gen,
				  err, errlen);
	if (rc == 0 && status != 0)
		snprintf(err, errlen, "%s", reply.len ? reply.data : "refused");
	sc_tb_free(&reply);
	return rc == 0 && status == 0 ? 0 : -1;
}

/* scontrol requeue: Slurm ends this allocation (this process too) and queues the job again. */
static void requeue(const char *sub)
{
	const char *job = getenv("SLURM_JOB_ID");
	if (!job || !*job) {
		sc_error(sub, "--requeue: SLURM_JOB_ID is not set (not a Slurm job): not requeued");
		return;
	}
	sc_error(sub, "the job ended with a checkpoint: requeueing Slurm job %s", job);
	fflush(NULL);
	pid_t p = fork();
	if (p == 0) {
		execlp("scontrol", "scontrol", "requeue", job, (char *)NULL);
		sc_error(sub, "--requeue: cannot run scontrol: %s", strerror(errno));
		_exit(127);
	}
	int st = 0;
	while (p > 0 && waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	if (p < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		sc_error(sub,
			 "--requeue: `scontrol requeue %s` failed (see above); resume by hand "
			 "with the same job script",
			 job);
}

static int wait_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1;
}

int sc_supervise(const char *sub, const struct sc_job_opts *o)
{
	long rank = -1, size = -1;
	sc_launcher_rank(&rank, &size);
	if ((!o->end_signal && !o->requeue) || rank >= 0)
		return -1; /* a rank: its runtime catches the signal (upper-half/end_signal.c) */
	sigset_t set, old;
	sigemptyset(&set);
	static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};
	for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	if (o->end_signal)
		sigaddset(&set, o->end_signal);
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		sc_error(sub, "cannot fork: %s", strerror(errno));
		return SC_EXIT_FAILURE;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -1;
	}
	char name[32], err[1024];
	int asked = 0, taken = 0, st = 0, ended_by = 0;
	for (;;) {
		struct timespec tick = {1, 0};
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &tick);
		if (sig == o->end_signal && sig > 0) {
			if (!asked)
				sc_error(sub, "%s: ending the job with a checkpoint",
					 sc_signal_name(sig, name, sizeof name));
			asked = 1;
		} else if (sig > 0 && sig != SIGCHLD) {
			ended_by = sig; /* scancel, the time limit, ^C: no requeue after it */
			if (si.si_code != SI_KERNEL) /* a terminal's reached the group already */
				kill(child, sig);
		}
		pid_t w = waitpid(child, &st, WNOHANG);
		if (w == child)
			break;
		if (asked && !taken) {
			if (request_end(o, o->end_signal, err, sizeof err) == 0)
				taken = 1;
			else if (!o->quiet)
				sc_error(sub, "cannot ask the coordinator yet (%s); retrying", err);
		}
	}
	int rc = wait_status(st);
	if (asked && rc != SC_EXIT_CHECKPOINTED)
		sc_error(sub,
			 "%s asked for a checkpoint that ends the job, but it ended with "
			 "status %d",
			 sc_signal_name(o->end_signal, name, sizeof name), rc);
	if (o->requeue && rc == SC_EXIT_CHECKPOINTED && ended_by)
		sc_error(sub, "--requeue: not requeued, the job was ended by %s (scancel?)",
			 sc_signal_name(ended_by, name, sizeof name));
	else if (o->requeue && rc == SC_EXIT_CHECKPOINTED)
		requeue(sub);
	return rc;
}
