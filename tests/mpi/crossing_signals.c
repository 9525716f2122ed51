/* Signal handlers of an MPI program while its ranks are inside MPI: a SIGALRM handler at about
 * 1 kHz during a second of collectives and point-to-point calls, and SIGUSR1 sent to the process
 * while the application thread blocks it. Every handler must run on an application thread with
 * the application's TLS (a __thread marker, errno), and sigaction must report exactly what the
 * program set. Self-checking; built natively and with splitckpt-mpicc. */
#define _GNU_SOURCE
#include <errno.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mpi_check.h"

#define MARK 0x5a17c0de5eedbeefULL
#define APP_ERRNO 4242
#define AT_SPLITCKPT 0x53434b50UL /* present in a split process (lower-half/lh_abi.h) */

static int rank, size;
static __thread unsigned long long marker; /* set by the application thread only */
/* Inside a split process the lower half never touches the application's errno, so a handler
 * that interrupts an MPI call must find the value the program left there; natively MPI's own
 * system calls change errno, and only the handler's own write is checked. Natively MPI's own
 * threads (UCX's async thread) take process-directed signals too, when the application thread
 * blocks them or has another one pending: the marker is checked in a split process only, where
 * those threads never run the application's handlers. */
static int split;
static volatile long alrm_runs, alrm_bad_marker, alrm_bad_errno;
static volatile long usr1_runs, usr1_bad, usr2_runs;

static void on_alrm(int sig)
{
	int saved = errno;
	if (sig != SIGALRM || (split && marker != MARK))
		alrm_bad_marker++;
	if (split && saved != APP_ERRNO)
		alrm_bad_errno++;
	errno = 7777; /* must land in this thread's errno, as it does natively */
	if (errno != 7777)
		alrm_bad_errno++;
	errno = saved;
	alrm_runs++;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	/* kill(getpid()): SI_USER from this process, delivered once the main thread unblocks it */
	if (sig != SIGUSR1 || (split && marker != MARK) || si->si_signo != SIGUSR1 ||
	    si->si_code != SI_USER || si->si_pid != getpid())
		usr1_bad++;
	usr1_runs++;
}

static void on_usr2(int sig)
{
	if (sig == SIGUSR2 && marker == MARK)
		usr2_runs++;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* sigaction must report what the program set: not a trampoline, not flags added for it. */
static void dispositions(void)
{
	struct sigaction sa, got;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alrm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	CHECK(sigaction(SIGALRM, NULL, &got) == 0);
	CHECK(got.sa_handler == on_alrm);
	CHECK(!(got.sa_flags & SA_SIGINFO) && (got.sa_flags & SA_RESTART));
	CHECK(sigismember(&got.sa_mask, SIGUSR2) && !sigismember(&got.sa_mask, SIGUSR1));

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	CHECK(sigaction(SIGUSR1, NULL, &got) == 0);
	CHECK(got.sa_sigaction == on_usr1 && (got.sa_flags & SA_SIGINFO));

	/* SA_RESETHAND: one delivery, then SIG_DFL with the flags as set */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESETHAND;
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
	CHECK(raise(SIGUSR2) == 0);
	CHECK(usr2_runs == 1);
	CHECK(sigaction(SIGUSR2, NULL, &got) == 0);
	CHECK(got.sa_handler == SIG_DFL && !(got.sa_flags & SA_SIGINFO));
	/* back and forth: SIG_IGN, a handler, SIG_DFL, each reported as set */
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	CHECK(sigaction(SIGUSR2, &sa, &got) == 0 && got.sa_handler == SIG_DFL);
	sa.sa_handler = on_usr2;
	CHECK(sigaction(SIGUSR2, &sa, &got) == 0 && got.sa_handler == SIG_IGN);
	sa.sa_handler = SIG_DFL;
	CHECK(sigaction(SIGUSR2, &sa, &got) == 0 && got.sa_handler == on_usr2 &&
	      !(got.sa_flags & SA_SIGINFO));
}

/* About a second of MPI calls with a 1 kHz interval timer; rank 0's clock decides the end. */
static long busy_second(void)
{
	struct itimerval it = {{0, 1000}, {0, 1000}};
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	double t0 = now();
	long iters = 0;
	int peer = rank ^ 1, done = 0;
	while (!done) {
		int v = rank + 1, sum = 0, out[64], in[64];
		for (int i = 0; i < 64; i++)
			out[i] = rank * 1000 + i;
		errno = APP_ERRNO;
		OK(MPI_Allreduce(&v, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
		CHECK(sum == size * (size + 1) / 2);
		if (peer < size) {
			if (rank % 2 == 0) {
				OK(MPI_Send(out, 64, MPI_INT, peer, 3, MPI_COMM_WORLD));
				OK(MPI_Recv(in, 64, MPI_INT, peer, 3, MPI_COMM_WORLD,
					    MPI_STATUS_IGNORE));
			} else {
				OK(MPI_Recv(in, 64, MPI_INT, peer, 3, MPI_COMM_WORLD,
					    MPI_STATUS_IGNORE));
				OK(MPI_Send(out, 64, MPI_INT, peer, 3, MPI_COMM_WORLD));
			}
			CHECK(in[63] == peer * 1000 + 63);
		}
		if (split)
			CHECK(errno == APP_ERRNO);
		int over = rank == 0 && now() - t0 > 1.0;
		OK(MPI_Bcast(&over, 1, MPI_INT, 0, MPI_COMM_WORLD));
		done = over;
		iters++;
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
	return iters;
}

/* SIGUSR1 to the whole process while the application thread blocks it and calls MPI (split
 * process only): no lower-half thread may take it; the application thread does once it
 * unblocks. Then unblocked. */
static void process_signals(void)
{
	enum { N = 8 };
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	for (int i = 0; split && i < N; i++) {
		CHECK(sigprocmask(SIG_BLOCK, &usr1, &old) == 0);
		CHECK(kill(getpid(), SIGUSR1) == 0);
		for (int k = 0; k < 20; k++) {
			int v = k, m = 0;
			OK(MPI_Allreduce(&v, &m, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
		}
		CHECK(usr1_runs == i); /* nobody took it while blocked here */
		CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
		for (int t = 0; t < 2000 && usr1_runs < i + 1; t++)
			usleep(1000);
		CHECK(usr1_runs == i + 1);
	}
	/* and unblocked, while every rank is busy in MPI */
	for (int i = 0; i < N; i++) {
		CHECK(kill(getpid(), SIGUSR1) == 0);
		int v = i, m = 0;
		OK(MPI_Allreduce(&v, &m, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
	}
	int want = split ? 2 * N : N;
	for (int t = 0; t < 2000 && usr1_runs < want; t++)
		usleep(1000);
	CHECK(usr1_runs == want);
	CHECK(usr1_bad == 0);
}

int main(int argc, char **argv)
{
	marker = MARK;
	split = getauxval(AT_SPLITCKPT) != 0;
	OK(MPI_Init(&argc, &argv));
	OK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
	OK(MPI_Comm_size(MPI_COMM_WORLD, &size));
	dispositions();
	long iters = busy_second();
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	CHECK(sigprocmask(SIG_BLOCK, &alrm, NULL) == 0); /* a last tick may still be pending */
	if (alrm_bad_marker || alrm_bad_errno || alrm_runs < 100)
		fprintf(stderr,
			"rank %d: %ld alarms, %ld with the wrong TLS, %ld with a wrong errno\n",
			rank, alrm_runs, alrm_bad_marker, alrm_bad_errno);
	CHECK(alrm_runs >= 100);
	CHECK(alrm_bad_marker == 0);
	CHECK(alrm_bad_errno == 0);
	process_signals();
	long mine = alrm_runs, total = 0;
	OK(MPI_Reduce(&mine, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD));
	OK(MPI_Finalize());
	if (rank == 0)
		printf("crossing_signals: ok (%d ranks, %ld iterations, %ld alarms)\n", size, iters,
		       total);
	return 0;
}
