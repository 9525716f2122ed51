/* libsplitckpt's entry point. Preloaded into every upper half by the lower half; when it finds
 * the lower half's info block (auxv AT_SPLITCKPT) it puts the application's environment back
 * as the user had it, installs the suspend handler and starts the checkpoint thread. In any
 * other process (a child the application exec'ed, a normal run) it does nothing. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "../coordinator/signals.h"
#include "../include/splitckpt.h"
#include "runtime.h"

struct sc_runtime sc_rt;

/* The lower half prepended libsplitckpt to LD_PRELOAD and turned glibc's rseq off; children
 * must see the user's values. SPLITCKPT_ORIG_X is "=value" or "-" (was unset). */
static void restore_env_var(const char *name, const char *orig_name)
{
	const char *orig = getenv(orig_name);
	if (!orig)
		return;
	if (orig[0] == '=')
		setenv(name, orig + 1, 1);
	else
		unsetenv(name);
	unsetenv(orig_name);
}

__attribute__((constructor)) static void splitckpt_init(void)
{
	struct sc_lh_info *info = (struct sc_lh_info *)getauxval(AT_SPLITCKPT);
	if (!info || info->magic != SC_INFO_MAGIC || info->version != SC_INFO_VERSION)
		return;
	restore_env_var("LD_PRELOAD", "SPLITCKPT_ORIG_LD_PRELOAD");
	restore_env_var("GLIBC_TUNABLES", "SPLITCKPT_ORIG_GLIBC_TUNABLES");
	sc_rt.info = info;
	sc_rt.have_fsgsbase = (getauxval(AT_HWCAP2) & 2) != 0;
	sc_rt.suspend_signal = sc_suspend_signal();
	info->suspend_signal = sc_rt.suspend_signal; /* the trap keeps it out of thread masks */
	sc_rt.quiet = (info->flags & SC_INFO_F_QUIET) != 0;
	memcpy(sc_rt.exe_path, info->exe_path, sizeof sc_rt.exe_path);
	char err[1024];
	sc_end_signal_setup();
	if (sc_suspend_init(err, sizeof err) || sc_procstate_init(err, sizeof err) ||
	    sc_regions_init(err, sizeof err) || sc_ckpt_thread_start(err, sizeof err)) {
		sc_say("cannot start: %s", err);
		_exit(1);
	}
}

int splitckpt_is_enabled(void)
{
	return sc_rt.info != NULL;
}

unsigned long splitckpt_restart_count(void)
{
	return sc_rt.restart_count;
}
