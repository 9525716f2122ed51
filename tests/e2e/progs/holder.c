/* E2E test program that holds a resource splitckpt cannot restore while it runs, releases it
 * at a given step, and keeps stepping: a checkpoint before the release must be refused with a
 * message naming the resource (the job going on unharmed), one after it must succeed.
 * usage: holder pipe|socket|child|sigev_thread STEPS DELAY_MS RELEASE_STEP */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progargs.h"

static void on_timer(union sigval v)
{
	(void)v;
}

int main(int argc, char **argv)
{
	if (argc != 5 || (strcmp(argv[1], "pipe") && strcmp(argv[1], "socket") &&
			  strcmp(argv[1], "child") && strcmp(argv[1], "sigev_thread"))) {
		fprintf(
		    stderr,
		    "usage: holder pipe|socket|child|sigev_thread STEPS DELAY_MS RELEASE_STEP\n");
		return 2;
	}
	long steps = parse_arg("holder", argv[2], 1, MAX_STEPS, "STEPS");
	long ms = parse_arg("holder", argv[3], 1, MAX_DELAY_MS, "DELAY_MS");
	long release = parse_arg("holder", argv[4], 1, MAX_STEPS, "RELEASE_STEP");
	int fds[2] = {-1, -1};
	pid_t child = -1;
	if (!strcmp(argv[1], "pipe") && pipe(fds))
		return 1;
	if (!strcmp(argv[1], "socket") && socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		return 1;
	if (!strcmp(argv[1], "child") && (child = fork()) == 0) {
		pause(); /* until the parent kills it */
		_exit(0);
	}
	timer_t timer;
	int have_timer = 0;
	if (!strcmp(argv[1], "sigev_thread")) {
		struct sigevent ev = {.sigev_notify = SIGEV_THREAD,
				      .sigev_notify_function = on_timer};
		struct itimerspec every = {{0, 10000000}, {0, 10000000}};
		if (timer_create(CLOCK_MONOTONIC, &ev, &timer) ||
		    timer_settime(timer, 0, &every, NULL))
			return 1;
		have_timer = 1;
	}
	uint64_t h = 7;
	for (long s = 1; s <= steps; s++) {
		if (s == release) {
			if (fds[0] >= 0) {
				close(fds[0]);
				close(fds[1]);
			}
			if (child > 0) {
				kill(child, SIGKILL);
				waitpid(child, NULL, 0);
			}
			if (have_timer)
				timer_delete(timer);
		}
		h = h * 6364136223846793005ull + (uint64_t)s;
		printf("step %ld %016llx\n", s, (unsigned long long)h);
		fflush(stdout);
		struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
		while (nanosleep(&d, &d))
			;
	}
	return 0;
}
