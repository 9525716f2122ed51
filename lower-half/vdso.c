/* Moves the kernel's [vvar]/[vvar_vclock]/[vdso] block to a fixed slot in the arena, at launch
 * and at every restart, so the upper half (whose glibc cached vdso function pointers) always
 * finds it at the same address. The lower half's own glibc cached the old addresses too: its
 * pointers in _rtld_global_ro and the vdso's link_map are rebased here. */
#define _GNU_SOURCE
#include "vdso.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../upper-half/maps.h"
#include "lh_abi.h"

struct span {
	uint64_t lo, hi; /* whole block */
	uint64_t vdso;	 /* start of [vdso] (the ELF header) */
	struct {
		uint64_t start, end;
	} part[4];
	int nparts;
};

static int collect(const struct sc_map_entry *e, void *arg)
{
	struct span *s = arg;
	if (strcmp(e->name, "[vdso]") && strncmp(e->name, "[vvar", 5))
		return 0;
	if (s->nparts == 4)
		return -2;
	s->part[s->nparts].start = e->start;
	s->part[s->nparts].end = e->end;
	s->nparts++;
	if (!s->lo || e->start < s->lo)
		s->lo = e->start;
	if (e->end > s->hi)
		s->hi = e->end;
	if (!strcmp(e->name, "[vdso]"))
		s->vdso = e->start;
	return 0;
}

/* Adds delta to every word in [p, p+len) whose value lies in [lo, hi). The ranges scanned
 * hold glibc's cached vdso addresses; a stray match is essentially impossible because the old
 * block is a few pages at a random address. */
static void rebase_words(void *p, size_t len, uint64_t lo, uint64_t hi, int64_t delta)
{
	uint64_t *w = p;
	for (size_t i = 0; i < len / sizeof *w; i++)
		if (w[i] >= lo && w[i] < hi)
			w[i] += delta;
}

static int rebase_relro(void *p, size_t len, uint64_t lo, uint64_t hi, int64_t delta)
{
	uintptr_t a = (uintptr_t)p & ~4095UL;
	size_t l = (((uintptr_t)p + len + 4095) & ~4095UL) - a;
	if (mprotect((void *)a, l, PROT_READ | PROT_WRITE))
		return -1;
	rebase_words(p, len, lo, hi, delta);
	mprotect((void *)a, l, PROT_READ);
	return 0;
}

/* dlopen compares every file name with each loaded object's names, among them the vdso's
 * l_libname list, whose `name` points into the vdso's string table: without this, the first
 * dlopen in the lower half (MPICH loads hwloc and UCX plugins) reads the old vdso address.
 * glibc's private layout, unchanged for decades: l_real, l_ns, then l_libname follow the
 * public fields; struct libname_list starts with {name, next}. */
struct sc_libname_list {
	const char *name;
	struct sc_libname_list *next;
};

static void rebase_libnames(struct link_map *lm, uint64_t lo, uint64_t hi, int64_t delta)
{
	struct sc_libname_list **head = (struct sc_libname_list **)((char *)(lm + 1) + 16);
	for (struct sc_libname_list *n = *head; n; n = n->next)
		if ((uint64_t)n->name >= lo && (uint64_t)n->name < hi)
			n->name += delta;
}

/* Every loaded object's relocated data (RELRO and the file-backed part of writable segments,
 * where GOTs live): glibc resolves the IFUNCs of gettimeofday/time/clock_gettime to vdso
 * addresses, and libraries linked into the lower half (libmpich, UCX) hold them in their GOTs
 * from before main(). */
struct got_scan {
	uint64_t lo, hi;
	int64_t delta;
	int failed;
};

/* Scans [a, b) of a writable segment except the RELRO range [rs, re), which is read-only by
 * now and handled by rebase_relro (Open MPI's libraries keep vdso addresses there: a write
 * to it would fault). */
static void rebase_rw(uintptr_t a, uintptr_t b, uintptr_t rs, uintptr_t re, struct got_scan *g)
{
	a = (a + 7) & ~7UL;
	if (rs < re && a < re && b > rs) {
		if (a < rs)
			rebase_words((void *)a, rs - a, g->lo, g->hi, g->delta);
		a = (re + 7) & ~7UL;
	}
	if (a < b)
		rebase_words((void *)a, b - a, g->lo, g->hi, g->delta);
}

static int rebase_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct got_scan *g = arg;
	uintptr_t rs = 0, re = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_GNU_RELRO) {
			rs = info->dlpi_addr + ph->p_vaddr;
			re = rs + ph->p_memsz;
		}
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		void *start = (void *)(info->dlpi_addr + ph->p_vaddr);
		if (info->dlpi_addr + ph->p_vaddr >= g->lo && info->dlpi_addr + ph->p_vaddr < g->hi)
			continue; /* the vdso itself */
		if (ph->p_type == PT_GNU_RELRO) {
			if (rebase_relro(start, ph->p_memsz, g->lo, g->hi, g->delta))
				g->failed = 1;
		} else if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
			rebase_rw((uintptr_t)start, (uintptr_t)start + ph->p_filesz, rs, re, g);
		}
	}
	return 0;
}

static int patch_glibc(uint64_t lo, uint64_t hi, int64_t delta, char *err, size_t errlen)
{
	void *ro = dlsym(RTLD_DEFAULT, "_rtld_global_ro");
	Dl_info di;
	const ElfW(Sym) *sym = NULL;
	if (!ro || !dladdr1(ro, &di, (void **)&sym, RTLD_DL_SYMENT) || !sym || !sym->st_size) {
		snprintf(err, errlen, "cannot find glibc's _rtld_global_ro to rebase the vdso");
		return -1;
	}
	if (rebase_relro(ro, sym->st_size, lo, hi, delta)) {
		snprintf(err, errlen, "cannot unprotect _rtld_global_ro: %s", strerror(errno));
		return -1;
	}
	/* The vdso's link_map (dl_iterate_phdr reports it: unwinders read its phdrs). */
	struct link_map *lm = NULL;
	if (dlinfo(dlopen(NULL, RTLD_NOW | RTLD_NOLOAD), RTLD_DI_LINKMAP, &lm) == 0) {
		while (lm && lm->l_prev)
			lm = lm->l_prev;
		for (; lm; lm = lm->l_next) {
			if ((uint64_t)lm->l_ld >= lo && (uint64_t)lm->l_ld < hi) {
				/* struct link_map is larger than its public part; its private
				 * fields (l_map_start, l_phdr, l_info[]...) follow. 1 KiB covers
				 * them in glibc 2.36; the block is calloc'ed so the span is
				 * readable. */
				rebase_words(lm, 1024, lo, hi, delta);
				rebase_libnames(lm, lo, hi, delta);
			}
		}
	}
	/* After the link_map: dl_iterate_phdr reads the vdso's program headers through it. */
	struct got_scan g = {lo, hi, delta, 0};
	dl_iterate_phdr(rebase_object, &g);
	if (g.failed) {
		snprintf(err, errlen, "cannot unprotect a RELRO segment to rebase the vdso: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int sc_vdso_relocate(struct sc_vdso_layout *out, char *err, size_t errlen)
{
	struct span s;
	memset(&s, 0, sizeof s);
	char buf[8192], merr[256];
	int r = sc_maps_foreach("/proc/self/maps", buf, sizeof buf, collect, &s, merr, sizeof merr);
	if (r) {
		snprintf(err, errlen, "reading /proc/self/maps for the vdso: %s",
			 r == -2 ? "too many [vvar]/[vdso] mappings" : merr);
		return -1;
	}
	if (!s.vdso) { /* vdso=0 on the kernel command line: nothing to move */
		memset(out, 0, sizeof *out);
		return 0;
	}
	if (s.vdso != getauxval(AT_SYSINFO_EHDR)) {
		snprintf(err, errlen, "[vdso] in /proc/self/maps (%#lx) is not AT_SYSINFO_EHDR",
			 (unsigned long)s.vdso);
		return -1;
	}
	uint64_t covered = 0;
	for (int i = 0; i < s.nparts; i++)
		covered += s.part[i].end - s.part[i].start;
	if (covered != s.hi - s.lo || s.hi - s.lo > SC_VDSO_SLOT_SIZE) {
		snprintf(err, errlen, "vvar/vdso block %#lx-%#lx is not contiguous or too large",
			 (unsigned long)s.lo, (unsigned long)s.hi);
		return -1;
	}
	int64_t delta = (int64_t)(SC_VDSO_SLOT - s.lo);
	for (int i = 0; i < s.nparts; i++) {
		uint64_t len = s.part[i].end - s.part[i].start;
		/* The system call itself: the MPICH lower half links UCX, whose mremap hook drops
		 * the new-address argument (EINVAL with MREMAP_FIXED). */
		void *to = (void *)syscall(SYS_mremap, s.part[i].start, len, len,
					   MREMAP_MAYMOVE | MREMAP_FIXED, s.part[i].start + delta);
		if (to == MAP_FAILED) {
			snprintf(err, errlen, "cannot move the vdso block: %s", strerror(errno));
			return -1;
		}
	}
	if (patch_glibc(s.lo, s.hi, delta, err, errlen))
		return -1;
	/* Prove the lower half's glibc still reaches the vdso. */
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts)) {
		snprintf(err, errlen, "clock_gettime fails after moving the vdso");
		return -1;
	}
	out->start = SC_VDSO_SLOT;
	out->end = SC_VDSO_SLOT + (s.hi - s.lo);
	out->ehdr = s.vdso + delta;
	return 0;
}
