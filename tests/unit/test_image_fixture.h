/* The good image that the image tests (test_image_write.c, test_image_read.c) start from: an
 * image of real memory of this process (touched and untouched anonymous pages, a file mapping, a
 * NODATA reservation, a PROT_NONE region holding data, the live stack) written by the cmocka
 * group setup, and the helpers the tests share. */
#ifndef SPLITCKPT_TEST_IMAGE_FIXTURE_H
#define SPLITCKPT_TEST_IMAGE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "upper-half/image.h"

#define PG 4096UL

extern char dir[64];   /* the group's temporary directory */
extern char good[128]; /* the good image, in dir */
static const char marker_text[] = "splitckpt stack marker 0123456789";

/* memory the good image was taken of */
struct good_memory {
	char *anon;	 /* 64 pages, 7 touched */
	char *file;	 /* 3 pages, private file mapping, never touched */
	char *none;	 /* 16 pages PROT_NONE (NODATA) */
	char *prot_none; /* 4 pages, pages 1-2 written, then PROT_NONE */
	uint64_t stack_start, stack_end, marker_addr;
	char filedata[3 * PG];
	struct sc_region_desc regs[5];
	size_t nregs;
	struct sc_image_stats stats;
};
extern struct good_memory m;

static const size_t touched[] = {0, 1, 2, 10, 20, 21, 63};

void fill_page(char *p, size_t idx, unsigned seed);
void *map_anon(size_t len);
void init_threads(struct sc_image_thread *t, size_t n);

struct find_addr {
	uint64_t addr, start, end;
	uint32_t prot;
};

/* The mapping of /proc/self/maps holding addr. */
struct find_addr find_mapping(uint64_t addr);
/* The index of img's region starting at start (fails the test if there is none). */
size_t region_index(const struct sc_image *img, uint64_t start);

/* cmocka group setup and teardown: write the good image in a fresh dir, remove dir. */
int group_setup(void **state);
int group_teardown(void **state);

#endif
