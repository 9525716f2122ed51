/* Benchmark workload: fills MIB mebibytes of heap with incompressible (pseudo-random) data,
 * prints "ready", then a "tick N" line every 20 ms forever, so a benchmark can see when a
 * restarted copy runs again. With --raw FILE it instead times writing the same amount of
 * memory to FILE with fdatasync (the baseline), then reading it back after dropping it from
 * the page cache, and prints "raw_write_s X raw_read_s Y". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(uint64_t *p, size_t n)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
}

static int raw(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	double t0 = now();
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off > (1u << 30) ? (1u << 30) : len - off);
		if (w <= 0) {
			perror("write");
			return 1;
		}
		off += (size_t)w;
	}
	fdatasync(fd);
	double tw = now() - t0;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	char *dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = open(path, O_RDONLY);
	t0 = now();
	for (size_t off = 0; off < len;) {
		ssize_t r = read(fd, dst + off, len - off > (1u << 30) ? (1u << 30) : len - off);
		if (r <= 0) {
			perror("read");
			return 1;
		}
		off += (size_t)r;
	}
	double tr = now() - t0;
	close(fd);
	unlink(path);
	printf("raw_write_s %.4f raw_read_s %.4f\n", tw, tr);
	return 0;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	size_t len = mib << 20;
	char *buf = malloc(len);
	if (!buf)
		return 1;
	fill((uint64_t *)buf, len / 8);
	if (argc > 3 && !strcmp(argv[2], "--raw"))
		return raw(argv[3], buf, len);
	printf("ready\n");
	fflush(stdout);
	for (unsigned long t = 0;; t++) {
		printf("tick %lu %02x\n", t, (unsigned char)buf[(t * 4096) % len]);
		fflush(stdout);
		usleep(20000);
	}
}
