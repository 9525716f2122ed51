/* Unit tests of the ELF loader (lower-half/elf_load.c): crafted ELF files, good and
 * malformed, mapped through a placement callback; checks the mapping, the error messages, and
 * that a failure leaves nothing behind. Stack building and PATH/#! resolution are tested in
 * loader_stack_test.c, whole programs by loader.sh. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "elf_load.h"

#define PG 4096UL
#define FILE_LEN 0x3000UL

static char tmpdir[] = "/tmp/sc-test-elf-XXXXXX";

/* The template: ET_DYN, headers in an R segment, code in RX (entry there), data in RW with
 * 0x80 bytes from the file and .bss over three pages; the rest of the data page in the file is
 * 0xaa so that a missing tail clear shows. */
struct img {
	unsigned char bytes[FILE_LEN];
	size_t len;
};

static Elf64_Ehdr *eh(struct img *im)
{
	return (Elf64_Ehdr *)im->bytes;
}

static Elf64_Phdr *ph(struct img *im, int i)
{
	return (Elf64_Phdr *)(im->bytes + sizeof(Elf64_Ehdr)) + i;
}

static void make_template(struct img *im)
{
	Elf64_Phdr seg[4] = {
	    {PT_LOAD, PF_R, 0, 0, 0, 0x200, 0x200, PG},
	    {PT_LOAD, PF_R | PF_X, 0x1000, 0x1000, 0x1000, 0x100, 0x100, PG},
	    {PT_LOAD, PF_R | PF_W, 0x2000, 0x3000, 0x3000, 0x80, 0x3000, PG},
	    {PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0, 16},
	};

	memset(im, 0, sizeof(*im));
	im->len = FILE_LEN;
	memcpy(eh(im)->e_ident, ELFMAG, SELFMAG);
	eh(im)->e_ident[EI_CLASS] = ELFCLASS64;
	eh(im)->e_ident[EI_DATA] = ELFDATA2LSB;
	eh(im)->e_ident[EI_VERSION] = EV_CURRENT;
	eh(im)->e_type = ET_DYN;
	eh(im)->e_machine = EM_X86_64;
	eh(im)->e_version = EV_CURRENT;
	eh(im)->e_entry = 0x1010;
	eh(im)->e_phoff = sizeof(Elf64_Ehdr);
	eh(im)->e_ehsize = sizeof(Elf64_Ehdr);
	eh(im)->e_phentsize = sizeof(Elf64_Phdr);
	eh(im)->e_phnum = 4;
	memcpy(ph(im, 0), seg, sizeof(seg));
	for (int i = 0; i < 0x100; i++)
		im->bytes[0x1000 + i] = (unsigned char)i;
	memset(im->bytes + 0x2000, 0xaa, 0x1000);
	memset(im->bytes + 0x2000, 0x11, 0x80);
}

static const char *write_img(const struct img *im, const char *name)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, im->bytes, im->len), (ssize_t)im->len);
	close(fd);
	return path;
}

/* Placement: a fresh PROT_NONE reservation anywhere (kernel's choice), like an arena. */
struct placer {
	uint64_t addr, len, align;
	int reserve; /* 0: return a free, unreserved address instead */
};

static uint64_t place(uint64_t len, uint64_t align, void *arg)
{
	struct placer *p = arg;
	char *m =
	    mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t a;

	assert_true(m != MAP_FAILED);
	a = ((uint64_t)m + align - 1) & ~(align - 1);
	munmap(m, len + align);
	if (p->reserve)
		assert_true(mmap((void *)a, len, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
				 0) == (void *)a);
	p->addr = a;
	p->len = len;
	p->align = align;
	return a;
}

/* Permissions of the mapping holding addr, from /proc/self/maps ("r-xp"), or "" if none;
 * `file` gets whether it is file-backed. */
static void perms_at(uint64_t addr, char perms[5], int *file)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	perms[0] = 0;
	*file = 0;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off;
		char p[5], dev[16];
		unsigned long ino;

		if (sscanf(line, "%lx-%lx %4s %lx %15s %lu", &lo, &hi, p, &off, dev, &ino) == 6 &&
		    addr >= lo && addr < hi) {
			memcpy(perms, p, 5);
			*file = ino != 0;
			break;
		}
	}
	fclose(f);
}

static int is_mapped(uint64_t addr, uint64_t len)
{
	return msync((void *)addr, len, MS_ASYNC) == 0;
}

static uint64_t misplace(uint64_t len, uint64_t align, void *arg)
{
	return place(len, align, arg) + PG;
}

static void test_good_pie(void **state)
{
	struct img im;
	struct placer pl = {.reserve = 1};
	struct sc_elf_image out;
	char err[256], perms[5];
	int file;
	const char *path;
	unsigned char *b;

	(void)state;
	make_template(&im);
	path = write_img(&im, "good");
	assert_int_equal(sc_elf_map(path, place, &pl, &out, err, sizeof(err)), 0);
	assert_int_equal(pl.align, PG);
	assert_int_equal(pl.len, 0x6000);
	assert_int_equal(out.base, pl.addr);
	assert_int_equal(out.lo, pl.addr);
	assert_int_equal(out.hi, pl.addr + 0x6000);
	assert_int_equal(out.entry, pl.addr + 0x1010);
	assert_int_equal(out.phdr, pl.addr + sizeof(Elf64_Ehdr));
	assert_int_equal(out.phent, sizeof(Elf64_Phdr));
	assert_int_equal(out.phnum, 4);
	assert_true(out.is_pie);
	assert_false(out.exec_stack);
	assert_string_equal(out.interp, "");
	b = (unsigned char *)out.base;
	assert_memory_equal(b, im.bytes, 0x200);
	assert_memory_equal(b + 0x1000, im.bytes + 0x1000, 0x100);
	/* data from the file, then zeros: the file page's tail and the anonymous .bss pages */
	for (int i = 0; i < 0x80; i++)
		assert_int_equal(b[0x3000 + i], 0x11);
	for (int i = 0x80; i < 0x3000; i++)
		assert_int_equal(b[0x3000 + i], 0);
	b[0x5fff] = 1; /* .bss is writable to its end */
	perms_at(out.base, perms, &file);
	assert_string_equal(perms, "r--p");
	assert_true(file);
	perms_at(out.base + 0x1000, perms, &file);
	assert_string_equal(perms, "r-xp");
	perms_at(out.base + 0x2000, perms, &file); /* hole between segments stays reserved */
	assert_string_equal(perms, "---p");
	perms_at(out.base + 0x3000, perms, &file);
	assert_string_equal(perms, "rw-p");
	assert_true(file);
	perms_at(out.base + 0x4000, perms, &file);
	assert_string_equal(perms, "rw-p");
	assert_false(file);
	munmap((void *)out.lo, out.hi - out.lo);
}

static void test_interp_stack_align(void **state)
{
	static const char ld[] = "/lib64/ld-linux-x86-64.so.2";
	struct img im;
	struct placer pl = {.reserve = 1};
	struct sc_elf_image out;
	char err[256];
	const char *path;

	(void)state;
	make_template(&im);
	*ph(&im, 3) = (Elf64_Phdr){PT_INTERP, PF_R, 0x300, 0x300, 0x300, sizeof(ld), sizeof(ld), 1};
	memcpy(im.bytes + 0x300, ld, sizeof(ld));
	eh(&im)->e_phnum = 5;
	*ph(&im, 4) = (Elf64_Phdr){PT_GNU_STACK, PF_R | PF_W | PF_X, 0, 0, 0, 0, 0, 16};
	ph(&im, 1)->p_align = 0x200000; /* huge-page aligned text: the bias must honour it */
	path = write_img(&im, "interp");
	assert_int_equal(sc_elf_map(path, place, &pl, &out, err, sizeof(err)), 0);
	assert_string_equal(out.interp, ld);
	assert_true(out.exec_stack);
	assert_int_equal(pl.align, 0x200000);
	assert_int_equal(out.base % 0x200000, 0);
	munmap((void *)out.lo, out.hi - out.lo);
}

/* A non-PIE image goes at its own address, and never over an existing mapping. */
static void test_exec_fixed(void **state)
{
	struct img im;
	struct sc_elf_image out;
	char err[256];
	const char *path;
	char *hole = mmap(NULL, 16 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t at = ((uint64_t)hole + (4 << 20)) & ~((1UL << 20) - 1);

	(void)state;
	assert_true(hole != MAP_FAILED);
	munmap(hole, 16 << 20);
	make_template(&im);
	eh(&im)->e_type = ET_EXEC;
	eh(&im)->e_entry += at;
	for (int i = 0; i < 3; i++)
		ph(&im, i)->p_vaddr += at;
	path = write_img(&im, "exec");
	assert_int_equal(sc_elf_map(path, NULL, NULL, &out, err, sizeof(err)), 0);
	assert_int_equal(out.base, 0);
	assert_int_equal(out.lo, at);
	assert_int_equal(out.entry, at + 0x1010);
	assert_false(out.is_pie);
	assert_memory_equal((void *)(at + 0x1000), im.bytes + 0x1000, 0x100);
	/* Again: the range is taken now. */
	assert_int_equal(sc_elf_map(path, NULL, NULL, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already in use"));
	assert_memory_equal((void *)(at + 0x1000), im.bytes + 0x1000, 0x100);
	munmap((void *)at, 0x6000);
}

struct bad_case {
	const char *name, *expect;
	void (*mutate)(struct img *im);
};

static void m_text(struct img *im)
{
	strcpy((char *)im->bytes, "#!/bin/sh\necho hello\n");
	im->len = strlen((char *)im->bytes);
}
static void m_empty(struct img *im)
{
	im->len = 0;
}
static void m_class32(struct img *im)
{
	eh(im)->e_ident[EI_CLASS] = ELFCLASS32;
}
static void m_short(struct img *im)
{
	im->len = 40;
}
static void m_bigendian(struct img *im)
{
	eh(im)->e_ident[EI_DATA] = ELFDATA2MSB;
}
static void m_arm(struct img *im)
{
	eh(im)->e_machine = EM_AARCH64;
}
static void m_rel(struct img *im)
{
	eh(im)->e_type = ET_REL;
}
static void m_core(struct img *im)
{
	eh(im)->e_type = ET_CORE;
}
static void m_phentsize(struct img *im)
{
	eh(im)->e_phentsize = 32;
}
static void m_phnum0(struct img *im)
{
	eh(im)->e_phnum = 0;
}
static void m_phnum_big(struct img *im)
{
	eh(im)->e_phnum = 2000;
}
static void m_phoff(struct img *im)
{
	eh(im)->e_phoff = FILE_LEN - 100;
}
static void m_seg_eof(struct img *im)
{
	ph(im, 2)->p_filesz = 0x1001;
	ph(im, 2)->p_memsz = 0x3000;
}
static void m_truncated(struct img *im)
{
	im->len = 0x1100; /* the data segment (offset 0x2000) is gone */
}
static void m_filesz(struct img *im)
{
	ph(im, 1)->p_memsz = 0x80;
}
static void m_congruent(struct img *im)
{
	ph(im, 2)->p_vaddr = 0x3100;
}
static void m_overflow(struct img *im)
{
	ph(im, 2)->p_vaddr = 0xfffffffffffff000UL;
	ph(im, 2)->p_offset = 0x2000;
	ph(im, 2)->p_memsz = 0x2000;
}
static void m_align(struct img *im)
{
	ph(im, 1)->p_align = 0x3000;
}
static void m_unsorted(struct img *im)
{
	Elf64_Phdr t = *ph(im, 1);
	*ph(im, 1) = *ph(im, 2);
	*ph(im, 2) = t;
}
static void m_entry(struct img *im)
{
	eh(im)->e_entry = 0x3010; /* in the data segment */
}
static void m_entry0(struct img *im)
{
	eh(im)->e_entry = 0;
}
static void m_noload(struct img *im)
{
	for (int i = 0; i < 3; i++)
		ph(im, i)->p_type = PT_NOTE;
}
static void m_interp_nul(struct img *im)
{
	*ph(im, 3) = (Elf64_Phdr){PT_INTERP, PF_R, 0x300, 0x300, 0x300, 8, 8, 1};
	memcpy(im->bytes + 0x300, "/lib/ldX", 8);
}
static void m_interp_long(struct img *im)
{
	*ph(im, 3) = (Elf64_Phdr){PT_INTERP, PF_R, 0x300, 0x300, 0x300, 300, 300, 1};
}
static void m_interp_twice(struct img *im)
{
	*ph(im, 3) = (Elf64_Phdr){PT_INTERP, PF_R, 0x300, 0x300, 0x300, 4, 4, 1};
	memcpy(im->bytes + 0x300, "/ld", 4);
	eh(im)->e_phnum = 5;
	*ph(im, 4) = *ph(im, 3);
}

static const struct bad_case bad_cases[] = {
    {"text", "not an ELF file", m_text},
    {"empty", "not an ELF file", m_empty},
    {"class32", "32-bit ELF", m_class32},
    {"short", "truncated ELF header", m_short},
    {"bigendian", "not a little-endian", m_bigendian},
    {"arm", "not x86-64", m_arm},
    {"rel", "relocatable object", m_rel},
    {"core", "core dump", m_core},
    {"phentsize", "program header entry size 32", m_phentsize},
    {"phnum0", "no program headers", m_phnum0},
    {"phnumbig", "too many program headers", m_phnum_big},
    {"phoff", "program headers (offset", m_phoff},
    {"segeof", "segment 2 extends beyond the end of the file", m_seg_eof},
    {"truncated", "segment 2 extends beyond the end of the file", m_truncated},
    {"filesz", "segment 1: file size 0x100 exceeds memory size 0x80", m_filesz},
    {"congruent", "not congruent", m_congruent},
    {"overflow", "outside user space", m_overflow},
    {"align", "not a power of two", m_align},
    {"unsorted", "not sorted", m_unsorted},
    {"entry", "entry point 0x3010 is not inside an executable segment", m_entry},
    {"entry0", "no entry point", m_entry0},
    {"noload", "no loadable segments", m_noload},
    {"interpnul", "not NUL-terminated", m_interp_nul},
    {"interplong", "invalid length 300", m_interp_long},
    {"interptwice", "more than one PT_INTERP", m_interp_twice},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct placer pl = {.reserve = 1};
		struct sc_elf_image out;
		struct img im;
		char err[256], prefix[300];
		const char *path;

		make_template(&im);
		c->mutate(&im);
		path = write_img(&im, c->name);
		memset(err, 0, sizeof(err));
		if (sc_elf_map(path, place, &pl, &out, err, sizeof(err)) == 0)
			fail_msg("%s: accepted", c->name);
		snprintf(prefix, sizeof(prefix), "%s: ", path);
		if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, c->expect))
			fail_msg("%s: error \"%s\", expected \"%s\"", c->name, err, c->expect);
		assert_int_equal(pl.addr, 0); /* rejected before anything was placed */
	}
}

static void test_file_errors(void **state)
{
	char err[256], path[300];
	struct sc_elf_image out;
	struct img im;

	(void)state;
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(sc_elf_map(path, place, NULL, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(sc_elf_map(tmpdir, place, NULL, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is a directory"));
	make_template(&im);
	snprintf(path, sizeof(path), "%s", write_img(&im, "noexec"));
	chmod(path, 0644);
	if (geteuid() != 0 || access(path, X_OK) != 0) { /* root: X_OK needs one x bit */
		assert_int_equal(sc_elf_map(path, place, NULL, &out, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "not executable"));
	}
	/* a message longer than the buffer is cut, still NUL-terminated */
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	memset(err, 'x', sizeof(err));
	assert_int_equal(sc_elf_map(path, place, NULL, &out, err, 12), -1);
	assert_int_equal(strlen(err), 11);
}

/* Failures after placement: the placed range is given back as it was. */
static void test_undo(void **state)
{
	struct img im;
	struct sc_elf_image out;
	char err[256], perms[5];
	int file;
	const char *path;
	FILE *f;
	int overcommit = -1;

	(void)state;
	make_template(&im);
	/* A misaligned placement is refused (and the range left alone). */
	ph(&im, 1)->p_align = 0x10000;
	path = write_img(&im, "undo-align");
	{
		struct placer pl = {.reserve = 1};

		assert_int_equal(sc_elf_map(path, misplace, &pl, &out, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "unusable"));
		assert_true(is_mapped(pl.addr, pl.len)); /* not unmapped: it was not ours */
		munmap((void *)pl.addr, pl.len);
	}
	/* .bss too large to commit: fails in the middle of mapping (heuristic overcommit). */
	f = fopen("/proc/sys/vm/overcommit_memory", "r");
	if (f) {
		if (fscanf(f, "%d", &overcommit) != 1)
			overcommit = -1;
		fclose(f);
	}
	if (overcommit != 0) {
		fprintf(stderr, "vm.overcommit_memory is not 0: mid-mapping failure not tested\n");
		return;
	}
	make_template(&im);
	ph(&im, 2)->p_memsz = 1UL << 42;
	path = write_img(&im, "undo-bss");
	for (int reserve = 0; reserve < 2; reserve++) {
		struct placer pl = {.reserve = reserve};

		assert_int_equal(sc_elf_map(path, place, &pl, &out, err, sizeof(err)), -1);
		assert_non_null(strstr(err, ".bss"));
		if (!reserve) {
			assert_false(is_mapped(pl.addr, PG));
			assert_false(is_mapped(pl.addr + 0x1000, PG));
		} else {
			/* the caller's reservation is intact and inaccessible again */
			assert_true(is_mapped(pl.addr, pl.len));
			for (uint64_t a = pl.addr; a < pl.addr + 0x6000; a += PG) {
				perms_at(a, perms, &file);
				assert_string_equal(perms, "---p");
				assert_false(file);
			}
			munmap((void *)pl.addr, pl.len);
		}
	}
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_pie),	cmocka_unit_test(test_interp_stack_align),
	    cmocka_unit_test(test_exec_fixed),	cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_file_errors), cmocka_unit_test(test_undo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
