/* E2E test program whose steps are driven by two POSIX timers: one SIGEV_SIGNAL timer (SIGALRM,
 * one step per expiry, awaited with sigwaitinfo, checking its sigev_value) and a fast one whose
 * signal runs a handler that must have fired before each step ends. If a restart loses or
 * mis-aims a timer, the program stops making progress and the test times out.
 * usage: timers STEPS DELAY_MS; prints "step N <hash>" per step, then "checksum H". */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "progargs.h"

static volatile uint64_t thread_ticks;
static void on_fast_timer(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	__atomic_add_fetch(&thread_ticks, (uint64_t)si->si_value.sival_int, __ATOMIC_RELAXED);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: timers STEPS DELAY_MS\n");
		return 2;
	}
	long steps = parse_arg("timers", argv[1], 1, MAX_STEPS, "STEPS");
	long ms = parse_arg("timers", argv[2], 1, MAX_DELAY_MS, "DELAY_MS");
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigprocmask(SIG_BLOCK, &alrm, NULL); /* delivered only through sigwaitinfo */

	timer_t step_timer, thread_timer;
	struct sigevent se = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM};
	se.sigev_value.sival_int = 7;
	struct sigaction sa = {.sa_sigaction = on_fast_timer, .sa_flags = SA_SIGINFO | SA_RESTART};
	sigaction(SIGRTMIN + 2, &sa, NULL);
	struct sigevent te = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 2};
	te.sigev_value.sival_int = 1;
	if (timer_create(CLOCK_MONOTONIC, &se, &step_timer) ||
	    timer_create(CLOCK_MONOTONIC, &te, &thread_timer)) {
		perror("timer_create");
		return 1;
	}
	struct itimerspec period = {{ms / 1000, (ms % 1000) * 1000000L},
				    {ms / 1000, (ms % 1000) * 1000000L}};
	struct itimerspec fast = {{0, 5000000}, {0, 5000000}};
	timer_settime(step_timer, 0, &period, NULL);
	timer_settime(thread_timer, 0, &fast, NULL);

	uint64_t h = 1;
	for (long s = 1; s <= steps; s++) {
		siginfo_t si;
		int got;
		/* Like any signal, a checkpoint interrupts sigwaitinfo (never restarted: EINTR). */
		while ((got = sigwaitinfo(&alrm, &si)) < 0 && errno == EINTR)
			;
		if (got != SIGALRM || si.si_value.sival_int != 7) {
			fprintf(stderr, "timers: wrong signal or sigev_value at step %ld\n", s);
			return 1;
		}
		uint64_t seen = __atomic_load_n(&thread_ticks, __ATOMIC_RELAXED);
		while (__atomic_load_n(&thread_ticks, __ATOMIC_RELAXED) == seen) {
			struct timespec d = {0, 1000000};
			nanosleep(&d, NULL); /* the thread timer fires every 5 ms */
		}
		h = mix(h, (uint64_t)s * 2654435761u);
		printf("step %ld %016llx\n", s, (unsigned long long)h);
		fflush(stdout);
	}
	printf("checksum %016llx\n", (unsigned long long)h);
	return 0;
}
