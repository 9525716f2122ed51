/* ELF loading for the upper half: validates an executable's headers like the kernel's
 * binfmt_elf (stricter where the kernel would map garbage or crash later) and maps its PT_LOAD
 * segments and .bss at their link-time addresses (ET_EXEC) or where the caller's placement
 * callback says (ET_DYN). Runs in the lower half before the upper half exists. */
#define _GNU_SOURCE
#include "elf_load.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The x86-64 base page: segment offsets and addresses are congruent modulo this, and the
 * kernel (and we) map at this granularity whatever page size the linker assumed. */
#define PG 4096UL
#define PG_DOWN(x) ((uint64_t)(x) & ~(PG - 1))
#define PG_UP(x) (((uint64_t)(x) + PG - 1) & ~(PG - 1))

/* End of the user address space with 4-level paging (the kernel keeps the last page free).
 * Checking every segment against it first also rules out overflow in PG_UP and the sums. */
#define USER_END 0x7ffffffff000UL
/* The kernel refuses program header tables larger than 64 KiB. */
#define MAX_PHNUM (65536 / sizeof(Elf64_Phdr))
/* No real program asks for more (2 MiB for huge pages is the largest seen); a bigger p_align
 * in untrusted input would only make the placement arithmetic fragile. */
#define MAX_ALIGN (1UL << 30)

struct loader {
	const char *path;
	int fd;
	uint64_t fsize;
	Elf64_Ehdr eh;
	Elf64_Phdr *ph;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct loader *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!l->err || l->errlen == 0)
		return -1;
	n = snprintf(l->err, l->errlen, "%s: ", l->path);
	if (n < 0 || (size_t)n >= l->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(l->err + n, l->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* pread until len bytes or end of file; returns the count read or -1. */
static ssize_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

static int check_ehdr(struct loader *l, ssize_t n)
{
	const unsigned char *id = l->eh.e_ident;
	const Elf64_Ehdr *eh = &l->eh;
	uint64_t tbl;

	if (n < SELFMAG || memcmp(id, ELFMAG, SELFMAG) != 0)
		return fail(l, "not an ELF file");
	/* Class first: a 32-bit header is shorter than ours and would pass as "truncated". */
	if (id[EI_CLASS] == ELFCLASS32)
		return fail(l, "32-bit ELF file (ELFCLASS32); only x86-64 programs can be loaded");
	if (id[EI_CLASS] != ELFCLASS64)
		return fail(l, "unknown ELF class %u", id[EI_CLASS]);
	if ((size_t)n < sizeof(Elf64_Ehdr))
		return fail(l, "truncated ELF header (%zd of %zu bytes)", n, sizeof(Elf64_Ehdr));
	if (id[EI_DATA] != ELFDATA2LSB)
		return fail(l, "not a little-endian ELF file (EI_DATA %u)", id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return fail(l, "unknown ELF version %u", id[EI_VERSION]);
	if (eh->e_machine != EM_X86_64)
		return fail(l, "built for ELF machine %u, not x86-64 (%u)", eh->e_machine,
			    EM_X86_64);
	if (eh->e_type == ET_REL)
		return fail(l, "a relocatable object file, not an executable");
	if (eh->e_type == ET_CORE)
		return fail(l, "a core dump, not an executable");
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return fail(l, "unknown ELF type %u, not an executable", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(l, "program header entry size %u, expected %zu", eh->e_phentsize,
			    sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0)
		return fail(l, "no program headers");
	if (eh->e_phnum > MAX_PHNUM)
		return fail(l, "too many program headers (%u, at most %zu)", eh->e_phnum,
			    MAX_PHNUM);
	tbl = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (eh->e_phoff > l->fsize || tbl > l->fsize - eh->e_phoff)
		return fail(l,
			    "program headers (offset %#lx, %lu bytes) extend beyond the end of "
			    "the file (%lu bytes)",
			    (unsigned long)eh->e_phoff, (unsigned long)tbl,
			    (unsigned long)l->fsize);
	return 0;
}

static int check_load(struct loader *l, unsigned i, const Elf64_Phdr *p)
{
	if (p->p_filesz > p->p_memsz)
		return fail(l, "segment %u: file size %#lx exceeds memory size %#lx", i,
			    (unsigned long)p->p_filesz, (unsigned long)p->p_memsz);
	if (p->p_offset > l->fsize || p->p_filesz > l->fsize - p->p_offset)
		return fail(l, "segment %u extends beyond the end of the file", i);
	if (p->p_vaddr >= USER_END || p->p_memsz > USER_END - p->p_vaddr)
		return fail(l, "segment %u: address range %#lx+%#lx lies outside user space", i,
			    (unsigned long)p->p_vaddr, (unsigned long)p->p_memsz);
	/* mmap can only map file pages at page-aligned addresses. */
	if ((p->p_vaddr - p->p_offset) % PG != 0)
		return fail(l,
			    "segment %u: address %#lx and file offset %#lx are not congruent "
			    "modulo the page size",
			    i, (unsigned long)p->p_vaddr, (unsigned long)p->p_offset);
	if (p->p_align > 1 && (p->p_align & (p->p_align - 1)) != 0)
		return fail(l, "segment %u: alignment %#lx is not a power of two", i,
			    (unsigned long)p->p_align);
	if (p->p_align > MAX_ALIGN)
		return fail(l, "segment %u: alignment %#lx is too large", i,
			    (unsigned long)p->p_align);
	return 0;
}

static int read_interp(struct loader *l, unsigned i, const Elf64_Phdr *p, char *interp, size_t size)
{
	if (interp[0])
		return fail(l, "more than one PT_INTERP segment");
	if (p->p_filesz < 2 || p->p_filesz > size)
		return fail(l, "interpreter path (segment %u) has invalid length %lu", i,
			    (unsigned long)p->p_filesz);
	if (p->p_offset > l->fsize || p->p_filesz > l->fsize - p->p_offset)
		return fail(l, "segment %u (PT_INTERP) extends beyond the end of the file", i);
	if (read_at(l->fd, interp, p->p_filesz, p->p_offset) != (ssize_t)p->p_filesz) {
		interp[0] = 0;
		return fail(l, "cannot read the interpreter path");
	}
	if (interp[p->p_filesz - 1] != 0 || interp[0] == 0) {
		interp[0] = 0;
		return fail(l, "interpreter path is empty or not NUL-terminated");
	}
	return 0;
}

/* Validates all program headers and computes what mapping needs: the page span of the PT_LOAD
 * segments, the largest alignment, where the table itself ends up in memory. */
static int scan_phdrs(struct loader *l, struct sc_elf_image *out, uint64_t *align)
{
	const Elf64_Ehdr *eh = &l->eh;
	uint64_t tbl = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	uint64_t prev = 0;
	int nload = 0, entry_ok = 0, phdr_found = 0;

	*align = PG;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &l->ph[i];

		if (p->p_type == PT_INTERP) {
			if (read_interp(l, i, p, out->interp, sizeof(out->interp)) < 0)
				return -1;
		} else if (p->p_type == PT_GNU_STACK) {
			out->exec_stack = (p->p_flags & PF_X) != 0;
		}
		if (p->p_type != PT_LOAD)
			continue;
		if (check_load(l, i, p) < 0)
			return -1;
		if (p->p_memsz == 0)
			continue;
		/* The ELF spec requires ascending order; the span computation relies on it. */
		if (nload > 0 && p->p_vaddr < prev)
			return fail(l, "segment %u: PT_LOAD segments are not sorted by address", i);
		prev = p->p_vaddr;
		if (nload++ == 0)
			out->lo = PG_DOWN(p->p_vaddr);
		if (PG_UP(p->p_vaddr + p->p_memsz) > out->hi)
			out->hi = PG_UP(p->p_vaddr + p->p_memsz);
		if (p->p_align > *align)
			*align = p->p_align;
		if ((p->p_flags & PF_X) && eh->e_entry >= p->p_vaddr &&
		    eh->e_entry - p->p_vaddr < p->p_memsz)
			entry_ok = 1;
		/* Like the kernel: AT_PHDR is where the segment holding the table maps it. */
		if (!phdr_found && eh->e_phoff >= p->p_offset &&
		    eh->e_phoff - p->p_offset <= p->p_filesz &&
		    tbl <= p->p_filesz - (eh->e_phoff - p->p_offset)) {
			out->phdr = eh->e_phoff - p->p_offset + p->p_vaddr;
			phdr_found = 1;
		}
	}
	if (nload == 0)
		return fail(l, "no loadable segments");
	/* The kernel would jump anywhere; a bad entry point is better reported than crashed on. */
	if (!entry_ok && eh->e_entry == 0)
		return fail(l, "no entry point (a shared library, not a program?)");
	if (!entry_ok)
		return fail(l, "entry point %#lx is not inside an executable segment",
			    (unsigned long)eh->e_entry);
	if (!phdr_found)
		out->phdr = 0;
	return 0;
}

/* Maps one PT_LOAD segment inside the already reserved span. */
static int map_segment(struct loader *l, unsigned i, const Elf64_Phdr *p, uint64_t bias)
{
	int prot = ((p->p_flags & PF_R) ? PROT_READ : 0) | ((p->p_flags & PF_W) ? PROT_WRITE : 0) |
		   ((p->p_flags & PF_X) ? PROT_EXEC : 0);
	uint64_t start = p->p_vaddr + bias, page = PG_DOWN(start);
	uint64_t file_end = start + p->p_filesz, mem_end = start + p->p_memsz;
	uint64_t anon_from = page;

	if (p->p_filesz > 0) {
		uint64_t map_end = PG_UP(file_end);
		/* The rest of the last file page holds whatever follows in the file; .bss must
		 * read as zeros, so clear it, making a read-only page briefly writable (the
		 * kernel silently skips that case; a private page makes it safe). */
		int zero_tail = p->p_memsz > p->p_filesz && (file_end & (PG - 1)) != 0;
		int mprot = prot | (zero_tail ? PROT_WRITE : 0);
		void *m = mmap((void *)page, map_end - page, mprot, MAP_PRIVATE | MAP_FIXED, l->fd,
			       (off_t)PG_DOWN(p->p_offset));

		if (m == MAP_FAILED)
			return fail(l, "segment %u: cannot map %#lx bytes at %#lx: %s", i,
				    (unsigned long)(map_end - page), (unsigned long)page,
				    strerror(errno));
		if (zero_tail) {
			memset((void *)file_end, 0, map_end - file_end);
			if (mprot != prot && mprotect((void *)page, map_end - page, prot) != 0)
				return fail(l, "segment %u: mprotect: %s", i, strerror(errno));
		}
		anon_from = map_end;
	}
	if (PG_UP(mem_end) > anon_from &&
	    mmap((void *)anon_from, PG_UP(mem_end) - anon_from, prot,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return fail(l, "segment %u: cannot map %#lx bytes of .bss at %#lx: %s", i,
			    (unsigned long)(PG_UP(mem_end) - anon_from), (unsigned long)anon_from,
			    strerror(errno));
	return 0;
}

/* Reserves the image's span (PROT_NONE, so holes between segments stay owned by the image)
 * and maps the segments into it; undoes everything on failure. */
static int map_image(struct loader *l, sc_place_fn place, void *arg, uint64_t align,
		     struct sc_elf_image *out)
{
	uint64_t lo = out->lo, hi = out->hi, bias = 0, got = 0, got_len = 0;
	int was_mapped = 0, flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *m;

	if (l->eh.e_type == ET_DYN) {
		/* The bias must be a multiple of the alignment, so the request starts at the
		 * aligned-down first address (usually 0 anyway). */
		uint64_t lo_al = lo & ~(align - 1);

		got_len = hi - lo_al;
		got = place ? place(got_len, align, arg) : 0;
		if (got == 0)
			return fail(l, "no room for the image (%#lx bytes, alignment %#lx)",
				    (unsigned long)got_len, (unsigned long)align);
		if (got % align != 0 || got >= USER_END || got_len > USER_END - got)
			return fail(
			    l, "placement at %#lx is unusable for %#lx bytes, alignment %#lx",
			    (unsigned long)got, (unsigned long)got_len, (unsigned long)align);
		/* msync fails with ENOMEM when part of the range is unmapped: remember whether
		 * the caller had a reservation there, to give the range back the same way. */
		was_mapped = msync((void *)got, got_len, MS_ASYNC) == 0;
		bias = got - lo_al;
		flags |= MAP_FIXED;
	} else {
		flags |= MAP_FIXED_NOREPLACE;
	}
	m = mmap((void *)(lo + bias), hi - lo, PROT_NONE, flags, -1, 0);
	if (m == MAP_FAILED || (uint64_t)m != lo + bias) {
		int e = errno;

		if (m != MAP_FAILED) /* a kernel older than 4.17 took NOREPLACE as a hint */
			munmap(m, hi - lo);
		if (l->eh.e_type == ET_EXEC && (m != MAP_FAILED || e == EEXIST))
			fail(l,
			     "cannot load at %#lx-%#lx: the address range is already in use "
			     "(a non-PIE program must go at its link-time address)",
			     (unsigned long)lo, (unsigned long)hi);
		else
			fail(l, "cannot reserve %#lx-%#lx: %s", (unsigned long)(lo + bias),
			     (unsigned long)(hi + bias), strerror(e));
		goto undo;
	}
	for (unsigned i = 0; i < l->eh.e_phnum; i++) {
		const Elf64_Phdr *p = &l->ph[i];

		if (p->p_type == PT_LOAD && p->p_memsz > 0 && map_segment(l, i, p, bias) < 0) {
			if (l->eh.e_type == ET_EXEC)
				munmap((void *)lo, hi - lo);
			goto undo;
		}
	}
	out->base = bias;
	out->lo = lo + bias;
	out->hi = hi + bias;
	out->entry = l->eh.e_entry + bias;
	if (out->phdr)
		out->phdr += bias;
	return 0;
undo:
	if (got && was_mapped)
		mmap((void *)got, got_len, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	else if (got)
		munmap((void *)got, got_len);
	return -1;
}

int sc_elf_map(const char *path, sc_place_fn place, void *arg, struct sc_elf_image *out, char *err,
	       size_t errlen)
{
	struct loader l = {.path = path, .fd = -1, .err = err, .errlen = errlen};
	struct sc_elf_image img;
	struct stat st;
	uint64_t align;
	ssize_t n;
	int rc = -1;

	if (err && errlen)
		err[0] = 0;
	memset(&img, 0, sizeof(img));
	l.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l.fd < 0)
		return fail(&l, "%s", strerror(errno));
	if (fstat(l.fd, &st) != 0) {
		fail(&l, "%s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(&l, "%s", S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
		goto out;
	}
	/* execve needs execute permission on the program and on its interpreter. */
	if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) != 0) {
		fail(&l, "not executable: %s", strerror(errno));
		goto out;
	}
	l.fsize = (uint64_t)st.st_size;
	n = read_at(l.fd, &l.eh, sizeof(l.eh), 0);
	if (n < 0) {
		fail(&l, "cannot read the ELF header: %s", strerror(errno));
		goto out;
	}
	if (check_ehdr(&l, n) < 0)
		goto out;
	l.ph = malloc((size_t)l.eh.e_phnum * sizeof(Elf64_Phdr));
	if (!l.ph) {
		fail(&l, "out of memory");
		goto out;
	}
	if (read_at(l.fd, l.ph, (size_t)l.eh.e_phnum * sizeof(Elf64_Phdr), l.eh.e_phoff) !=
	    (ssize_t)(l.eh.e_phnum * sizeof(Elf64_Phdr))) {
		fail(&l, "cannot read the program headers");
		goto out;
	}
	img.is_pie = l.eh.e_type == ET_DYN;
	img.phent = sizeof(Elf64_Phdr);
	img.phnum = l.eh.e_phnum;
	if (scan_phdrs(&l, &img, &align) < 0 || map_image(&l, place, arg, align, &img) < 0)
		goto out;
	*out = img;
	rc = 0;
out:
	free(l.ph);
	close(l.fd);
	return rc;
}
