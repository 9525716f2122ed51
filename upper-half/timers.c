/* POSIX timers (timer_create) across a restart. /proc/self/timers lists each timer's id,
 * signal, sigev_value, notification (to the process, to one thread, or none) and clock;
 * timer_gettime gives what remains and the interval. At restart each timer is created again
 * with its old id (prctl PR_TIMER_CREATE_RESTORE_IDS, Linux 6.15+): the program's timer_t
 * values are in its restored memory and must keep working. A timer aimed at a thread
 * (SIGEV_THREAD_ID) is aimed at that thread's new tid. glibc's SIGEV_THREAD timers (signal 32
 * to glibc's helper thread) are refused: a pending expiry re-sent by tgkill (SI_TKILL) is
 * ignored by the helper, which acts on SI_TIMER only (needs the queued siginfo), and glibc keeps
 * the helper's old tid, so a timer_create(SIGEV_THREAD) after a restart fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../lower-half/sc_syscall.h"
#include "runtime.h"

#ifndef PR_TIMER_CREATE_RESTORE_IDS
#define PR_TIMER_CREATE_RESTORE_IDS 77
#endif
#define MAX_TIMERS 256
#define GLIBC_SIGTIMER 32 /* glibc's internal signal for SIGEV_THREAD timers */
#define PARSE_BUF 32768

enum notify { N_SIGNAL, N_THREAD, N_NONE };

struct timer_rec {
	int id, signo, clock, notify, tid;
	uint64_t value; /* sigev_value */
	struct itimerspec spec;
	int refire; /* its signal was pending: re-armed to expire at once at restart */
};

static struct timer_rec timers[MAX_TIMERS];
static int ntimers;
static char parse_buf[PARSE_BUF];

/* Kernel's struct sigevent for SIGEV_THREAD_ID: value, signo, notify, then the tid. */
struct ksigevent {
	uint64_t value;
	int signo, notify, tid;
	int pad[11];
};

static int clock_supported(int clock)
{
	return clock == CLOCK_REALTIME || clock == CLOCK_MONOTONIC || clock == CLOCK_BOOTTIME ||
	       clock == CLOCK_TAI;
}

/* One "key: value" block per timer; the fields arrive in the order ID, signal, notify,
 * ClockID. Lines are untrusted text: every number is parsed with its bounds checked. */
static int parse_timers(const char *text, char *err, size_t errlen)
{
	ntimers = 0;
	struct timer_rec *t = NULL;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char l[256];
		snprintf(l, sizeof l, "%.*s", (int)(len < sizeof l ? len : sizeof l - 1), line);
		line += len + (nl ? 1 : 0);
		char kind[16], who[8];
		if (!strncmp(l, "ID: ", 4)) {
			if (ntimers >= MAX_TIMERS) {
				snprintf(err, errlen, "more than %d POSIX timers", MAX_TIMERS);
				return -1;
			}
			t = &timers[ntimers++];
			memset(t, 0, sizeof *t);
			t->id = atoi(l + 4);
		} else if (!t) {
			continue;
		} else if (sscanf(l, "signal: %d/%lx", &t->signo, (unsigned long *)&t->value) ==
			   2) {
		} else if (sscanf(l, "notify: %15[a-z]/%7[a-z].%d", kind, who, &t->tid) == 3) {
			/* "signal/pid.N", "signal/tid.N" (SIGEV_THREAD_ID), "none/pid.N" */
			t->notify = !strcmp(kind, "none") ? N_NONE
				    : !strcmp(who, "tid") ? N_THREAD
							  : N_SIGNAL;
		} else if (sscanf(l, "ClockID: %d", &t->clock) == 1 && !clock_supported(t->clock)) {
			snprintf(
			    err, errlen,
			    "cannot checkpoint POSIX timer %d: its clock %d (a CPU-time clock?) "
			    "is not supported",
			    t->id, t->clock);
			return -1;
		}
	}
	return 0;
}

int sc_timers_capture(char *err, size_t errlen)
{
	int fd = open("/proc/self/timers", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ntimers = 0;
		return 0; /* no CONFIG_CHECKPOINT_RESTORE: no timers can be listed, none restored */
	}
	size_t n = 0;
	ssize_t r;
	while (n < PARSE_BUF - 1 && (r = read(fd, parse_buf + n, PARSE_BUF - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	parse_buf[n] = '\0';
	if (parse_timers(parse_buf, err, errlen))
		return -1;
	for (int i = 0; i < ntimers; i++)
		if (timers[i].notify == N_THREAD && timers[i].signo == GLIBC_SIGTIMER) {
			snprintf(
			    err, errlen,
			    "cannot checkpoint POSIX timer %d: it is a SIGEV_THREAD timer (run "
			    "by glibc's timer thread), which is not supported yet; SIGEV_SIGNAL "
			    "timers are",
			    timers[i].id);
			return -1;
		}
	for (int i = 0; i < ntimers; i++) {
		struct itimerspec *sp = &timers[i].spec;
		if (sc_sys2(SYS_timer_gettime, timers[i].id, sp) < 0) {
			snprintf(err, errlen, "cannot read POSIX timer %d", timers[i].id);
			return -1;
		}
		/* A periodic timer whose signal is still queued (its thread is suspended) is not
		 * re-armed by the kernel until that signal is delivered, and reads as disarmed.
		 * The queued signal does not survive a restart: re-arm the timer to expire at once
		 * so the program gets the expiry it is owed and the period goes on. */
		if (!sp->it_value.tv_sec && !sp->it_value.tv_nsec &&
		    (sp->it_interval.tv_sec || sp->it_interval.tv_nsec)) {
			sp->it_value.tv_nsec = 1;
			timers[i].refire = 1;
		}
	}
	return 0;
}

/* A timer can fire between timer_gettime above and the read of the pending signals: it then
 * reads as armed while its signal is pending, which a restart would send again without its
 * siginfo (kill: SI_USER, no sigev_value). A timer whose signal was pending is re-armed to
 * expire at once instead, and its signal comes back from the timer, with its own value. */
void sc_timers_pending(uint64_t pending)
{
	for (int i = 0; i < ntimers; i++) {
		const int s = timers[i].signo;
		if (timers[i].notify == N_NONE || s < 1 || s > 64 ||
		    !(pending & (1ull << (s - 1))) || timers[i].refire)
			continue;
		timers[i].spec.it_value.tv_sec = 0;
		timers[i].spec.it_value.tv_nsec = 1;
		timers[i].refire = 1;
	}
}

uint64_t sc_timers_refired_signals(void)
{
	uint64_t m = 0;
	for (int i = 0; i < ntimers; i++)
		if (timers[i].refire && timers[i].signo >= 1 && timers[i].signo <= 64)
			m |= 1ull << (timers[i].signo - 1);
	return m;
}

int sc_timers_restore(char *err, size_t errlen)
{
	if (ntimers == 0)
		return 0;
	if (prctl(PR_TIMER_CREATE_RESTORE_IDS, 1, 0, 0, 0)) {
		snprintf(err, errlen,
			 "cannot recreate POSIX timers with their ids (prctl "
			 "PR_TIMER_CREATE_RESTORE_IDS needs Linux 6.15): %s",
			 strerror(errno));
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < ntimers && !rc; i++) {
		struct timer_rec *t = &timers[i];
		struct ksigevent sev;
		memset(&sev, 0, sizeof sev);
		sev.value = t->value;
		sev.signo = t->signo;
		sev.notify = t->notify == N_NONE     ? SIGEV_NONE
			     : t->notify == N_THREAD ? SIGEV_THREAD_ID
						     : SIGEV_SIGNAL;
		if (t->notify == N_THREAD) {
			sev.tid = sc_thread_new_tid(t->tid);
			if (sev.tid <= 0) {
				snprintf(err, errlen,
					 "POSIX timer %d was aimed at thread %d, which was not "
					 "restored",
					 t->id, t->tid);
				rc = -1;
				break;
			}
		}
		int id = t->id;
		long r = sc_sys3(SYS_timer_create, t->clock, &sev, &id);
		if (r < 0 || id != t->id) {
			snprintf(err, errlen, "cannot recreate POSIX timer %d: %s", t->id,
				 strerror(r < 0 ? (int)-r : EEXIST));
			rc = -1;
		} else if (sc_sys4(SYS_timer_settime, id, 0, &t->spec, 0) < 0) {
			snprintf(err, errlen, "cannot re-arm POSIX timer %d", t->id);
			rc = -1;
		}
	}
	prctl(PR_TIMER_CREATE_RESTORE_IDS, 0, 0, 0, 0);
	return rc;
}
