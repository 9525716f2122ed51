/* Signals as splitckpt names them (messages, MANIFEST's "how" column) and the one signal the
 * rank runtime suspends a process's threads with, so the CLI refuses it for --on-signal and the
 * runtime picks it from the same rule. */
#ifndef SPLITCKPT_SIGNALS_H
#define SPLITCKPT_SIGNALS_H

#include <stddef.h>

/* "SIGUSR1", "SIGRTMIN+2", or "SIG70" for a number that is no signal: never a space, so the
 * name fits in one MANIFEST field. Returns buf. */
const char *sc_signal_name(int sig, char *buf, size_t len);

/* SPLITCKPT_SIGNAL when it is a real-time signal number, else SIGRTMAX-3. */
int sc_suspend_signal(void);

#endif
