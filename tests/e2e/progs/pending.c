/* E2E test program "pending": is checkpointed while signals are pending, which the kernel keeps
 * outside memory. It blocks SIGALRM, SIGUSR1 and SIGUSR2, arms a periodic ITIMER_REAL, sends
 * itself SIGUSR1 (to the process) and SIGUSR2 (to its thread), waits until the timer's SIGALRM
 * is pending too (the kernel then reads the timer as disarmed: it re-arms it only when SIGALRM
 * is dequeued), prints "step 1" and waits for a file GO in its working directory, created by
 * the test once the checkpoint is taken. Then the three signals must still be pending, each
 * handled exactly once when unblocked, and the timer must go on ticking: prints "step 2",
 * "step 3 ticks N" and exits 0. Anything lost is reported (exit 4) instead of waiting forever.
 * usage: pending DELAY_MS TICKS GO */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "progargs.h"

static volatile sig_atomic_t g_alrm, g_usr1, g_usr2;

static void on_signal(int sig)
{
	if (sig == SIGALRM)
		g_alrm++;
	else if (sig == SIGUSR1)
		g_usr1++;
	else if (sig == SIGUSR2)
		g_usr2++;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL); /* EINTR (the checkpoint's signal, a restart) is harmless here */
}

static void lost(const char *what)
{
	printf("lost %s\n", what);
	fflush(stdout);
	_exit(4);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: pending DELAY_MS TICKS GO\n");
		return 2;
	}
	long delay = parse_arg("pending", argv[1], 1, MAX_DELAY_MS, "DELAY_MS");
	long ticks = parse_arg("pending", argv[2], 1, MAX_STEPS, "TICKS");
	const char *go = argv[3];

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigset_t block, waitmask, pend;
	sigemptyset(&block);
	const int sigs[] = {SIGALRM, SIGUSR1, SIGUSR2};
	for (int i = 0; i < 3; i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGALRM);
	struct itimerval it = {{delay / 1000, (delay % 1000) * 1000},
			       {delay / 1000, (delay % 1000) * 1000}};
	if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
		perror("pending: setitimer");
		return 3;
	}
	kill(getpid(), SIGUSR1);
	raise(SIGUSR2);
	do {
		pause_ms(1);
		sigpending(&pend);
	} while (!sigismember(&pend, SIGALRM));
	printf("step 1\n");
	fflush(stdout);

	while (access(go, F_OK) != 0) /* the checkpoint is taken here */
		pause_ms(10);

	sigpending(&pend);
	if (!sigismember(&pend, SIGUSR1))
		lost("SIGUSR1 (pending for the process)");
	if (!sigismember(&pend, SIGUSR2))
		lost("SIGUSR2 (pending for the thread)");
	getitimer(ITIMER_REAL, &it);
	if (!sigismember(&pend, SIGALRM) && !it.it_value.tv_sec && !it.it_value.tv_usec)
		lost("the ITIMER_REAL tick (SIGALRM not pending, timer disarmed)");
	sigset_t usr;
	sigemptyset(&usr);
	sigaddset(&usr, SIGUSR1);
	sigaddset(&usr, SIGUSR2);
	sigprocmask(SIG_UNBLOCK, &usr, NULL);
	if (g_usr1 != 1 || g_usr2 != 1) {
		printf("SIGUSR1 handled %d times, SIGUSR2 %d times\n", (int)g_usr1, (int)g_usr2);
		return 4;
	}
	printf("step 2\n");
	fflush(stdout);

	while (g_alrm < ticks) {
		sigpending(&pend);
		getitimer(ITIMER_REAL, &it);
		if (!sigismember(&pend, SIGALRM) && !it.it_value.tv_sec && !it.it_value.tv_usec)
			lost("ITIMER_REAL (disarmed, no SIGALRM pending)");
		sigsuspend(&waitmask);
	}
	printf("step 3 ticks %ld\n", ticks);
	fflush(stdout);
	return 0;
}
