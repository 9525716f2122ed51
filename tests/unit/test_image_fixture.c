/* The good image the image tests start from (test_image_fixture.h): the memory it is taken of,
 * the group setup writing it and the teardown removing it, and the helpers the tests share. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "upper-half/maps.h"
#include "test_image_fixture.h"

char dir[64];
char good[128];
struct good_memory m;

void fill_page(char *p, size_t idx, unsigned seed)
{
	for (size_t k = 0; k < PG; k++)
		p[k] = (char)((idx * 131 + k * 7 + seed) & 0xff);
}

void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	madvise(p, len, MADV_NOHUGEPAGE); /* a huge page would make all 512 pages present */
	return p;
}

void init_threads(struct sc_image_thread *t, size_t n)
{
	memset(t, 0, n * sizeof *t);
	for (size_t i = 0; i < n; i++) {
		t[i].tid = (uint32_t)(gettid() + (pid_t)i);
		t[i].fs_base = 0x7f0000001000ULL + i * 0x1000;
		t[i].ctx.rip = 0x401000 + i;
		t[i].ctx.rsp = 0x7ffc0000 + i * 0x100;
	}
	t[0].flags = SC_THREAD_CKPT;
}

static uint64_t cur_sp(void)
{
	uint64_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return sp;
}

static int find_cb(const struct sc_map_entry *e, void *arg)
{
	struct find_addr *f = arg;
	if (f->addr >= e->start && f->addr < e->end) {
		f->start = e->start;
		f->end = e->end;
		f->prot = e->prot;
		return 1;
	}
	return 0;
}

struct find_addr find_mapping(uint64_t addr)
{
	struct find_addr f = {.addr = addr};
	char buf[8192], err[256];
	assert_int_equal(
	    sc_maps_foreach("/proc/self/maps", buf, sizeof buf, find_cb, &f, err, sizeof err), 1);
	return f;
}

static int cmp_desc(const void *a, const void *b)
{
	const struct sc_region_desc *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

int group_setup(void **state)
{
	(void)state;
	char marker[sizeof marker_text];
	memcpy(marker, marker_text, sizeof marker);
	snprintf(dir, sizeof dir, "/tmp/test_image_XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(good, sizeof good, "%s/rank-00000.img", dir);

	m.anon = map_anon(64 * PG);
	for (size_t i = 0; i < sizeof touched / sizeof touched[0]; i++)
		fill_page(m.anon + touched[i] * PG, touched[i], 1);

	char fpath[128];
	snprintf(fpath, sizeof fpath, "%s/mapped file", dir);
	for (size_t i = 0; i < 3; i++)
		fill_page(m.filedata + i * PG, i, 2);
	int fd = open(fpath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, m.filedata, sizeof m.filedata) != (ssize_t)sizeof m.filedata)
		return -1;
	m.file = mmap(NULL, 3 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	m.none = mmap(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	m.prot_none = map_anon(4 * PG);
	fill_page(m.prot_none + PG, 1, 3);
	fill_page(m.prot_none + 2 * PG, 2, 3);
	mprotect(m.prot_none, 4 * PG, PROT_NONE);
	if (m.file == MAP_FAILED || m.none == MAP_FAILED)
		return -1;

	uint64_t sp = cur_sp();
	struct find_addr st = find_mapping(sp);
	m.stack_start = st.start;
	m.stack_end = st.end;
	m.marker_addr = (uint64_t)(uintptr_t)marker;

	struct sc_region_desc *r = m.regs;
	r[0] = (struct sc_region_desc){(uint64_t)m.anon,
				       (uint64_t)m.anon + 64 * PG,
				       PROT_READ | PROT_WRITE,
				       SC_REGION_ANON,
				       0,
				       ""};
	r[1] = (struct sc_region_desc){
	    (uint64_t)m.file, (uint64_t)m.file + 3 * PG, PROT_READ, SC_REGION_FILE, 0, fpath};
	r[2] = (struct sc_region_desc){(uint64_t)m.none,
				       (uint64_t)m.none + 16 * PG,
				       PROT_NONE,
				       SC_REGION_ANON | SC_REGION_NODATA,
				       0,
				       ""};
	r[3] = (struct sc_region_desc){
	    (uint64_t)m.prot_none, (uint64_t)m.prot_none + 4 * PG, PROT_NONE, SC_REGION_ANON, 0,
	    "[anon:prot_none]"};
	r[4] = (struct sc_region_desc){
	    st.start, st.end,	PROT_READ | PROT_WRITE, SC_REGION_ANON | SC_REGION_STACK,
	    0,	      "[stack]"};
	m.nregs = 5;
	qsort(m.regs, m.nregs, sizeof m.regs[0], cmp_desc);

	struct sc_image_thread t[2];
	init_threads(t, 2);
	struct sc_image_info info = {.generation = 7,
				     .rank = 3,
				     .nranks = 4,
				     .program = "/usr/bin/test program",
				     .hostname = "node-17",
				     .cmdline = "test program --flag",
				     .vdso_start = 0x7fff1000,
				     .vdso_end = 0x7fff5000};
	char err[512] = "";
	int rc =
	    sc_image_write(good, &info, m.regs, m.nregs, t, 2, cur_sp(), &m.stats, err, sizeof err);
	if (rc)
		fprintf(stderr, "sc_image_write: %s\n", err);
	/* keep the marker alive (and on the stack) until the image is written */
	__asm__ volatile("" : : "r"(marker) : "memory");
	return rc;
}

int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

size_t region_index(const struct sc_image *img, uint64_t start)
{
	for (size_t i = 0; i < img->hdr.n_regions; i++)
		if (img->regions[i].start == start)
			return i;
	fail_msg("no region at 0x%llx", (unsigned long long)start);
	return 0;
}
