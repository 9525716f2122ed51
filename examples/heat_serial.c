/* A serial 1-D heat diffusion that prints one line per step: the smallest program worth
 * checkpointing. Usage: heat_serial [STEPS [CELLS [MS_PER_STEP]]]. Its output is deterministic,
 * so a run that was checkpointed, killed and restarted must print exactly the same lines. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	long steps = argc > 1 ? atol(argv[1]) : 100;
	long cells = argc > 2 ? atol(argv[2]) : 1000000;
	long ms = argc > 3 ? atol(argv[3]) : 50;
	if (steps <= 0 || cells < 3 || ms < 0) {
		fprintf(stderr, "usage: heat_serial [STEPS [CELLS [MS_PER_STEP]]]\n");
		return 2;
	}
	double *t = calloc(cells, sizeof *t), *next = calloc(cells, sizeof *next);
	if (!t || !next)
		return 1;
	t[cells / 2] = 1e6; /* a hot spot in the middle */
	for (long s = 1; s <= steps; s++) {
		for (long i = 1; i < cells - 1; i++)
			next[i] = t[i] + 0.25 * (t[i - 1] - 2 * t[i] + t[i + 1]);
		double *swap = t;
		t = next;
		next = swap;
		double sum = 0, wsum = 0;
		for (long i = 0; i < cells; i++) {
			sum += t[i];
			wsum += t[i] * (double)(i % 97);
		}
		printf("step %ld heat %.6f moment %.6f\n", s, sum, wsum);
		fflush(stdout);
		struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
		nanosleep(&d, NULL);
	}
	free(t);
	free(next);
	return 0;
}
