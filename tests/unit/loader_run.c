/* loader_run PROGRAM [ARGS...]: runs PROGRAM the way the lower half starts the upper half, as
 * a test of the ELF loader: reserves an arena, maps the program and its interpreter into it,
 * builds the initial stack there and jumps in. No sanitizers: after sc_enter the loaded
 * program owns the process, and the arena overlaps ASan's shadow memory anyway. */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "elf_load.h"
#include "exec_resolve.h"
#include "lh_abi.h"
#include "stack_build.h"

#define ARENA_LEN (64UL << 30)
#define STACK_LEN (8UL << 20)
#define PG 4096UL
/* An auxv entry only this test gives; loader_probe checks it arrived (extra_auxv works). */
#define SC_TEST_AT 0x53434c54UL
#define SC_TEST_AT_VALUE 0x5eedUL

extern char **environ;

struct bump {
	uint64_t next, end;
};

/* The simplest placement: upward through the reserved arena, a 64 KiB gap between images so
 * that /proc/self/maps shows them apart. */
static uint64_t place(uint64_t len, uint64_t align, void *arg)
{
	struct bump *b = arg;
	uint64_t a = (b->next + align - 1) & ~(align - 1);

	if (a < b->next || a > b->end || len > b->end - a)
		return 0;
	b->next = a + len + 0x10000;
	return a;
}

/* The lower half's glibc registered the thread's rseq area; the kernel allows one per
 * thread, so the upper half's glibc would fail to register its own (and silently lose the
 * rseq fast paths). Unregister ours: this process never runs lower-half code again. */
static void drop_rseq(void)
{
	char *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (__rseq_size == 0)
		return;
	/* glibc registers 32 bytes even where __rseq_size reports the 20-byte feature size. */
	if (syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0)
		syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
}

static void show(const char *what, const struct sc_elf_image *im)
{
	fprintf(stderr, "loader_run: %s: %#lx-%#lx base %#lx entry %#lx phdr %#lx phnum %u%s%s%s\n",
		what, (unsigned long)im->lo, (unsigned long)im->hi, (unsigned long)im->base,
		(unsigned long)im->entry, (unsigned long)im->phdr, im->phnum,
		im->is_pie ? " pie" : "", im->exec_stack ? " execstack" : "",
		im->interp[0] ? " interp" : "");
}

int main(int argc, char **argv)
{
	static struct sc_exec_plan plan;
	struct sc_elf_image exe, interp;
	struct bump b = {SC_ALLOC_BASE, SC_ALLOC_BASE + ARENA_LEN};
	const uint64_t extra[] = {SC_TEST_AT, SC_TEST_AT_VALUE, 0, 0};
	struct sc_stack_spec spec;
	int verbose = getenv("SC_LOADER_VERBOSE") != NULL;
	char err[512], comm[16];
	uint64_t stack, rsp;
	void *m;

	if (argc < 2) {
		fprintf(stderr, "usage: loader_run PROGRAM [ARGS...]\n");
		return 2;
	}
	m = mmap((void *)SC_ALLOC_BASE, ARENA_LEN, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != (void *)SC_ALLOC_BASE) {
		fprintf(stderr, "loader_run: cannot reserve the arena at %#lx: %s\n", SC_ALLOC_BASE,
			strerror(errno));
		return 1;
	}
	if (sc_exec_resolve(argv[1], argv + 1, &plan, err, sizeof(err)) < 0) {
		fprintf(stderr, "loader_run: %s\n", err);
		return 127;
	}
	if (sc_elf_map(plan.path, place, &b, &exe, err, sizeof(err)) < 0) {
		fprintf(stderr, "loader_run: %s\n", err);
		return 126;
	}
	if (verbose)
		show(plan.path, &exe);
	if (exe.interp[0]) {
		if (sc_elf_map(exe.interp, place, &b, &interp, err, sizeof(err)) < 0) {
			fprintf(stderr, "loader_run: %s (the interpreter of %s)\n", err, plan.path);
			return 126;
		}
		if (verbose)
			show(exe.interp, &interp);
		if (interp.interp[0]) {
			fprintf(stderr, "loader_run: %s: an interpreter with an interpreter\n",
				exe.interp);
			return 126;
		}
	}

	/* The stack, with a PROT_NONE guard page below (left from the arena reservation). */
	stack = place(STACK_LEN + PG, PG, &b);
	if (!stack || mmap((void *)(stack + PG), STACK_LEN,
			   PROT_READ | PROT_WRITE | (exe.exec_stack ? PROT_EXEC : 0),
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		fprintf(stderr, "loader_run: cannot map the stack: %s\n", strerror(errno));
		return 1;
	}
	memset(&spec, 0, sizeof(spec));
	spec.argv = plan.argv;
	spec.envp = environ;
	spec.exe = &exe;
	spec.interp = exe.interp[0] ? &interp : NULL;
	spec.execfn = plan.execfn;
	spec.sysinfo_ehdr = getauxval(AT_SYSINFO_EHDR);
	spec.extra_auxv = extra;
	rsp = sc_stack_build((void *)(stack + PG), STACK_LEN, &spec, err, sizeof(err));
	if (!rsp) {
		fprintf(stderr, "loader_run: %s\n", err);
		return 1;
	}
	if (verbose)
		fprintf(stderr, "loader_run: stack %#lx-%#lx rsp %#lx\n",
			(unsigned long)(stack + PG), (unsigned long)(stack + PG + STACK_LEN),
			(unsigned long)rsp);
	/* What execve does besides mapping: the command name is the file's base name. */
	snprintf(comm, sizeof(comm), "%s", basename(plan.execfn));
	prctl(PR_SET_NAME, comm, 0, 0, 0);
	fflush(NULL);
	drop_rseq();
	sc_enter(rsp, spec.interp ? interp.entry : exe.entry);
}
