/* E2E test program "state": keeps its state in every kind of memory a checkpoint must restore
 * (static .data/.bss, heap incl. a > 1 MiB block and a malloc'd list, an anonymous mmap with a
 * read-only page, live stack frames, TLS) plus an output file it appends to and re-reads by a
 * relative path (cwd), a SIGUSR1 handler it raises itself, an ITIMER_REAL pacing the steps, and
 * an sbrk each step whose memory, if it succeeds, must be writable.
 * usage: state STEPS DELAY_MS OUTFILE; prints "step N <hash of all state>", then "checksum H". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "progargs.h"

#define BSS_WORDS 4096			 /* 32 KiB of .bss */
#define BIG_WORDS (3 * 1024 * 1024 / 16) /* 1.5 MiB heap block (glibc mmaps it) */
#define SMALL_WORDS 1000		 /* small heap array (from the brk/arena heap) */
#define MAP_PAGES 64			 /* anonymous mmap; its last page is read-only */
#define PAGE_WORDS 512
#define STACK_WORDS 8192 /* 64 KiB array on main's stack, carried across steps */
#define FRAME_WORDS 16	 /* per recursion frame, live while the step waits */

static uint64_t g_bss[BSS_WORDS];
static uint64_t g_data[8] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL, 3, 5, 7, 11, 13, 17};
static __thread uint64_t t_acc = 0x6a09e667f3bcc908ULL; /* .tdata */
static __thread uint32_t t_frames;			/* .tbss */
static volatile sig_atomic_t g_usr1;
static volatile sig_atomic_t g_ticks;

struct node {
	struct node *next;
	uint64_t v;
	char pad[40];
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 27);
}

static uint64_t mix_words(uint64_t h, const uint64_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = mix(h, w[i]);
	return h;
}

static void die(const char *what)
{
	fprintf(stderr, "state: %s: %s\n", what, strerror(errno));
	exit(3);
}

static void on_usr1(int sig)
{
	(void)sig;
	g_usr1++;
}

static void on_alrm(int sig)
{
	(void)sig;
	g_ticks++;
}

/* The step's pause: waits for the next ITIMER_REAL tick (SIGALRM is blocked outside). */
static void wait_tick(const sigset_t *waitmask)
{
	struct itimerval it;
	if (getitimer(ITIMER_REAL, &it) != 0)
		die("getitimer");
	if (it.it_interval.tv_sec == 0 && it.it_interval.tv_usec == 0) {
		fprintf(stderr, "state: ITIMER_REAL is not armed any more (timer lost?)\n");
		exit(4);
	}
	sig_atomic_t seen = g_ticks;
	while (g_ticks == seen)
		sigsuspend(waitmask);
}

/* Recurses `depth` frames, each holding data derived from seed, and waits for the timer at the
 * bottom, so that a checkpoint taken during the pause sees live frames whose contents are
 * still needed on the way back up. */
static uint64_t descend(int depth, uint64_t seed, const sigset_t *waitmask, int delay)
{
	volatile uint64_t frame[FRAME_WORDS];
	for (int i = 0; i < FRAME_WORDS; i++)
		frame[i] = mix(seed, (uint64_t)(depth * FRAME_WORDS + i));
	t_frames++;
	uint64_t below = 0;
	if (depth > 0)
		below = descend(depth - 1, frame[depth % FRAME_WORDS], waitmask, delay);
	else if (delay > 0)
		wait_tick(waitmask);
	uint64_t h = below;
	for (int i = 0; i < FRAME_WORDS; i++)
		h = mix(h, frame[i]);
	return h;
}

/* Hashes the output file as re-read through its (relative) path: needs the restored cwd and a
 * file truncated back to its size at the checkpoint. */
static uint64_t hash_file(const char *path, long expect_size)
{
	char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	uint64_t h = 0;
	long total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read output file");
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			h = mix(h, (unsigned char)buf[i]);
		total += n;
	}
	close(fd);
	if (total != expect_size) {
		fprintf(stderr, "state: %s has %ld bytes, the program wrote %ld\n", path, total,
			expect_size);
		exit(3);
	}
	return mix(h, (uint64_t)total);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: state STEPS DELAY_MS OUTFILE\n");
		return 2;
	}
	int steps = (int)parse_arg("state", argv[1], 1, MAX_STEPS, "STEPS");
	int delay = (int)parse_arg("state", argv[2], 0, MAX_DELAY_MS, "DELAY_MS");
	const char *outpath = argv[3];

	uint64_t stackbuf[STACK_WORDS];
	for (int i = 0; i < STACK_WORDS; i++)
		stackbuf[i] = mix(0x5157, (uint64_t)i);

	uint64_t *big = malloc(BIG_WORDS * sizeof *big);
	uint64_t *small = calloc(SMALL_WORDS, sizeof *small);
	if (!big || !small)
		die("malloc");
	for (size_t i = 0; i < BIG_WORDS; i++)
		big[i] = i * 0x9e3779b97f4a7c15ULL;
	struct node *list = NULL;

	size_t maplen = MAP_PAGES * PAGE_WORDS * sizeof(uint64_t);
	uint64_t *map =
	    mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		die("mmap");
	uint64_t *ro = map + (MAP_PAGES - 1) * PAGE_WORDS;
	for (int i = 0; i < PAGE_WORDS; i++)
		ro[i] = mix(0x0f0f, (uint64_t)i);
	if (mprotect(ro, PAGE_WORDS * sizeof(uint64_t), PROT_READ) != 0)
		die("mprotect");

	FILE *out = fopen(outpath, "w");
	if (!out)
		die(outpath);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_usr1;
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		die("sigaction SIGUSR1");
	sa.sa_handler = on_alrm;
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		die("sigaction SIGALRM");
	sigset_t alrm, waitmask;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	if (sigprocmask(SIG_BLOCK, &alrm, &waitmask) != 0)
		die("sigprocmask");
	sigdelset(&waitmask, SIGALRM);
	if (delay > 0) {
		struct itimerval it = {{delay / 1000, (delay % 1000) * 1000},
				       {delay / 1000, (delay % 1000) * 1000}};
		if (setitimer(ITIMER_REAL, &it, NULL) != 0)
			die("setitimer");
	}

	uint64_t total = 0;
	for (int s = 1; s <= steps; s++) {
		uint64_t us = (uint64_t)s;
		for (int i = 0; i < 64; i++)
			g_bss[(us * 37 + (uint64_t)i * 61) % BSS_WORDS] += us * (uint64_t)(i + 1);
		g_data[s % 8] = mix(g_data[s % 8], us);
		for (uint64_t i = 0; i < 4096; i++) {
			size_t k = (size_t)((us * 4096 + i * 97) % BIG_WORDS);
			big[k] = mix(big[k], us + i);
		}
		small[(us * 7) % SMALL_WORDS] += us;
		for (int p = 0; p < MAP_PAGES - 1; p++)
			map[p * PAGE_WORDS + s % PAGE_WORDS] += us * (uint64_t)(p + 1);
		stackbuf[(us * 13) % STACK_WORDS] ^= mix(us, 0x57ac);
		t_acc = mix(t_acc, us);

		struct node *n = malloc(sizeof *n);
		if (!n)
			die("malloc");
		n->v = mix(us, 0x11);
		n->next = list;
		list = n;
		if (s % 5 == 0) { /* drop the two oldest nodes: heap churn */
			for (int d = 0; d < 2 && list && list->next; d++) {
				struct node **pp = &list;
				while ((*pp)->next)
					pp = &(*pp)->next;
				free(*pp);
				*pp = NULL;
			}
		}
		if (s % 7 == 3)
			raise(SIGUSR1);
		/* The break: natively it grows; under splitckpt the upper half's brk fails. Memory
		 * sbrk hands out must be usable: a restored libc whose cached break is the old
		 * process's once got "success" from the trap and wrote to unmapped memory. */
		char *grown = sbrk(4096);
		if (grown != (char *)-1)
			memset(grown, s & 0xff, 4096);

		uint64_t rec = descend(8 + s % 24, mix(total, us), &waitmask, delay);

		if (fprintf(out,
			    "rec %d bss=%016" PRIx64 " big=%016" PRIx64 " rec=%016" PRIx64 "\n", s,
			    g_bss[(us * 37) % BSS_WORDS], big[(us * 4096) % BIG_WORDS], rec) < 0 ||
		    fflush(out) != 0)
			die("write output file");

		sigset_t cur;
		sigprocmask(SIG_BLOCK, NULL, &cur);
		struct itimerval it;
		getitimer(ITIMER_REAL, &it);
		int timer_ok = delay == 0 || (it.it_interval.tv_sec == delay / 1000 &&
					      it.it_interval.tv_usec == (delay % 1000) * 1000);

		uint64_t h = mix(total, us);
		h = mix_words(h, g_bss, BSS_WORDS);
		h = mix_words(h, g_data, 8);
		h = mix_words(h, big, BIG_WORDS);
		h = mix_words(h, small, SMALL_WORDS);
		h = mix_words(h, map, MAP_PAGES * PAGE_WORDS);
		h = mix_words(h, stackbuf, STACK_WORDS);
		for (struct node *q = list; q; q = q->next)
			h = mix(h, q->v);
		h = mix(h, t_acc);
		h = mix(h, t_frames);
		h = mix(h, (uint64_t)g_usr1);
		h = mix(h, rec);
		h = mix(h, (uint64_t)sigismember(&cur, SIGALRM));
		h = mix(h, (uint64_t)timer_ok);
		h = mix(h, hash_file(outpath, ftell(out)));
		total = h;
		printf("step %d %016" PRIx64 "\n", s, h);
		fflush(stdout);
	}

	printf("checksum %016" PRIx64 "\n", mix(total, (uint64_t)g_usr1));
	fflush(stdout);
	while (list) {
		struct node *n = list->next;
		free(list);
		list = n;
	}
	free(big);
	free(small);
	munmap(map, maplen);
	return fclose(out) == 0 ? 0 : 3;
}
