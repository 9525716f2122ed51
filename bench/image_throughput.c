/* Checkpoint image throughput: how long sc_image_write takes for 1 GiB of incompressible
 * memory and sc_image_read_region to bring it back from disk, each compared with a raw
 * write + fdatasync of the same 1 GiB to the same directory measured in the same run.
 * Usage: image_throughput [DIR] [--mib N] [--repeat N]   (see bench/README.md) */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "upper-half/image.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "image_throughput: %s: %s\n", what, detail);
	exit(1);
}

static char *map_mem(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap", strerror(errno));
	return p;
}

/* splitmix64: fast, and its output does not compress */
static void fill_random(char *p, size_t len)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)time(NULL), *q = (uint64_t *)p;
	for (size_t i = 0; i < len / 8; i++) {
		uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		q[i] = z ^ (z >> 31);
	}
}

/* Makes the next step start from a quiet disk: earlier files' writeback and discards done. */
static void settle(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
	usleep(200 * 1000);
}

/* The baseline: what any program does to save len bytes durably. */
static double raw_write(const char *path, const char *mem, size_t len)
{
	double t0 = now();
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(path, strerror(errno));
	const size_t chunk = 8UL << 20;
	for (size_t off = 0; off < len;) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t w = write(fd, mem + off, n);
		if (w <= 0)
			die(path, w < 0 ? strerror(errno) : "short write");
		off += (size_t)w;
	}
	if (fdatasync(fd))
		die(path, strerror(errno));
	close(fd);
	return now() - t0;
}

static double checkpoint(const char *path, char *mem, size_t len)
{
	struct sc_region_desc d = {(uint64_t)(uintptr_t)mem,
				   (uint64_t)(uintptr_t)mem + len,
				   PROT_READ | PROT_WRITE,
				   SC_REGION_ANON,
				   0,
				   "bench"};
	struct sc_image_thread th = {.tid = (uint32_t)gettid(), .flags = SC_THREAD_CKPT};
	th.ctx.rip = 1;
	th.ctx.rsp = 1;
	struct sc_image_info info = {.program = "image_throughput", .nranks = 1};
	struct sc_image_stats st;
	char err[1024];
	double t0 = now();
	if (sc_image_write(path, &info, &d, 1, &th, 1, 0, &st, err, sizeof err))
		die("sc_image_write", err);
	double t = now() - t0;
	if (st.data_bytes != len)
		die("sc_image_write", "did not save every page");
	return t;
}

/* Evicts the image from the page cache so that the restore reads the disk. */
static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path, strerror(errno));
	fdatasync(fd); /* DONTNEED skips dirty pages */
	if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		die(path, "posix_fadvise(DONTNEED) failed");
	close(fd);
}

static double restore(const char *path, const char *orig, size_t len, int check)
{
	char *dst = map_mem(len);
	struct sc_image img;
	char err[1024];
	double t0 = now();
	if (sc_image_open(path, &img, err, sizeof err))
		die("sc_image_open", err);
	if (sc_image_read_region(&img, 0, dst, err, sizeof err))
		die("sc_image_read_region", err);
	sc_image_close(&img);
	double t = now() - t0;
	if (check && memcmp(dst, orig, len))
		die("restore", "restored memory differs from the original");
	munmap(dst, len);
	return t;
}

/* Reference only: the same bytes read back with plain 8 MiB preads into a fresh mapping. */
static double raw_read(const char *path, size_t len)
{
	char *dst = map_mem(len);
	double t0 = now();
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die(path, strerror(errno));
	const size_t chunk = 8UL << 20;
	for (size_t off = 0; off < len;) {
		size_t n = len - off < chunk ? len - off : chunk;
		ssize_t r = pread(fd, dst + off, n, (off_t)(off + SC_PAGE_SIZE));
		if (r <= 0)
			die(path, r < 0 ? strerror(errno) : "short read");
		off += (size_t)r;
	}
	close(fd);
	double t = now() - t0;
	munmap(dst, len);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	const char *dir = ".";
	unsigned long mib = 1024, repeat = 3;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--help") || argv[i][0] == '-') {
			printf("usage: image_throughput [DIR] [--mib N] [--repeat N]\n");
			return argv[i][1] == '-' && argv[i][2] == 'h' ? 0 : 64;
		} else
			dir = argv[i];
	}
	if (mib == 0 || repeat == 0 || repeat > 100)
		die("arguments", "--mib and --repeat must be positive (repeat <= 100)");
	size_t len = mib << 20;
	char raw_path[4096], img_path[4096];
	snprintf(raw_path, sizeof raw_path, "%s/image_throughput.raw", dir);
	snprintf(img_path, sizeof img_path, "%s/image_throughput.img", dir);

	char *mem = map_mem(len);
	fill_random(mem, len);
	double traw[100], tckpt[100], trest[100], tread[100];
	printf("image_throughput: %lu MiB in %s, %lu rounds (median reported)\n", mib, dir, repeat);
	for (unsigned long r = 0; r < repeat; r++) {
		unlink(raw_path);
		unlink(img_path);
		settle(dir);
		traw[r] = raw_write(raw_path, mem, len);
		unlink(raw_path);
		settle(dir);
		tckpt[r] = checkpoint(img_path, mem, len);
		drop_cache(img_path);
		settle(dir);
		trest[r] = restore(img_path, mem, len, r == 0);
		drop_cache(img_path);
		settle(dir);
		tread[r] = raw_read(img_path, len);
		printf("  round %lu: raw write %.3f s, checkpoint %.3f s, restore %.3f s (raw read "
		       "%.3f s)\n",
		       r + 1, traw[r], tckpt[r], trest[r], tread[r]);
		fflush(stdout);
	}
	unlink(img_path);
	double gb = (double)len / 1e9;
	double mr = median(traw, (int)repeat), mc = median(tckpt, (int)repeat),
	       ms = median(trest, (int)repeat);
	printf("raw write+fdatasync: %.3f s  %.2f GB/s\n", mr, gb / mr);
	printf("checkpoint:          %.3f s  %.2f GB/s  ratio %.2f (goal <= 1.25)\n", mc, gb / mc,
	       mc / mr);
	printf("restore:             %.3f s  %.2f GB/s  ratio %.2f (goal <= 1.50)\n", ms, gb / ms,
	       ms / mr);
	double md = median(tread, (int)repeat);
	printf("(reference: raw read of the image %.3f s  %.2f GB/s; restore/raw read %.2f)\n", md,
	       gb / md, ms / md);
	return 0;
}
