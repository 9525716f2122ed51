/* The upper half's initial stack, built in memory the caller chose (inside the arena) with
 * the layout the x86-64 kernel gives a fresh process, and sc_enter, the jump into it. The
 * auxiliary vector starts from the lower half's own, which is read as untrusted input. */
#define _GNU_SOURCE
#include "stack_build.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <unistd.h>

#ifndef AT_RSEQ_FEATURE_SIZE
#define AT_RSEQ_FEATURE_SIZE 27
#define AT_RSEQ_ALIGN 28
#endif
#ifndef AT_HWCAP3
#define AT_HWCAP3 29
#define AT_HWCAP4 30
#endif
#ifndef AT_MINSIGSTKSZ
#define AT_MINSIGSTKSZ 51
#endif

/* The kernel gives ~25 entries; room for future ones plus the caller's extras. */
#define MAX_AUXV 128
#define MAX_EXTRA 32
#define MAX_PLATFORM 64

__attribute__((format(printf, 3, 4))) static uint64_t fail(char *err, size_t errlen,
							   const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* Types whose values are plain numbers, valid in the upper half as they are. Everything else
 * the lower half's vector holds is either replaced below or dropped: an unknown type may be a
 * pointer into the lower half's stack, which a checkpoint does not save. */
static int keep_as_is(uint64_t type)
{
	switch (type) {
	case AT_PAGESZ:
	case AT_FLAGS:
	case AT_UID:
	case AT_EUID:
	case AT_GID:
	case AT_EGID:
	case AT_CLKTCK:
	case AT_HWCAP:
	case AT_HWCAP2:
	case AT_HWCAP3:
	case AT_HWCAP4:
	case AT_FPUCW:
	case AT_DCACHEBSIZE:
	case AT_ICACHEBSIZE:
	case AT_UCACHEBSIZE:
	case AT_SECURE:
	case AT_RSEQ_FEATURE_SIZE:
	case AT_RSEQ_ALIGN:
	case AT_MINSIGSTKSZ:
		return 1;
	default:
		/* cache shapes/sizes/geometries: numbers (not given on x86, harmless) */
		return type >= AT_L1I_CACHESHAPE && type <= AT_L3_CACHEGEOMETRY;
	}
}

/* The lower half's auxiliary vector as (type, value) pairs without AT_NULL; returns the
 * number of pairs or -1. /proc/self/auxv holds all of it as the kernel gave it: getauxval
 * cannot enumerate, and on x86-64 glibc answers AT_HWCAP with its own value (HWCAP_X86_64),
 * not the kernel's. Without /proc, fall back to getauxval for the types it reports as is. */
static int own_auxv(uint64_t (*av)[2], int max)
{
	static const uint64_t fallback[] = {AT_SYSINFO_EHDR,
					    AT_MINSIGSTKSZ,
					    AT_PAGESZ,
					    AT_CLKTCK,
					    AT_FLAGS,
					    AT_UID,
					    AT_EUID,
					    AT_GID,
					    AT_EGID,
					    AT_SECURE,
					    AT_HWCAP2,
					    AT_PLATFORM,
					    AT_RSEQ_FEATURE_SIZE,
					    AT_RSEQ_ALIGN};
	uint64_t buf[2 * (MAX_AUXV + 1)];
	size_t got = 0;
	int n = 0, fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		for (size_t i = 0; i < sizeof(fallback) / sizeof(fallback[0]) && n < max; i++) {
			unsigned long v;

			errno = 0;
			v = getauxval(fallback[i]);
			if (v != 0 || errno != ENOENT) {
				av[n][0] = fallback[i];
				av[n++][1] = v;
			}
		}
		return n;
	}
	while (got < sizeof(buf)) {
		ssize_t r = read(fd, (char *)buf + got, sizeof(buf) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	for (size_t i = 0; i + 1 < got / 8; i += 2) {
		if (buf[i] == AT_NULL)
			return n;
		if (n == max)
			break;
		av[n][0] = buf[i];
		av[n++][1] = buf[i + 1];
	}
	return -1; /* no AT_NULL within bounds: malformed or absurdly long */
}

static int set_aux(uint64_t (*av)[2], int *n, int max, uint64_t type, uint64_t val)
{
	for (int i = 0; i < *n; i++) {
		if (av[i][0] == type) {
			av[i][1] = val;
			return 0;
		}
	}
	if (*n == max)
		return -1;
	av[*n][0] = type;
	av[(*n)++][1] = val;
	return 0;
}

/* Counts a NULL-terminated string vector and adds its string bytes to *bytes; stops (returns
 * -1) as soon as the bytes exceed `limit`, so absurd input cannot overflow the arithmetic. */
static long count_strings(char *const *v, size_t *bytes, size_t limit)
{
	long n = 0;

	for (; v && v[n]; n++) {
		*bytes += strnlen(v[n], limit) + 1;
		if (*bytes > limit)
			return -1;
	}
	return n;
}

uint64_t sc_stack_build(void *lo, size_t size, const struct sc_stack_spec *spec, char *err,
			size_t errlen)
{
	uint64_t av[MAX_AUXV + MAX_EXTRA][2];
	const uint64_t max_av = MAX_AUXV + MAX_EXTRA;
	const char *platform = NULL;
	size_t limit = size / 4, bytes = 0, fnlen, platlen = 0;
	uint64_t top, p, sp, items, *w;
	uint64_t execfn_at, platform_at = 0, random_at;
	char *s;
	long argc, envc;
	int nav, nkeep = 0;

	if (!spec || !spec->exe || !spec->argv || !spec->argv[0] || !spec->execfn)
		return fail(err, errlen, "stack: no program, argv[0] or execfn given");
	if (spec->exe->phdr == 0)
		return fail(err, errlen,
			    "stack: the program headers of the program are not mapped "
			    "(no PT_LOAD holds them), AT_PHDR would be invalid");
	argc = count_strings(spec->argv, &bytes, limit);
	envc = argc < 0 ? -1 : count_strings(spec->envp, &bytes, limit);
	fnlen = strnlen(spec->execfn, limit) + 1;
	if (argc < 0 || envc < 0 || (bytes += fnlen) > limit)
		return fail(err, errlen,
			    "stack: arguments and environment exceed %zu bytes (a "
			    "quarter of the %zu-byte stack)",
			    limit, size);

	/* The vector: own entries in the kernel's order, replaced or kept, then the rest. */
	nav = own_auxv(av, MAX_AUXV);
	if (nav < 0)
		return fail(err, errlen,
			    "stack: /proc/self/auxv is malformed (no AT_NULL within "
			    "%d entries)",
			    MAX_AUXV);
	for (int i = 0; i < nav; i++) {
		uint64_t t = av[i][0];

		if (t == AT_PLATFORM && av[i][1])
			platform = (const char *)av[i][1];
		if (keep_as_is(t) || t == AT_PHDR || t == AT_PHENT || t == AT_PHNUM ||
		    t == AT_BASE || t == AT_ENTRY || t == AT_RANDOM || t == AT_EXECFN ||
		    (t == AT_PLATFORM && platform) ||
		    (t == AT_SYSINFO_EHDR && spec->sysinfo_ehdr)) {
			av[nkeep][0] = t;
			av[nkeep++][1] = av[i][1];
		}
	}
	nav = nkeep;
	/* Strings the kernel put on the lower half's stack are copied to the new one. */
	if (platform)
		platlen = strnlen(platform, MAX_PLATFORM - 1) + 1;

	top = ((uint64_t)lo + size) & ~15UL;
	/* Room for everything, checked before anything is written: end marker, strings,
	 * platform, random bytes, alignment slack, and the vectors themselves. */
	items = 1 + (uint64_t)argc + 1 + (uint64_t)envc + 1 + 2 * (max_av + 1);
	if (size < 64 || (uint64_t)lo + size < (uint64_t)lo ||
	    8 + bytes + 16 + platlen + 16 + 16 + items * 8 > limit)
		return fail(err, errlen,
			    "stack: arguments, environment and vectors do not fit in "
			    "a quarter of the %zu-byte stack",
			    size);

	/* Top down, like the kernel: 8 zero bytes, AT_EXECFN string, argv strings followed
	 * contiguously by envp strings (setproctitle-style code relies on that), then aligned
	 * down: platform string, 16 random bytes, vectors. */
	p = top - 8;
	memset((void *)p, 0, 8);
	p -= fnlen;
	memcpy((void *)p, spec->execfn, fnlen - 1);
	((char *)p)[fnlen - 1] = 0;
	execfn_at = p;
	p -= bytes - fnlen;
	s = (char *)p; /* strings are copied when the vectors pointing at them are written */
	p &= ~15UL;
	if (platform) {
		p -= platlen;
		memcpy((void *)p, platform, platlen - 1);
		((char *)p)[platlen - 1] = 0;
		platform_at = p;
	}
	p -= 16;
	random_at = p;
	for (size_t got = 0; got < 16;) {
		ssize_t r = getrandom((char *)p + got, 16 - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return fail(err, errlen, "stack: getrandom: %s", strerror(errno));
		got += (size_t)r;
	}

	/* The program's values (kernel order where it adds them), then the caller's extras. */
	if (set_aux(av, &nav, max_av, AT_PHDR, spec->exe->phdr) ||
	    set_aux(av, &nav, max_av, AT_PHENT, spec->exe->phent) ||
	    set_aux(av, &nav, max_av, AT_PHNUM, spec->exe->phnum) ||
	    set_aux(av, &nav, max_av, AT_BASE, spec->interp ? spec->interp->base : 0) ||
	    set_aux(av, &nav, max_av, AT_ENTRY, spec->exe->entry) ||
	    set_aux(av, &nav, max_av, AT_RANDOM, random_at) ||
	    set_aux(av, &nav, max_av, AT_EXECFN, execfn_at) ||
	    (platform && set_aux(av, &nav, max_av, AT_PLATFORM, platform_at)) ||
	    (spec->sysinfo_ehdr && set_aux(av, &nav, max_av, AT_SYSINFO_EHDR, spec->sysinfo_ehdr)))
		return fail(err, errlen, "stack: auxiliary vector too long");
	for (int i = 0; spec->extra_auxv && spec->extra_auxv[2 * i] != AT_NULL; i++) {
		if (i == MAX_EXTRA ||
		    set_aux(av, &nav, max_av, spec->extra_auxv[2 * i], spec->extra_auxv[2 * i + 1]))
			return fail(err, errlen, "stack: more than %d extra auxv entries",
				    MAX_EXTRA);
	}

	/* Final rsp: 16-byte aligned with argc at it (the ABI's process entry state). */
	items = 1 + (uint64_t)argc + 1 + (uint64_t)envc + 1 + 2 * ((uint64_t)nav + 1);
	sp = (p - items * 8) & ~15UL;
	w = (uint64_t *)sp;
	*w++ = (uint64_t)argc;
	for (long i = 0; i < argc; i++) {
		size_t len = strlen(spec->argv[i]) + 1;
		memcpy(s, spec->argv[i], len);
		*w++ = (uint64_t)s;
		s += len;
	}
	*w++ = 0;
	for (long i = 0; i < envc; i++) {
		size_t len = strlen(spec->envp[i]) + 1;
		memcpy(s, spec->envp[i], len);
		*w++ = (uint64_t)s;
		s += len;
	}
	*w++ = 0;
	for (int i = 0; i < nav; i++) {
		*w++ = av[i][0];
		*w++ = av[i][1];
	}
	*w++ = AT_NULL;
	*w++ = 0;
	return sp;
}

/* sc_enter(rsp, entry): the register state of a fresh process. The entry address is parked
 * just below the new rsp (free memory: nothing lives below the initial stack pointer) so that
 * every general register can be zeroed; rdx = 0 tells _start there is no rtld_fini. x87 and
 * MXCSR control words go back to the values a new process starts with. */
__asm__(".text\n"
	".globl sc_enter\n"
	".type sc_enter, @function\n"
	"sc_enter:\n"
	"	mov %rdi, %rsp\n"
	"	mov %rsi, -8(%rsp)\n"
	"	movl $0x1f80, -16(%rsp)\n"
	"	ldmxcsr -16(%rsp)\n"
	"	fninit\n"
	"	cld\n"
	"	xor %eax, %eax\n"
	"	xor %ebx, %ebx\n"
	"	xor %ecx, %ecx\n"
	"	xor %edx, %edx\n"
	"	xor %esi, %esi\n"
	"	xor %edi, %edi\n"
	"	xor %ebp, %ebp\n"
	"	xor %r8d, %r8d\n"
	"	xor %r9d, %r9d\n"
	"	xor %r10d, %r10d\n"
	"	xor %r11d, %r11d\n"
	"	xor %r12d, %r12d\n"
	"	xor %r13d, %r13d\n"
	"	xor %r14d, %r14d\n"
	"	xor %r15d, %r15d\n"
	"	jmp *-8(%rsp)\n"
	".size sc_enter, . - sc_enter\n");
