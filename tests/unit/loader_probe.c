/* A program for loader.sh to run natively and under loader_run: checks that what the kernel
 * (or our loader) handed it is right -- argv/envp layout, auxv, TLS, malloc, threads, dlopen.
 * Built as PIE, non-PIE, static and static-pie (-DPROBE_STATIC: no dlopen, no interpreter).
 * SC_PROBE_LOADED=1 adds the checks only true under loader_run (addresses in the arena). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/rseq.h>

#include "lh_abi.h"

#define SC_TEST_AT 0x53434c54UL /* given by loader_run as an extra auxv entry */

extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));
extern char _start[];
extern char **environ;

static __thread int tls_val = 42;
static __thread char tls_bss[4096];
static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("probe: FAIL %s: ", #cond);                                         \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static int in_arena(const void *p)
{
	return (uintptr_t)p >= SC_ARENA_BASE && (uintptr_t)p < SC_ARENA_END;
}

static void *thread_main(void *arg)
{
	(void)arg;
	/* A new thread gets a fresh copy of the TLS initialisation image. */
	if (tls_val != 42 || tls_bss[100] != 0)
		return NULL;
	tls_val = 7;
	return &tls_val;
}

#ifndef PROBE_STATIC
static int find_ldso(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, "ld-linux")) {
		*(uintptr_t *)data = info->dlpi_addr;
		return 1;
	}
	return 0;
}
#endif

static void check_auxv(int argc, char **argv, int loaded)
{
	const char *execfn = (const char *)getauxval(AT_EXECFN), *want;
	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	uintptr_t base = getauxval(AT_BASE);
	int zero = 1;

	CHECK(getauxval(AT_PHDR) == (uintptr_t)&__ehdr_start + __ehdr_start.e_phoff,
	      "AT_PHDR %#lx, ELF header at %p", getauxval(AT_PHDR), (void *)&__ehdr_start);
	CHECK(getauxval(AT_PHENT) == sizeof(ElfW(Phdr)), "AT_PHENT %lu", getauxval(AT_PHENT));
	CHECK(getauxval(AT_PHNUM) == __ehdr_start.e_phnum, "AT_PHNUM %lu", getauxval(AT_PHNUM));
	CHECK(getauxval(AT_ENTRY) == (uintptr_t)_start, "AT_ENTRY %#lx, _start %p",
	      getauxval(AT_ENTRY), (void *)_start);
	CHECK(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ %lu", getauxval(AT_PAGESZ));
	CHECK(execfn && *execfn, "no AT_EXECFN");
	want = getenv("SC_PROBE_EXECFN");
	CHECK(!want || (execfn && strcmp(execfn, want) == 0), "AT_EXECFN %s, expected %s",
	      execfn ? execfn : "(null)", want ? want : "");
	/* The kernel's layout: vectors, then random bytes, then argv strings above them. */
	CHECK(rnd && (uintptr_t)rnd > (uintptr_t)&argv[argc] && (uintptr_t)rnd < (uintptr_t)argv[0],
	      "AT_RANDOM %p outside [%p, %p)", (const void *)rnd, (void *)&argv[argc],
	      (void *)argv[0]);
	for (int i = 0; rnd && i < 16; i++)
		zero &= rnd[i] == 0;
	CHECK(!zero, "AT_RANDOM bytes are all zero");
	if (rnd)
		printf("random: %02x%02x%02x%02x%02x%02x%02x%02x\n", rnd[0], rnd[1], rnd[2], rnd[3],
		       rnd[4], rnd[5], rnd[6], rnd[7]);
	CHECK(getauxval(AT_PLATFORM) && strcmp((char *)getauxval(AT_PLATFORM), "x86_64") == 0,
	      "AT_PLATFORM");
#ifdef PROBE_STATIC
	CHECK(base == 0, "AT_BASE %#lx for a static program", base);
#else
	uintptr_t ldso = 0;
	dl_iterate_phdr(find_ldso, &ldso);
	CHECK(base != 0 && base == ldso, "AT_BASE %#lx, ld.so loaded at %#lx", base, ldso);
#endif
	if (loaded) {
		CHECK(getauxval(SC_TEST_AT) == 0x5eed, "extra auxv entry %#lx",
		      getauxval(SC_TEST_AT));
#ifndef PROBE_STATIC
		CHECK(in_arena((void *)base), "ld.so at %#lx outside the arena", base);
#endif
	}
}

int main(int argc, char **argv)
{
	int loaded = getenv("SC_PROBE_LOADED") != NULL, local = 0;
	const char *v = getenv("SC_PROBE_VAR");
	pthread_t th;
	void *ret = NULL;
	char *big;

	printf("argv:");
	for (int i = 1; i < argc; i++)
		printf(" [%s]", argv[i]);
	printf("\nenv: [%s]\n", v ? v : "(unset)");
	/* The strings lie back to back: argv[0]..argv[argc-1], then environ[0]... */
	for (int i = 0; i + 1 < argc; i++)
		CHECK(argv[i + 1] == argv[i] + strlen(argv[i]) + 1, "argv[%d] not contiguous",
		      i + 1);
	CHECK(!environ[0] || environ[0] == argv[argc - 1] + strlen(argv[argc - 1]) + 1,
	      "environment strings do not follow the argument strings");
	CHECK(((uintptr_t)&argv[argc + 1]) == (uintptr_t)environ || environ[0] == NULL,
	      "envp does not follow argv");
	check_auxv(argc, argv, loaded);
	if (loaded) {
		CHECK(in_arena(&local), "stack at %p outside the arena", (void *)&local);
		/* A PIE goes into the arena; ET_EXEC stays at its link-time address. */
		CHECK(__ehdr_start.e_type != ET_DYN || in_arena((void *)main),
		      "code at %p outside the arena", (void *)main);
	}

	CHECK(tls_val == 42 && tls_bss[4095] == 0, "TLS initial values");
	tls_val = 1;
	CHECK(pthread_create(&th, NULL, thread_main, NULL) == 0, "pthread_create");
	CHECK(pthread_join(th, &ret) == 0 && ret && ret != (void *)&tls_val && tls_val == 1,
	      "thread TLS");

	big = malloc(100 << 20);
	CHECK(big != NULL, "malloc(100 MB)");
	if (big) {
		memset(big, 0x5a, 100 << 20);
		CHECK(big[(100 << 20) - 1] == 0x5a, "malloc'd memory");
		free(big);
	}
#ifndef PROBE_STATIC
	void *m = dlopen("libm.so.6", RTLD_NOW);
	double (*cosp)(double) = m ? (double (*)(double))dlsym(m, "cos") : NULL;
	CHECK(cosp && cosp(0.0) == 1.0, "dlopen(libm.so.6)/cos: %s", m ? "" : dlerror());
#endif
	/* Floating point through varargs: a misaligned initial stack crashes in here. */
	printf("float: %.3f\n", 3.14159);
	printf("rseq: %u\n", __rseq_size);
	printf("probe: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
