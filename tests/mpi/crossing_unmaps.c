/* Upper-half memory releases reach UCX (crossing-unmaps.sh, through splitckpt only): each rank
 * releases memory in every way the SIGSYS handler logs (free of an mmapped chunk, munmap,
 * mremap shrink and move, MAP_FIXED over a mapping, madvise DONTNEED/FREE, more releases than the
 * log holds, two threads at once) and checks, after its next MPI call, that the lower half's UCX
 * event handler (SPLITCKPT_DEBUG_UNMAPS=1, struct sc_unmap_dbg) received an event covering the
 * range since just before the release. Argument `noflush`: the program marks every release as
 * flushed itself, as an upper half without the flush would behave, and the checks must fail. */
#define _GNU_SOURCE
#include <malloc.h>
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "lh_abi.h"

#define MB (1UL << 20)

static struct sc_lh_info *info;
static volatile struct sc_unmap_dbg *dbg;
static int rank, size, noflush, failures, checks;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mark(void)
{
	return __atomic_load_n(&dbg->events, __ATOMIC_ACQUIRE);
}

/* Without the flush: what an upper half that never calls svc.unmaps_flush leaves behind. */
static void released(void)
{
	if (noflush)
		__atomic_store_n(&info->unmaps.flushed,
				 __atomic_load_n(&info->unmaps.seq, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
}

/* An event received since `since` covers [a, a + len). */
static void expect(const char *what, uint64_t since, const void *p, size_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)p, n = mark(), from = since;
	if (n - from > SC_UNMAP_DBG_SIZE)
		from = n - SC_UNMAP_DBG_SIZE;
	int ok = 0;
	for (uint64_t i = from; i < n && !ok; i++) {
		uint64_t e =
		    __atomic_load_n(&dbg->last[i % SC_UNMAP_DBG_SIZE].end, __ATOMIC_ACQUIRE);
		ok = dbg->last[i % SC_UNMAP_DBG_SIZE].start <= a && e >= a + len;
	}
	pthread_mutex_lock(&out_lock);
	checks++;
	if (!ok) {
		failures++;
		if (failures <= 5)
			fprintf(
			    stderr,
			    "rank %d: %s: [%#lx, +%#zx) not reported to UCX (%lu events since)\n",
			    rank, what, (unsigned long)a, len, (unsigned long)(n - since));
	}
	pthread_mutex_unlock(&out_lock);
}

static void *map(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	memset(p, rank + 1, len);
	return p;
}

/* An MPI call that uses the buffer, as a registration cache would see it. */
static void use(void *buf, int len)
{
	int right = (rank + 1) % size, left = (rank + size - 1) % size;
	MPI_Sendrecv_replace(buf, len, MPI_BYTE, right, 7, left, 7, MPI_COMM_WORLD,
			     MPI_STATUS_IGNORE);
}

static void single(void)
{
	uint64_t m;
	int dummy;
	/* free() of a chunk glibc mmapped, then the same size again: often the same address */
	char *p = malloc(4 * MB);
	memset(p, 1, 4 * MB);
	use(p, 4 * MB);
	uintptr_t freed = (uintptr_t)p;
	m = mark();
	free(p);
	released();
	char *q = malloc(4 * MB);
	memset(q, 2, 4 * MB);
	use(q, 4 * MB);
	expect("free", m, (void *)freed, 4 * MB);
	free(q);
	released();

	p = map(8 * MB);
	use(p, 8 * MB);
	m = mark();
	munmap(p, 8 * MB);
	released();
	MPI_Comm_rank(MPI_COMM_WORLD, &dummy);
	expect("munmap", m, p, 8 * MB);

	p = map(4 * MB);
	m = mark();
	if (mremap(p, 4 * MB, 1 * MB, 0) != p)
		perror("mremap shrink");
	released();
	MPI_Comm_rank(MPI_COMM_WORLD, &dummy);
	expect("mremap shrink", m, p + MB, 3 * MB);
	munmap(p, MB);

	p = map(MB);
	q = map(2 * MB);
	m = mark();
	if (mremap(p, MB, 2 * MB, MREMAP_MAYMOVE | MREMAP_FIXED, q) != q)
		perror("mremap move");
	released();
	MPI_Comm_rank(MPI_COMM_WORLD, &dummy);
	expect("mremap old range", m, p, MB);
	expect("mremap replaced target", m, q, 2 * MB);
	munmap(q, 2 * MB);

	p = map(2 * MB);
	m = mark();
	if (mmap(p + MB, MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		 0) != p + MB)
		perror("mmap MAP_FIXED");
	released();
	MPI_Comm_rank(MPI_COMM_WORLD, &dummy);
	expect("MAP_FIXED over a mapping", m, p + MB, MB);

	m = mark();
	madvise(p, 256 << 10, MADV_DONTNEED);
	madvise(p + (512 << 10), 256 << 10, MADV_FREE);
	released();
	MPI_Comm_rank(MPI_COMM_WORLD, &dummy);
	expect("madvise DONTNEED", m, p, 256 << 10);
	expect("madvise FREE", m, p + (512 << 10), 256 << 10);
	/* an advice that keeps the pages is neither trapped nor reported */
	m = mark();
	madvise(p, MB, MADV_WILLNEED);
	MPI_Comm_rank(MPI_COMM_WORLD, &dummy);
	if (!noflush && mark() != m) {
		fprintf(stderr, "rank %d: MADV_WILLNEED was reported\n", rank);
		failures++;
	}
	munmap(p, 2 * MB);

	/* more releases between two MPI calls than the log holds: the whole arena is reported */
	enum { N = 3 * SC_UNMAP_LOG_SIZE };
	static char *many[N];
	m = mark();
	for (int i = 0; i < N; i++) {
		many[i] = map(64 << 10);
		munmap(many[i], 64 << 10);
	}
	released();
	MPI_Comm_rank(MPI_COMM_WORLD, &dummy);
	for (int i = 0; i < N; i++)
		expect("log overflow", m, many[i], 64 << 10);
}

/* Two threads release and call MPI at once: whichever flushes, each range is reported before the
 * releasing thread's next MPI call returns. */
static void *racer(void *arg)
{
	(void)arg;
	int dummy;
	for (int i = 0; i < 300; i++) {
		char *p = map(128 << 10);
		uint64_t m = mark();
		munmap(p, 128 << 10);
		MPI_Comm_rank(MPI_COMM_WORLD, &dummy);
		expect("munmap in a thread", m, p, 128 << 10);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int provided;
	noflush = argc > 1 && !strcmp(argv[1], "noflush");
	/* Large allocations always mmapped, never served from a grown threshold. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	info = (struct sc_lh_info *)getauxval(AT_SPLITCKPT);
	/* A release and an MPI call: a lower half whose MPI loads UCX in MPI_Init (Open MPI's pml
	 * ucx) finds it, and installs the counter, at the first flush after MPI_Init. */
	munmap(map(4096), 4096);
	MPI_Barrier(MPI_COMM_WORLD);
	dbg = info ? (volatile struct sc_unmap_dbg *)(uintptr_t)info->unmaps.dbg : NULL;
	if (!dbg) {
		fprintf(stderr, "rank %d: %s\n", rank,
			info ? "no UCX event counter: run with SPLITCKPT_DEBUG_UNMAPS=1"
			     : "not running through splitckpt");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	single();
	if (!noflush && provided == MPI_THREAD_MULTIPLE) {
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, racer, NULL);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
	}
	int all = 0;
	MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
	printf("rank %d: %d of %d releases reported to UCX (%lu events, %lu bytes)\n", rank,
	       checks - failures, checks, (unsigned long)mark(), (unsigned long)dbg->bytes);
	MPI_Finalize();
	return all ? 1 : 0;
}
