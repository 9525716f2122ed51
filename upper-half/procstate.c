/* Process state the kernel keeps outside memory: open files, signal handlers, pending signals,
 * interval timers (POSIX timers: timers.c), the working directory and umask. Captured by the
 * checkpoint thread while the application is suspended (no malloc, no stdio), kept in upper-half
 * memory so it rides in the image, and put back by the restarted checkpoint thread before the
 * application resumes. What cannot be restored is refused at checkpoint time, naming it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "../lower-half/sc_syscall.h"
#include "runtime.h"

enum fd_kind { FD_FILE = 1, FD_DIR, FD_DEVICE };

struct fd_rec {
	int fd, kind;
	int flags;   /* F_GETFL */
	int cloexec; /* FD_CLOEXEC */
	off_t offset, size;
	char path[PATH_MAX];
};

struct kernel_sigaction { /* the kernel's layout, not glibc's */
	uint64_t handler, flags, restorer, mask;
};

#define NSIG_KERNEL 64

struct pending_rec {   /* signals pending for one thread at the checkpoint */
	int tid;       /* its tid in the checkpointed process */
	uint64_t mask; /* bit sig-1 for signal sig, as in /proc's SigPnd */
};

struct procstate {
	int nfds;
	struct fd_rec fds[SC_MAX_FDS];
	struct kernel_sigaction sa[NSIG_KERNEL + 1];
	struct itimerval timers[3];
	uint64_t shared_pending; /* process-directed signals pending (ShdPnd) */
	int npending;
	struct pending_rec pending[SC_MAX_THREADS];
	char cwd[PATH_MAX];
	mode_t umask;
};

static struct procstate *ps; /* mmap'ed in the upper half: saved with the image */

int sc_procstate_init(char *err, size_t errlen)
{
	void *m =
	    mmap(NULL, sizeof *ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot allocate process state: %s", strerror(errno));
		return -1;
	}
	ps = m;
	return 0;
}

static int fd_link(int fd, char *out, size_t n)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t l = readlink(p, out, n - 1);
	if (l < 0)
		return -1;
	out[l] = '\0';
	return 0;
}

static int allowed_device(const char *path)
{
	static const char *const ok[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
					 "/dev/urandom"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (!strcmp(path, ok[i]))
			return 1;
	return 0;
}

static int inherited(int fd, const struct stat *st)
{
	const struct sc_lh_info *info = sc_rt.info;
	for (uint32_t i = 0; i < info->ninherited && i < 64; i++)
		if (info->inherited[i].fd == fd && info->inherited[i].dev == st->st_dev &&
		    info->inherited[i].ino == st->st_ino)
			return 1;
	return 0;
}

static int capture_fd(int fd, char *err, size_t errlen)
{
	struct stat st;
	char link[PATH_MAX];
	if (fstat(fd, &st) || fd_link(fd, link, sizeof link))
		return 0; /* closed meanwhile */
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && inherited(fd, &st))
		return 0; /* the environment's, like stdin/stdout/stderr */
	const char *what = NULL;
	int kind = 0;
	if (S_ISREG(st.st_mode))
		kind = FD_FILE;
	else if (S_ISDIR(st.st_mode))
		kind = FD_DIR;
	else if (S_ISCHR(st.st_mode) && allowed_device(link))
		kind = FD_DEVICE;
	else if (S_ISSOCK(st.st_mode))
		what = "a socket (sockets are not supported)";
	else if (S_ISFIFO(st.st_mode))
		what = "a pipe (pipes other than stdin/stdout/stderr are not supported)";
	else if (S_ISCHR(st.st_mode))
		what = "a terminal or device (only /dev/null, /dev/zero, /dev/urandom... are "
		       "supported)";
	else
		what = "a kernel object (eventfd, epoll, signalfd, timerfd... are not supported)";
	if (!what && link[0] != '/')
		what = "not reachable by a path";
	if (!what && strstr(link, " (deleted)"))
		what = "a deleted file";
	if (what) {
		snprintf(err, errlen, "cannot checkpoint file descriptor %d (%s): it is %s", fd,
			 link, what);
		return -1;
	}
	if (ps->nfds >= SC_MAX_FDS) {
		snprintf(err, errlen, "more than %d open files", SC_MAX_FDS);
		return -1;
	}
	struct fd_rec *r = &ps->fds[ps->nfds++];
	r->fd = fd;
	r->kind = kind;
	r->flags = fcntl(fd, F_GETFL);
	r->cloexec = (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
	r->offset = kind == FD_FILE ? lseek(fd, 0, SEEK_CUR) : 0;
	r->size = kind == FD_FILE ? st.st_size : 0;
	memcpy(r->path, link, sizeof r->path);
	return 0;
}

/* Whether fd is the program's: in an MPI split process the MPI library's own descriptors
 * (lower half) share the table and are not saved; the lower half tracks the upper half's. */
static int upper_fd(int fd)
{
	const struct sc_lh_info *info = sc_rt.info;
	if (!info->fd_tracking || fd >= SC_UPPER_FDS)
		return 1;
	return (info->upper_fds[fd / 64] >> (fd % 64)) & 1;
}

static int capture_fds(int own_fd, char *err, size_t errlen)
{
	ps->nfds = 0;
	int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "cannot list open files: %s", strerror(errno));
		return -1;
	}
	char buf[4096];
	long n;
	while ((n = sc_sys3(SYS_getdents64, dfd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			int fd = 0;
			for (const char *p = d->d_name; *p >= '0' && *p <= '9'; p++)
				fd = fd * 10 + (*p - '0');
			/* stdin/stdout/stderr are reattached to the new process's own */
			if (fd <= 2 || fd == dfd || fd == own_fd || !upper_fd(fd))
				continue;
			if (capture_fd(fd, err, errlen)) {
				close(dfd);
				return -1;
			}
		}
	}
	close(dfd);
	return 0;
}

/* Child processes cannot be restored: refuse, naming the first one. */
static int refuse_children(char *err, size_t errlen)
{
	char buf[512];
	int dfd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	char dents[4096];
	long n;
	int rc = 0;
	while (!rc && (n = sc_sys3(SYS_getdents64, dfd, dents, sizeof dents)) > 0) {
		for (long off = 0; off < n && !rc;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			char p[96];
			snprintf(p, sizeof p, "/proc/self/task/%.20s/children", d->d_name);
			int cfd = open(p, O_RDONLY | O_CLOEXEC);
			if (cfd < 0)
				continue;
			ssize_t l = read(cfd, buf, sizeof buf - 1);
			close(cfd);
			if (l > 0) {
				buf[l] = '\0';
				int pid = 0;
				for (const char *q = buf; *q >= '0' && *q <= '9'; q++)
					pid = pid * 10 + (*q - '0');
				snprintf(err, errlen,
					 "cannot checkpoint: child process %d is running (child "
					 "processes are not supported)",
					 pid);
				rc = -1;
			}
		}
	}
	close(dfd);
	return rc;
}

/* Reads the hexadecimal mask after "KEY:\t" in a /proc status file (0 when absent). */
static uint64_t status_mask(const char *path, const char *key)
{
	static char buf[4096]; /* only the checkpoint thread calls this */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	size_t klen = strlen(key);
	for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, klen) || l[klen] != ':')
			continue;
		uint64_t m = 0;
		for (const char *p = l + klen + 1; *p && *p != '\n'; p++) {
			int d = *p >= '0' && *p <= '9'	 ? *p - '0'
				: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
							 : -1;
			if (d >= 0)
				m = m << 4 | (uint64_t)d;
		}
		return m;
	}
	return 0;
}

/* Signals pending at the checkpoint: the process-wide set and each other thread's own set. They
 * live in the kernel, not in memory, and would vanish with the old process; a program waiting
 * for one (a tick of its interval timer that came while it blocked SIGALRM, or while the
 * suspend handler blocked everything) would wait forever after the restart. */
static void capture_pending(void)
{
	static int tids[SC_MAX_THREADS]; /* only the checkpoint thread runs this */
	char p[64], err[128];
	int self = (int)sc_sys0(SYS_gettid);
	ps->shared_pending = status_mask("/proc/self/status", "ShdPnd");
	ps->npending = 0;
	int n = sc_list_tids(tids, SC_MAX_THREADS, err, sizeof err);
	for (int i = 0; i < n && ps->npending < SC_MAX_THREADS; i++) {
		if (tids[i] == self)
			continue;
		snprintf(p, sizeof p, "/proc/self/task/%d/status", tids[i]);
		uint64_t m = status_mask(p, "SigPnd");
		if (m) {
			ps->pending[ps->npending].tid = tids[i];
			ps->pending[ps->npending++].mask = m;
		}
	}
}

/* Sends the signals of a pending mask again: to the process (tid 0) or to one thread. The
 * original siginfo is not known (only the set is); a real-time signal queued several times
 * comes back once. Our suspend signal and the lower half's SIGSYS are not the program's. */
static void repost_pending(uint64_t mask, int tid)
{
	int pid = (int)sc_sys0(SYS_getpid);
	for (int sig = 1; sig <= NSIG_KERNEL; sig++) {
		if (!(mask & (1ull << (sig - 1))) || sig == SIGKILL || sig == SIGSTOP ||
		    sig == SIGSYS || sig == sc_rt.suspend_signal)
			continue;
		if (tid)
			sc_sys3(SYS_tgkill, pid, tid, sig);
		else
			sc_sys2(SYS_kill, pid, sig);
	}
}

int sc_procstate_capture(int own_fd, char *err, size_t errlen)
{
	if (refuse_children(err, errlen) || capture_fds(own_fd, err, errlen) ||
	    sc_timers_capture(err, errlen))
		return -1;
	for (int sig = 1; sig <= NSIG_KERNEL; sig++) {
		memset(&ps->sa[sig], 0, sizeof ps->sa[sig]);
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSYS)
			continue; /* SIGSYS belongs to the lower half */
		sc_sys4(SYS_rt_sigaction, sig, 0, &ps->sa[sig], 8);
	}
	for (int t = 0; t < 3; t++) {
		getitimer(t, &ps->timers[t]);
		/* The kernel re-arms a periodic ITIMER_REAL only when its SIGALRM is dequeued
		 * (dequeue_signal), so while that signal is pending - blocked by the program, or
		 * by the suspend handler's mask during this very checkpoint - the timer reads as
		 * disarmed (value 0) with its interval intact. Saved as such it would not be
		 * re-armed at restart and the program's next wait for a tick would last forever.
		 * It is due: record it as expiring at once, the period then goes on. */
		struct itimerval *it = &ps->timers[t];
		if (!it->it_value.tv_sec && !it->it_value.tv_usec &&
		    (it->it_interval.tv_sec || it->it_interval.tv_usec))
			it->it_value.tv_usec = 1;
	}
	capture_pending();
	uint64_t pending = ps->shared_pending;
	for (int i = 0; i < ps->npending; i++)
		pending |= ps->pending[i].mask;
	sc_timers_pending(pending);
	if (!getcwd(ps->cwd, sizeof ps->cwd)) {
		snprintf(err, errlen, "cannot checkpoint: the working directory is gone (%s)",
			 strerror(errno));
		return -1;
	}
	ps->umask = umask(022);
	umask(ps->umask);
	return 0;
}

static int restore_fd(const struct fd_rec *r, char *err, size_t errlen)
{
	int flags = r->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
	int fd = open(r->path, flags | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "cannot reopen %s (file descriptor %d): %s", r->path, r->fd,
			 strerror(errno));
		return -1;
	}
	if (r->kind == FD_FILE) {
		struct stat st;
		fstat(fd, &st);
		int writable = (r->flags & O_ACCMODE) != O_RDONLY;
		if (writable && st.st_size < r->size) {
			snprintf(err, errlen,
				 "%s is shorter than at the checkpoint (%lld < %lld bytes): it was "
				 "changed since",
				 r->path, (long long)st.st_size, (long long)r->size);
			close(fd);
			return -1;
		}
		/* Output written after the checkpoint would be written again: cut it off so the
		 * file is as it was at the checkpoint. */
		if (writable && st.st_size > r->size && ftruncate(fd, r->size)) {
			snprintf(err, errlen, "cannot truncate %s back to %lld bytes: %s", r->path,
				 (long long)r->size, strerror(errno));
			close(fd);
			return -1;
		}
		if (lseek(fd, r->offset, SEEK_SET) < 0) {
			snprintf(err, errlen, "cannot seek %s to %lld: %s", r->path,
				 (long long)r->offset, strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (fd != r->fd) {
		if (dup3(fd, r->fd, r->cloexec ? O_CLOEXEC : 0) < 0) {
			snprintf(err, errlen, "cannot put %s back on descriptor %d: %s", r->path,
				 r->fd, strerror(errno));
			close(fd);
			return -1;
		}
		close(fd);
	} else if (!r->cloexec) {
		fcntl(fd, F_SETFD, 0);
	}
	return 0;
}

int sc_procstate_restore(char *err, size_t errlen)
{
	for (int i = 0; i < ps->nfds; i++)
		if (restore_fd(&ps->fds[i], err, errlen))
			return -1;
	for (int sig = 1; sig <= NSIG_KERNEL; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP || sig == SIGSYS)
			continue;
		if (ps->sa[sig].handler || ps->sa[sig].flags)
			sc_sys4(SYS_rt_sigaction, sig, &ps->sa[sig], 0, 8);
	}
	for (int t = 0; t < 3; t++)
		if (ps->timers[t].it_value.tv_sec || ps->timers[t].it_value.tv_usec)
			setitimer(t, &ps->timers[t], NULL);
	if (sc_timers_restore(err, errlen))
		return -1;
	/* After the handlers are back, before any thread runs: every restored thread still has
	 * all signals blocked (restore.c) until its suspend handler returns through sigreturn
	 * with its own mask, so these stay pending until the program can take them, as they
	 * were. A pending SIGALRM comes together with the timer armed to expire at once
	 * (capture): the kernel merges the two into one, as a standard signal is queued once.
	 * A POSIX timer re-armed the same way (timers.c) brings its own signal back: sending it
	 * once more would deliver a real-time one twice. */
	uint64_t refired = sc_timers_refired_signals();
	repost_pending(ps->shared_pending & ~refired, 0);
	for (int i = 0; i < ps->npending; i++) {
		int tid = sc_thread_new_tid(ps->pending[i].tid);
		if (tid > 0) /* else a lower-half thread, not restored */
			repost_pending(ps->pending[i].mask & ~refired, tid);
	}
	if (chdir(ps->cwd)) {
		snprintf(err, errlen, "cannot return to the working directory %s: %s", ps->cwd,
			 strerror(errno));
		return -1;
	}
	umask(ps->umask);
	return 0;
}
