/* Restart: maps a rank's saved upper-half regions back at their addresses, recreates its threads
 * (raw clone straight into each saved context, with its saved FS base) and finally turns the
 * calling thread into the checkpoint thread. The lower half's libc is used freely until the last
 * step; after the FS base switch only raw system calls and the jump remain. */
#define _GNU_SOURCE
#include "restore.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../upper-half/image.h"
#include "arena.h"
#include "sc_syscall.h"

void sc_ctx_jump(const struct sc_ctx *ctx) __attribute__((noreturn));
long sc_clone_resume(unsigned long flags, const struct sc_ctx *ctx, int *ptid, int *ctid,
		     unsigned long tls);

static int map_region(struct sc_image *img, size_t i, char *err, size_t errlen)
{
	const struct sc_image_region *r = &img->regions[i];
	uint64_t len = r->end - r->start;
	int outside = (r->flags & SC_REGION_OUTSIDE) != 0;
	if (outside ? sc_arena_add_fixed(r->start, r->end) : sc_arena_claim(r->start, r->end)) {
		snprintf(err, errlen, "%s: region %zu (%#lx-%#lx) %s", img->path, i,
			 (unsigned long)r->start, (unsigned long)r->end,
			 outside ? ": too many regions outside the arena"
				 : "lies outside the upper-half arena");
		return -1;
	}
	int prot = r->data_pages ? PROT_READ | PROT_WRITE : (int)r->prot;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | (outside ? MAP_FIXED_NOREPLACE : MAP_FIXED);
	void *at = mmap((void *)r->start, len, prot, flags, -1, 0);
	if (at != (void *)r->start) {
		snprintf(err, errlen, "%s: cannot map region %#lx-%#lx%s: %s", img->path,
			 (unsigned long)r->start, (unsigned long)r->end,
			 outside ? " (taken by the new lower half?)" : "",
			 at == MAP_FAILED ? strerror(errno) : "placed elsewhere");
		if (at != MAP_FAILED)
			munmap(at, len);
		return -1;
	}
	if (r->data_pages) {
		if (sc_image_read_region(img, i, (void *)r->start, err, errlen))
			return -1;
		if (mprotect((void *)r->start, len, (int)r->prot)) {
			snprintf(err, errlen, "%s: mprotect of region %#lx-%#lx: %s", img->path,
				 (unsigned long)r->start, (unsigned long)r->end, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int sc_restore_memory(struct sc_image *img, const struct sc_lh_info *info, char *err, size_t errlen)
{
	const struct sc_image_header *h = &img->hdr;
	if (h->vdso_end - h->vdso_start != info->vdso_end - info->vdso_start ||
	    h->vdso_start != info->vdso_start) {
		snprintf(
		    err, errlen,
		    "%s: the kernel's vdso block differs from the one at checkpoint (%#lx bytes "
		    "at %#lx, now %#lx at %#lx): restart on a node with the same kernel",
		    img->path, (unsigned long)(h->vdso_end - h->vdso_start),
		    (unsigned long)h->vdso_start,
		    (unsigned long)(info->vdso_end - info->vdso_start),
		    (unsigned long)info->vdso_start);
		return -1;
	}
	for (size_t i = 0; i < h->n_regions; i++)
		if (map_region(img, i, err, errlen))
			return -1;
	return 0;
}

void sc_restore_threads_and_jump(const struct sc_image_thread *threads, size_t n, int have_fsgsbase)
{
	const struct sc_image_thread *ckpt = NULL;
	/* Every signal but SIGSYS (a blocked SIGSYS would kill the upper half, see arena.c). New
	 * threads inherit this mask; each one's own mask comes back when its suspend handler
	 * returns through sigreturn. The raw system call: glibc's sigprocmask silently keeps its
	 * SIGCANCEL and SIGSETXID (32, 33) open, and a 32 re-sent or fired by a restored timer
	 * before its thread's mask is back would kill the process (no handler in this libc). */
	const uint64_t all = ~(1ULL << (SIGSYS - 1));
	sc_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &all, 0, 8);
	const unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
				    CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
				    CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	for (size_t i = 0; i < n; i++) {
		if (threads[i].flags & SC_THREAD_CKPT) {
			ckpt = &threads[i];
			continue;
		}
		/* CLONE_PARENT_SETTID stores the new tid in glibc's pd->tid, so the restored
		 * thread's pthread_self()->tid is right; CLONE_CHILD_CLEARTID keeps
		 * pthread_join working. */
		int *tidp = (int *)threads[i].clear_child_tid;
		long tid = sc_clone_resume(flags, &threads[i].ctx, tidp, tidp, threads[i].fs_base);
		if (tid < 0) {
			fprintf(stderr, "splitckpt: cannot recreate thread %u: %s\n",
				threads[i].tid, strerror((int)-tid));
			_exit(1);
		}
	}
	/* This thread becomes the checkpoint thread: kernel and glibc must agree on its tid
	 * word, then its TLS goes in and nothing but raw code runs until the jump. */
	int *ctid = (int *)ckpt->clear_child_tid;
	long tid = sc_sys1(SYS_set_tid_address, ctid);
	if (ctid)
		*ctid = (int)tid;
	sc_set_fs(have_fsgsbase, ckpt->fs_base);
	sc_ctx_jump(&ckpt->ctx);
}
