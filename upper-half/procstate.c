/* Process state the kernel keeps outside memory: open files, signal handlers, interval timers
 * (POSIX timers: timers.c), the working directory and umask. Captured by the checkpoint thread
 * while the application is suspended (no malloc, no stdio), kept in upper-half memory so it
 * rides in the image, and put back by the restarted checkpoint thread before the application
 * resumes. What cannot be restored is refused at checkpoint time, naming the resource. */
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

struct procstate {
	int nfds;
	struct fd_rec fds[SC_MAX_FDS];
	struct kernel_sigaction sa[NSIG_KERNEL + 1];
	struct itimerval timers[3];
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
			if (fd <= 2 || fd == dfd || fd == own_fd)
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
	for (int t = 0; t < 3; t++)
		getitimer(t, &ps->timers[t]);
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
	if (chdir(ps->cwd)) {
		snprintf(err, errlen, "cannot return to the working directory %s: %s", ps->cwd,
			 strerror(errno));
		return -1;
	}
	umask(ps->umask);
	return 0;
}
