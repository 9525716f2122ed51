/* E2E test program "threads": 4 persistent worker pthreads hand off each step with the main
 * thread through a mutex and two condition variables (a barrier-like round), keep state in
 * __thread variables and on their own stacks, and contend on a mutex-protected counter. The
 * main thread combines the workers' results in worker order, so output is deterministic.
 * usage: threads STEPS DELAY_MS; prints "step N <hash>" per step, then "checksum H". */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "progargs.h"

#define NWORKERS 4
#define LOCAL_WORDS 2048 /* 16 KiB on each worker's stack, carried across steps */
#define HIST 32

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_start = PTHREAD_COND_INITIALIZER;
static pthread_cond_t g_done = PTHREAD_COND_INITIALIZER;
static int g_round; /* step the workers should compute; guarded by g_mu */
static int g_quit;
static int g_ndone;
static uint64_t g_result[NWORKERS];
static uint64_t g_final[NWORKERS];
static uint64_t g_shared; /* commutative sum updated under g_mu by every worker */

static __thread int t_id = -1;
static __thread uint64_t t_acc = 0xbb67ae8584caa73bULL;
static __thread uint64_t t_hist[HIST];

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 27);
}

static void check(int err, const char *what)
{
	if (err) {
		fprintf(stderr, "threads: %s: %s\n", what, strerror(err));
		exit(3);
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *worker(void *arg)
{
	t_id = (int)(intptr_t)arg;
	uint64_t local[LOCAL_WORDS];
	for (int i = 0; i < LOCAL_WORDS; i++)
		local[i] = mix((uint64_t)t_id, (uint64_t)i);
	int seen = 0;
	for (;;) {
		check(pthread_mutex_lock(&g_mu), "lock");
		while (g_round == seen && !g_quit)
			check(pthread_cond_wait(&g_start, &g_mu), "cond_wait");
		int quit = g_quit;
		seen = g_round;
		check(pthread_mutex_unlock(&g_mu), "unlock");
		if (quit)
			break;

		uint64_t s = (uint64_t)seen;
		for (int i = 0; i < LOCAL_WORDS; i++)
			local[(s * 31 + (uint64_t)i) % LOCAL_WORDS] =
			    mix(local[i], s + (uint64_t)t_id);
		t_acc = mix(t_acc, s * NWORKERS + (uint64_t)t_id);
		t_hist[s % HIST] = t_acc;
		for (int j = 0; j < 50; j++) {
			check(pthread_mutex_lock(&g_mu), "lock");
			g_shared += s * (uint64_t)(t_id + 1) + (uint64_t)j;
			check(pthread_mutex_unlock(&g_mu), "unlock");
		}
		uint64_t h = mix(t_acc, (uint64_t)t_id);
		for (int i = 0; i < LOCAL_WORDS; i++)
			h = mix(h, local[i]);
		for (int i = 0; i < HIST; i++)
			h = mix(h, t_hist[i]);

		check(pthread_mutex_lock(&g_mu), "lock");
		g_result[t_id] = h;
		if (++g_ndone == NWORKERS)
			check(pthread_cond_signal(&g_done), "cond_signal");
		check(pthread_mutex_unlock(&g_mu), "unlock");
	}
	g_final[t_id] = mix(t_acc, t_hist[0]);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: threads STEPS DELAY_MS\n");
		return 2;
	}
	int steps = (int)parse_arg("threads", argv[1], 1, MAX_STEPS, "STEPS");
	int delay = (int)parse_arg("threads", argv[2], 0, MAX_DELAY_MS, "DELAY_MS");

	pthread_t tid[NWORKERS];
	for (int w = 0; w < NWORKERS; w++)
		check(pthread_create(&tid[w], NULL, worker, (void *)(intptr_t)w), "pthread_create");

	uint64_t total = 0;
	for (int s = 1; s <= steps; s++) {
		check(pthread_mutex_lock(&g_mu), "lock");
		g_ndone = 0;
		g_round = s;
		check(pthread_cond_broadcast(&g_start), "cond_broadcast");
		while (g_ndone < NWORKERS)
			check(pthread_cond_wait(&g_done, &g_mu), "cond_wait");
		uint64_t h = mix(total, (uint64_t)s);
		for (int w = 0; w < NWORKERS; w++)
			h = mix(h, g_result[w]);
		h = mix(h, g_shared);
		check(pthread_mutex_unlock(&g_mu), "unlock");
		total = h;
		printf("step %d %016" PRIx64 "\n", s, h);
		fflush(stdout);
		sleep_ms(delay);
	}

	check(pthread_mutex_lock(&g_mu), "lock");
	g_quit = 1;
	check(pthread_cond_broadcast(&g_start), "cond_broadcast");
	check(pthread_mutex_unlock(&g_mu), "unlock");
	for (int w = 0; w < NWORKERS; w++) {
		check(pthread_join(tid[w], NULL), "pthread_join");
		total = mix(total, g_final[w]);
	}
	printf("checksum %016" PRIx64 "\n", total);
	fflush(stdout);
	return 0;
}
