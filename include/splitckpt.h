/* Public API of libsplitckpt for programs that want to cooperate with checkpointing (none
 * have to: splitckpt is transparent). Link with `pkg-config --libs splitckpt`. */
#ifndef SPLITCKPT_H
#define SPLITCKPT_H

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the program runs under splitckpt (inside a split process), else 0. */
int splitckpt_is_enabled(void);

/* How many times this process has been restarted from a checkpoint (0 in the first run). */
unsigned long splitckpt_restart_count(void);

#ifdef __cplusplus
}
#endif
#endif
