/* --on-signal: the signal that asks the job to end with a checkpoint (a Slurm job's warning
 * before its time limit, `#SBATCH --signal=USR1@120`). Its handler only records the signal;
 * the checkpoint thread, which looks for it between messages, asks the coordinator, which
 * turns the running checkpoint, or a new one, into one that ends the job (status 85). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "runtime.h"

static volatile sig_atomic_t pending;
static int installed; /* the signal our handler is installed for (kept in the image) */

/* No stack protector: the lower half's trampoline runs it on the upper TLS, but it must not
 * depend on that (DESIGN.md, "Crossing"); it touches nothing but one variable. */
static void __attribute__((no_stack_protector)) on_end_signal(int sig)
{
	pending = sig;
}

void sc_end_signal_setup(void)
{
	int want = sc_rt.info->end_signal;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	if (installed && installed != want) {
		/* A restart without --on-signal (or with another): the old one does what it did
		 * before the program was launched. */
		sa.sa_handler = SIG_DFL;
		sigaction(installed, &sa, NULL);
		installed = 0;
	}
	if (want <= 0 || want >= NSIG || want == sc_rt.suspend_signal)
		return;
	sa.sa_handler = on_end_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(want, &sa, NULL) == 0)
		installed = want;
	else
		sc_say("--on-signal: cannot catch signal %d: %s", want, strerror(errno));
}

int sc_end_signal_armed(void)
{
	return installed;
}

int sc_end_signal_take(void)
{
	return __atomic_exchange_n(&pending, 0, __ATOMIC_SEQ_CST);
}
