/* E2E test program "omp": each step runs OpenMP parallel loops (static and dynamic schedule)
 * over a 2 MiB heap array with +, ^ and max reductions and a critical section, and keeps a
 * threadprivate counter per libgomp thread. Only integer, order-independent reductions are
 * used, so the output is deterministic for any thread count (the tests set OMP_NUM_THREADS=4).
 * usage: omp STEPS DELAY_MS; prints "step N <hash>" per step, then "checksum H". */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "progargs.h"

#define N (1L << 18) /* 256 Ki words = 2 MiB */

static uint64_t t_iters; /* iterations this libgomp thread ran, over the whole run */
#pragma omp threadprivate(t_iters)

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 27);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: omp STEPS DELAY_MS\n");
		return 2;
	}
	int steps = (int)parse_arg("omp", argv[1], 1, MAX_STEPS, "STEPS");
	int delay = (int)parse_arg("omp", argv[2], 0, MAX_DELAY_MS, "DELAY_MS");

	omp_set_dynamic(0); /* keep the team size, so threadprivate values persist */
	uint64_t *a = malloc(N * sizeof *a);
	if (!a) {
		fprintf(stderr, "omp: out of memory\n");
		return 3;
	}
#pragma omp parallel for schedule(static)
	for (long i = 0; i < N; i++)
		a[i] = mix((uint64_t)i, 0xa5a5);

	uint64_t total = 0, crit = 0;
	for (int s = 1; s <= steps; s++) {
		uint64_t us = (uint64_t)s, sum = 0, x = 0, mx = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum) reduction(^ : x)
		for (long i = 0; i < N; i++) {
			a[i] = mix(a[i], us + (uint64_t)i);
			sum += a[i] >> 4;
			x ^= a[i] * ((uint64_t)i | 1);
			t_iters++;
		}
#pragma omp parallel for schedule(dynamic, 4096) reduction(max : mx)
		for (long i = 0; i < N; i += 7) {
			uint64_t v = mix(a[i], us);
			if (v > mx)
				mx = v;
			t_iters++;
		}
		uint64_t iters = 0;
#pragma omp parallel reduction(+ : iters)
		{
			iters += t_iters;
#pragma omp critical
			crit += (uint64_t)omp_get_thread_num() == 0 ? us : 0;
		}
		uint64_t expect = us * ((uint64_t)N + ((uint64_t)N + 6) / 7);
		if (iters != expect) {
			fprintf(stderr,
				"omp: threadprivate counters sum to %" PRIu64 ", expected %" PRIu64
				" (thread-local state lost?)\n",
				iters, expect);
			return 3;
		}
		uint64_t h = mix(total, us);
		h = mix(h, sum);
		h = mix(h, x);
		h = mix(h, mx);
		h = mix(h, iters);
		h = mix(h, crit);
		total = h;
		printf("step %d %016" PRIx64 "\n", s, h);
		fflush(stdout);
		sleep_ms(delay);
	}
	for (long i = 0; i < N; i += 4096)
		total = mix(total, a[i]);
	printf("checksum %016" PRIx64 "\n", total);
	fflush(stdout);
	free(a);
	return 0;
}
