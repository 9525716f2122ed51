/* Signal names and the suspend signal's choice (signals.h), shared by the CLI, the coordinator
 * and the rank runtime. */
#define _GNU_SOURCE
#include "config.h"

#include "signals.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sc_signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sig > 0 && sig < SIGRTMIN ? sigabbrev_np(sig) : NULL;
	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "SIG%d", sig);
	return buf;
}

int sc_suspend_signal(void)
{
	const char *s = getenv("SPLITCKPT_SIGNAL");
	char *end;
	long sig = s ? strtol(s, &end, 10) : 0;
	if (s && *s && !*end && sig >= SIGRTMIN && sig <= SIGRTMAX)
		return (int)sig;
	return SIGRTMAX - 3;
}
