/* Unit tests of the initial-stack builder and sc_enter (lower-half/stack_build.c) and of the
 * PATH/#! resolution in front of the loader (lower-half/exec_resolve.c): the stack is parsed
 * back as a program's startup code would, and sc_enter is run in a child process. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec_resolve.h"
#include "stack_build.h"

#define STACK_LEN (256UL << 10)

static char tmpdir[] = "/tmp/sc-test-stack-XXXXXX";

static char *const test_argv[] = {"prog", "a", "two words", NULL};
static char *const test_envp[] = {"X=1", "LONGER=value", NULL};
static const struct sc_elf_image test_exe = {.base = 0x10000,
					     .entry = 0x11234,
					     .phdr = 0x10040,
					     .phent = 56,
					     .phnum = 11,
					     .lo = 0x10000,
					     .hi = 0x20000,
					     .is_pie = 1};
static const struct sc_elf_image test_interp = {.base = 0x7000000, .entry = 0x7001000};

/* The kernel's value of an auxv type for this process (getauxval(AT_HWCAP) is glibc's). */
static uint64_t kernel_aux(uint64_t type)
{
	uint64_t v[2];
	FILE *f = fopen("/proc/self/auxv", "r");

	assert_non_null(f);
	while (fread(v, sizeof(v), 1, f) == 1 && v[0] != AT_NULL) {
		if (v[0] == type) {
			fclose(f);
			return v[1];
		}
	}
	fclose(f);
	return 0;
}

/* What the program sees: auxv value of a type, and how often the type occurs. */
static uint64_t aux(const uint64_t *av, uint64_t type, int *count)
{
	uint64_t v = 0;

	*count = 0;
	for (; av[0] != AT_NULL; av += 2) {
		if (av[0] == type) {
			v = av[1];
			(*count)++;
		}
	}
	return v;
}

static void test_layout(void **state)
{
	const uint64_t extra[] = {0x53434b50, 77, AT_FLAGS, 5, 0};
	struct sc_stack_spec spec = {.argv = test_argv,
				     .envp = test_envp,
				     .exe = &test_exe,
				     .interp = &test_interp,
				     .execfn = "/x/prog",
				     .sysinfo_ehdr = 0,
				     .extra_auxv = extra};
	char *buf = aligned_alloc(4096, STACK_LEN), err[256];
	uint64_t lo = (uint64_t)buf, top = lo + STACK_LEN, sp, *w, *av, v;
	char **argv, **envp, *s;
	const unsigned char *rnd;
	int n;

	(void)state;
	assert_non_null(buf);
	memset(buf, 0x77, STACK_LEN);
	sp = sc_stack_build(buf, STACK_LEN, &spec, err, sizeof(err));
	assert_true(sp != 0);
	assert_int_equal(sp % 16, 0);
	assert_true(sp > lo && sp < top);
	w = (uint64_t *)sp;
	assert_int_equal(w[0], 3);
	argv = (char **)&w[1];
	for (int i = 0; i < 3; i++)
		assert_string_equal(argv[i], test_argv[i]);
	assert_null(argv[3]);
	envp = &argv[4];
	assert_string_equal(envp[0], "X=1");
	assert_string_equal(envp[1], "LONGER=value");
	assert_null(envp[2]);
	/* strings back to back in order, as the kernel copies them */
	assert_ptr_equal(argv[1], argv[0] + 5);
	assert_ptr_equal(argv[2], argv[1] + 2);
	assert_ptr_equal(envp[0], argv[2] + 10);
	assert_ptr_equal(envp[1], envp[0] + 4);
	av = (uint64_t *)&envp[3];

	assert_int_equal(aux(av, AT_PHDR, &n), 0x10040);
	assert_int_equal(n, 1);
	assert_int_equal(aux(av, AT_PHENT, &n), 56);
	assert_int_equal(aux(av, AT_PHNUM, &n), 11);
	assert_int_equal(aux(av, AT_ENTRY, &n), 0x11234);
	assert_int_equal(aux(av, AT_BASE, &n), 0x7000000);
	assert_int_equal(n, 1);
	/* AT_EXECFN: the highest string, just under 8 zero bytes at the top */
	s = (char *)aux(av, AT_EXECFN, &n);
	assert_int_equal(n, 1);
	assert_string_equal(s, "/x/prog");
	assert_ptr_equal(s, (char *)(top & ~15UL) - 8 - 8);
	assert_ptr_equal(s, envp[1] + 13);
	assert_int_equal(*(uint64_t *)(s + 8), 0);
	/* AT_RANDOM: 16 bytes between the vectors and the strings */
	rnd = (const unsigned char *)aux(av, AT_RANDOM, &n);
	assert_int_equal(n, 1);
	assert_true((uint64_t)rnd > (uint64_t)av && (uint64_t)rnd + 16 <= (uint64_t)argv[0]);
	assert_true(memcmp(rnd, "\x77\x77\x77\x77\x77\x77\x77\x77", 8) != 0);
	s = (char *)aux(av, AT_PLATFORM, &n);
	if (getauxval(AT_PLATFORM)) {
		assert_string_equal(s, (char *)getauxval(AT_PLATFORM));
		assert_true((uint64_t)s > lo && (uint64_t)s < top); /* a copy on the new stack */
	}
	/* copied as they are */
	assert_int_equal(aux(av, AT_PAGESZ, &n), getauxval(AT_PAGESZ));
	assert_int_equal(aux(av, AT_HWCAP, &n), kernel_aux(AT_HWCAP));
	assert_int_equal(aux(av, AT_HWCAP2, &n), kernel_aux(AT_HWCAP2));
	assert_int_equal(aux(av, AT_MINSIGSTKSZ, &n), kernel_aux(AT_MINSIGSTKSZ));
	assert_int_equal(aux(av, AT_RSEQ_ALIGN, &n), kernel_aux(AT_RSEQ_ALIGN));
	assert_int_equal(aux(av, AT_UID, &n), getauxval(AT_UID));
	assert_int_equal(n, 1);
	assert_int_equal(aux(av, AT_CLKTCK, &n), getauxval(AT_CLKTCK));
	/* sysinfo_ehdr 0: no vdso entry; extras appended or replacing */
	aux(av, AT_SYSINFO_EHDR, &n);
	assert_int_equal(n, 0);
	assert_int_equal(aux(av, AT_FLAGS, &n), 5);
	assert_int_equal(n, 1);
	v = aux(av, 0x53434b50, &n);
	assert_int_equal(v, 77);
	assert_int_equal(n, 1);
	/* nothing written below the final stack pointer */
	for (uint64_t *p = (uint64_t *)lo; p < w; p++)
		assert_int_equal(*p, 0x7777777777777777UL);
	free(buf);
}

static void test_vdso_static_errors(void **state)
{
	struct sc_stack_spec spec = {.argv = test_argv,
				     .envp = NULL,
				     .exe = &test_exe,
				     .execfn = "prog",
				     .sysinfo_ehdr = 0x12345000};
	struct sc_elf_image nophdr = test_exe;
	char *buf = aligned_alloc(4096, STACK_LEN), err[256], **big;
	uint64_t sp, *av;
	char *const empty[] = {NULL};
	int n;

	(void)state;
	assert_non_null(buf);
	sp = sc_stack_build(buf, STACK_LEN, &spec, err, sizeof(err));
	assert_true(sp != 0);
	av = (uint64_t *)sp + 1 + 3 + 1 + 1; /* argc, argv, NULL, (no env) NULL */
	assert_int_equal(aux(av, AT_SYSINFO_EHDR, &n), 0x12345000);
	assert_int_equal(aux(av, AT_BASE, &n), 0); /* static: no interpreter */
	assert_int_equal(n, 1);

	/* more than a quarter of the stack in arguments: refused, like execve's E2BIG */
	big = calloc(2001, sizeof(*big));
	assert_non_null(big);
	for (int i = 0; i < 2000; i++)
		big[i] = "0123456789012345678901234567890123456789";
	spec.envp = big;
	assert_int_equal(sc_stack_build(buf, STACK_LEN, &spec, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "quarter"));
	free(big);
	spec.envp = NULL;
	spec.argv = empty;
	assert_int_equal(sc_stack_build(buf, STACK_LEN, &spec, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "argv[0]"));
	spec.argv = test_argv;
	nophdr.phdr = 0;
	spec.exe = &nophdr;
	assert_int_equal(sc_stack_build(buf, STACK_LEN, &spec, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "AT_PHDR"));
	free(buf);
}

/* Entered by sc_enter in a child: exits with argc when rsp is 16-aligned and rdx is 0 (the
 * process entry state), 99 otherwise. Raw syscalls: no registers or TLS assumptions. */
extern void entry_probe(void);
__asm__(".text\n"
	"entry_probe:\n"
	"	mov (%rsp), %rdi\n"
	"	test %rdx, %rdx\n"
	"	jnz 1f\n"
	"	test $15, %rsp\n"
	"	jnz 1f\n"
	"	or %rax, %rbx\n"
	"	or %rcx, %rbx\n"
	"	or %rbp, %rbx\n"
	"	or %r12, %rbx\n"
	"	jnz 1f\n"
	"	mov $60, %eax\n"
	"	syscall\n"
	"1:	mov $99, %edi\n"
	"	mov $60, %eax\n"
	"	syscall\n");

static void test_enter(void **state)
{
	struct sc_stack_spec spec = {
	    .argv = test_argv, .envp = test_envp, .exe = &test_exe, .execfn = "prog"};
	char err[256];
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *buf = aligned_alloc(4096, STACK_LEN);
		uint64_t sp = buf ? sc_stack_build(buf, STACK_LEN, &spec, err, sizeof(err)) : 0;

		if (!sp)
			_exit(98);
		sc_enter(sp, (uint64_t)entry_probe);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
}

static const char *script(const char *name, const char *text)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_resolve(void **state)
{
	struct sc_exec_plan plan;
	char err[512], a[256], b[256], path[300], *long_line;
	char *const args[] = {"s", "x", "y z", NULL};
	const char *old_path = getenv("PATH");

	(void)state;
	/* an ELF program: unchanged */
	assert_int_equal(sc_exec_resolve("/bin/true", args, &plan, err, sizeof(err)), 0);
	assert_string_equal(plan.path, "/bin/true");
	assert_string_equal(plan.execfn, "/bin/true");
	assert_ptr_equal(plan.argv[1], args[1]);
	assert_string_equal(plan.argv[0], "s");
	sc_exec_plan_free(&plan);

	/* a script found in PATH; the rest of the #! line is one argument */
	snprintf(a, sizeof(a), "%s", script("tool", "#!  /usr/bin/env  python3 -u  \nprint(1)\n"));
	snprintf(path, sizeof(path), "/nonexistent::%s:/bin", tmpdir);
	setenv("PATH", path, 1);
	assert_int_equal(sc_exec_resolve("tool", args, &plan, err, sizeof(err)), 0);
	assert_string_equal(plan.path, "/usr/bin/env");
	assert_string_equal(plan.execfn, a);
	assert_string_equal(plan.argv[0], "/usr/bin/env");
	assert_string_equal(plan.argv[1], "python3 -u");
	assert_string_equal(plan.argv[2], a);
	assert_string_equal(plan.argv[3], "x");
	assert_string_equal(plan.argv[4], "y z");
	assert_null(plan.argv[5]);
	sc_exec_plan_free(&plan);
	assert_int_equal(sc_exec_resolve("nosuchcmd", args, &plan, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "nosuchcmd: command not found in PATH"));
	if (old_path)
		setenv("PATH", old_path, 1);
	else
		unsetenv("PATH");

	/* a script run by a script */
	snprintf(b, sizeof(b), "%s", script("inner", "#!/bin/sh\n"));
	snprintf(path, sizeof(path), "#!%s\n", b);
	snprintf(a, sizeof(a), "%s", script("outer", path));
	assert_int_equal(sc_exec_resolve(a, args, &plan, err, sizeof(err)), 0);
	assert_string_equal(plan.path, "/bin/sh");
	assert_string_equal(plan.argv[0], "/bin/sh");
	assert_string_equal(plan.argv[1], b);
	assert_string_equal(plan.argv[2], a);
	assert_string_equal(plan.argv[3], "x");
	sc_exec_plan_free(&plan);

	/* a script that names itself: the kernel's depth limit */
	snprintf(path, sizeof(path), "#!%s/self\n", tmpdir);
	snprintf(a, sizeof(a), "%s", script("self", path));
	assert_int_equal(sc_exec_resolve(a, args, &plan, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "levels of #! interpreters"));
	assert_int_equal(sc_exec_resolve(script("empty", "#!  \n"), args, &plan, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "names no interpreter"));
	long_line = malloc(400);
	assert_non_null(long_line);
	memset(long_line, 'a', 399);
	memcpy(long_line, "#!/", 3);
	long_line[399] = 0;
	assert_int_equal(sc_exec_resolve(script("long", long_line), args, &plan, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "#! line longer than"));
	free(long_line);
	/* unreadable or missing: passed through for the ELF loader to report */
	assert_int_equal(sc_exec_resolve("/no/such/file", args, &plan, err, sizeof(err)), 0);
	assert_string_equal(plan.path, "/no/such/file");
	sc_exec_plan_free(&plan);
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
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test(test_vdso_static_errors),
	    cmocka_unit_test(test_enter),
	    cmocka_unit_test(test_resolve),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
