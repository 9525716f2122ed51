/* The `splitckpt launch`/`restart` process that stays while the job runs (--on-signal,
 * --requeue): a Slurm batch script that `exec`s splitckpt is the process `--signal=B:SIG@T`
 * reaches, so it must outlive the job to end it with a checkpoint and requeue it. */
#ifndef SPLITCKPT_SUPERVISE_H
#define SPLITCKPT_SUPERVISE_H
#include <stddef.h>

struct sc_job_opts;

/* "USR1", "SIGUSR1", "usr1", "10", "RTMIN+2": the signal number, or -1 with err saying why
 * it cannot be used (unknown; SIGKILL/SIGSTOP cannot be caught; SIGSEGV & co. are faults). */
int sc_end_signal_parse(const char *s, char *err, size_t errlen);

/* With --on-signal or --requeue, in a process that is no rank of an MPI launcher: forks. The
 * child returns -1 and goes on to become the job (lower half or launcher); the parent waits
 * for it, turns the signal into a request to end the job with a checkpoint, forwards SIGTERM,
 * SIGINT, SIGHUP and SIGQUIT, requeues the Slurm job when the job ended with a checkpoint,
 * and returns the status to exit with. Without those options returns -1 at once. */
int sc_supervise(const char *sub, const struct sc_job_opts *o);

#endif
