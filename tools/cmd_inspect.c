/* `splitckpt inspect`: shows what a checkpoint image, a generation directory or a checkpoint
 * directory (its newest committed generation) holds, and verifies every checksum. Text or one
 * JSON object. Exit status: 0 valid, 1 invalid or unreadable (a message names the file and
 * the problem), 64 bad usage. */
#define _GNU_SOURCE
#include "config.h"

#include "../coordinator/manifest.h"
#include "../coordinator/textbuf.h"
#include "../upper-half/image.h"
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#define SUB "inspect"
#define MAX_RANKS 1000000 /* rank-NNNNN: 5 digits, more than that is not ours */

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: splitckpt inspect PATH [--json] [--no-verify]\n"
	       "\n"
	       "Shows and verifies checkpoint images. PATH is one image (rank-NNNNN.img), a\n"
	       "generation directory (gen-NNNNNN) or a checkpoint directory (its newest committed\n"
	       "generation, from MANIFEST).\n"
	       "\n"
	       "  --json        print exactly one JSON object on stdout, errors included\n"
	       "  --no-verify   check the structure only, do not read the page data\n"
	       "  -h, --help    show this help\n"
	       "\n"
	       "Exit status: 0 all images valid, 1 an image is invalid or unreadable, 64 usage.\n");
}

struct opts {
	int json, verify;
};

/* --- finding the images -------------------------------------------------------------------- */

struct imglist {
	char **paths;
	size_t n;
	uint64_t gen;	  /* generation from the directory name, 0 if unknown */
	uint32_t nranks;  /* from MANIFEST, 0 if unknown */
	size_t missing;	  /* generation: the first rank without an image (n if none) */
	const char *kind; /* "image", "generation", "checkpoint directory" */
};

/* Parses "<prefix><digits><suffix>" exactly; returns the number or -1. */
static long long name_number(const char *name, const char *prefix, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix), nl = strlen(name);
	if (nl <= pl + sl || strncmp(name, prefix, pl) || strcmp(name + nl - sl, suffix))
		return -1;
	long long v = 0;
	for (size_t i = pl; i < nl - sl; i++) {
		if (name[i] < '0' || name[i] > '9' || v > 1000000000000LL)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return v;
}

static int add_path(struct imglist *l, const char *dir, const char *name)
{
	char **p = realloc(l->paths, (l->n + 1) * sizeof *p);
	if (!p)
		return -1;
	l->paths = p;
	if (asprintf(&l->paths[l->n], "%s/%s", dir, name) < 0)
		return -1;
	l->n++;
	return 0;
}

static int cmp_rank(const void *a, const void *b)
{
	const char *x = strrchr(*(char *const *)a, '/') + 1,
		   *y = strrchr(*(char *const *)b, '/') + 1;
	long long rx = name_number(x, "rank-", ".img"), ry = name_number(y, "rank-", ".img");
	return rx < ry ? -1 : rx > ry;
}

/* The rank-NNNNN.img files of a generation directory, by rank. */
static int list_generation(const char *dir, struct imglist *l, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		long long r = name_number(de->d_name, "rank-", ".img");
		if (r < 0 || r >= MAX_RANKS)
			continue;
		if (add_path(l, dir, de->d_name)) {
			closedir(d);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	closedir(d);
	if (l->n == 0) {
		snprintf(err, errlen, "%s holds no rank-NNNNN.img file", dir);
		return -1;
	}
	qsort(l->paths, l->n, sizeof *l->paths, cmp_rank);
	l->missing = 0; /* the first rank without an image */
	while (l->missing < l->n && name_number(strrchr(l->paths[l->missing], '/') + 1, "rank-",
						".img") == (long long)l->missing)
		l->missing++;
	const char *base = strrchr(dir, '/');
	long long g = name_number(base ? base + 1 : dir, "gen-", "");
	l->gen = g > 0 ? (uint64_t)g : 0;
	return 0;
}

/* The highest-numbered gen-NNNNNN directory (used when there is no MANIFEST). */
static long long highest_gen_dir(const char *dir)
{
	DIR *d = opendir(dir);
	long long best = -1;
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		long long g = name_number(de->d_name, "gen-", "");
		if (g > best)
			best = g;
	}
	closedir(d);
	return best;
}

static int resolve(const char *path, struct imglist *l, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		l->kind = "image";
		l->paths = malloc(sizeof *l->paths);
		if (!l->paths || !(l->paths[0] = strdup(path))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		l->n = 1;
		return 0;
	}
	char mpath[PATH_MAX], gdir[PATH_MAX];
	snprintf(mpath, sizeof mpath, "%s/%s", path, SC_MANIFEST_NAME);
	DIR *d = opendir(path);
	int has_images = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL)
		has_images |= name_number(de->d_name, "rank-", ".img") >= 0;
	if (d)
		closedir(d);
	if (has_images) {
		l->kind = "generation";
		return list_generation(path, l, err, errlen);
	}

	/* a checkpoint directory: its newest committed generation */
	l->kind = "checkpoint directory";
	struct sc_gen_entry *e = calloc(1, sizeof *e);
	size_t n = 0;
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = sc_manifest_load(path, e, 1, &n, err, errlen); /* max 1: the newest */
	if (rc < 0) {
		free(e);
		return -1;
	}
	if (rc == SC_MANIFEST_MISSING || n == 0) {
		free(e);
		long long g = highest_gen_dir(path);
		if (g < 0) {
			snprintf(err, errlen,
				 "%s holds no image, no generation directory and no %s", path,
				 SC_MANIFEST_NAME);
			return -1;
		}
		fprintf(stderr,
			"splitckpt inspect: note: %s has no committed generation; showing "
			"gen-%06lld, which was never committed\n",
			path, g);
		sc_gen_dir_path(path, (uint64_t)g, 0, gdir, sizeof gdir);
		return list_generation(gdir, l, err, errlen);
	}
	if (sc_gen_dir_path(path, e->gen, 0, gdir, sizeof gdir)) {
		free(e);
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	l->nranks = e->nranks;
	free(e);
	return list_generation(gdir, l, err, errlen);
}

/* --- printing ------------------------------------------------------------------------------ */

static const char *prot_str(uint32_t p, char out[4])
{
	out[0] = p & PROT_READ ? 'r' : '-';
	out[1] = p & PROT_WRITE ? 'w' : '-';
	out[2] = p & PROT_EXEC ? 'x' : '-';
	out[3] = '\0';
	return out;
}

static const char *const flag_names[] = {"anon", "file", "shared", "stack", "nodata", "outside"};

static const char *flags_str(uint32_t f, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
		if (f & (1u << i))
			n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? "," : "",
					      flag_names[i]);
	if (!n)
		snprintf(out, outlen, "-");
	return out;
}

static const char *size_str(uint64_t b, char *out, size_t outlen)
{
	if (b >= (1ULL << 30))
		snprintf(out, outlen, "%.2f GiB", (double)b / (1ULL << 30));
	else if (b >= (1ULL << 20))
		snprintf(out, outlen, "%.1f MiB", (double)b / (1ULL << 20));
	else
		snprintf(out, outlen, "%" PRIu64 " KiB", b >> 10);
	return out;
}

static const char *time_str(uint64_t ns, char *out, size_t outlen)
{
	time_t s = (time_t)(ns / 1000000000ULL);
	struct tm tm;
	if (!gmtime_r(&s, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(out, outlen, "?");
	else
		snprintf(out + strlen(out), outlen - strlen(out), ".%03uZ",
			 (unsigned)(ns / 1000000 % 1000));
	return out;
}

struct totals {
	uint64_t mapped, saved, runs;
};

static struct totals image_totals(const struct sc_image *img)
{
	struct totals t = {0, 0, 0};
	for (uint32_t i = 0; i < img->hdr.n_regions; i++) {
		t.mapped += img->regions[i].end - img->regions[i].start;
		t.saved += img->regions[i].data_pages * SC_PAGE_SIZE;
		t.runs += img->regions[i].n_runs;
	}
	return t;
}

static void print_text(const struct sc_image *img, const struct opts *o)
{
	const struct sc_image_header *h = &img->hdr;
	char a[64], b[64], c[64];
	printf("%s\n", img->path);
	printf("  program     %s\n", h->program);
	printf("  cmdline     %s\n", h->cmdline);
	printf("  host        %s  pid %u\n", h->hostname, h->pid);
	if (h->mpi[0])
		printf("  mpi         %s\n", h->mpi);
	printf("  rank        %u of %u  generation %" PRIu64 "\n", h->rank, h->nranks,
	       h->generation);
	printf("  created     %s\n", time_str(h->created_ns, a, sizeof a));
	printf("  vdso        0x%" PRIx64 "-0x%" PRIx64 "\n", h->vdso_start, h->vdso_end);
	printf("  regions     %u\n", h->n_regions);
	printf("    %-14s %-14s %-4s %-18s %10s %6s %-16s %s\n", "start", "end", "prot", "flags",
	       "saved", "runs", "checksum", "name");
	for (uint32_t i = 0; i < h->n_regions; i++) {
		const struct sc_image_region *r = &img->regions[i];
		printf("    0x%012" PRIx64 " 0x%012" PRIx64 " %-4s %-18s %10s %6" PRIu64
		       " %016" PRIx64 " %s\n",
		       r->start, r->end, prot_str(r->prot, a), flags_str(r->flags, b, sizeof b),
		       size_str(r->data_pages * SC_PAGE_SIZE, c, sizeof c), r->n_runs, r->checksum,
		       r->name);
	}
	printf("  threads     %u\n", h->n_threads);
	printf("    %-8s %-18s %-18s %-18s %s\n", "tid", "fs_base", "rip", "rsp", "flags");
	for (uint32_t i = 0; i < h->n_threads; i++) {
		const struct sc_image_thread *t = &img->threads[i];
		printf("    %-8u 0x%016" PRIx64 " 0x%016" PRIx64 " 0x%016" PRIx64 " %s\n", t->tid,
		       t->fs_base, t->ctx.rip, t->ctx.rsp,
		       t->flags & SC_THREAD_CKPT ? "ckpt" : "-");
	}
	struct totals t = image_totals(img);
	printf("  total       %s mapped, %s saved in %" PRIu64 " runs, file %" PRIu64 " bytes\n",
	       size_str(t.mapped, a, sizeof a), size_str(t.saved, b, sizeof b), t.runs,
	       h->file_size);
	printf("  checksums   %s\n", o->verify ? "ok" : "not verified (--no-verify)");
}

static void hex(struct sc_textbuf *tb, const char *key, uint64_t v, int comma)
{
	sc_tb_printf(tb, "\"%s\":\"0x%" PRIx64 "\"%s", key, v, comma ? "," : "");
}

static void json_image(struct sc_textbuf *tb, const struct sc_image *img)
{
	const struct sc_image_header *h = &img->hdr;
	char a[64], b[64];
	sc_tb_printf(tb, "{\"path\":");
	sc_tb_json_str(tb, img->path);
	sc_tb_printf(tb, ",\"program\":");
	sc_tb_json_str(tb, h->program);
	sc_tb_printf(tb, ",\"cmdline\":");
	sc_tb_json_str(tb, h->cmdline);
	sc_tb_printf(tb, ",\"hostname\":");
	sc_tb_json_str(tb, h->hostname);
	sc_tb_printf(tb, ",\"mpi\":");
	sc_tb_json_str(tb, h->mpi);
	sc_tb_printf(tb,
		     ",\"pid\":%u,\"rank\":%u,\"nranks\":%u,\"generation\":%" PRIu64
		     ",\"created_ns\":%" PRIu64 ",\"created\":\"%s\",",
		     h->pid, h->rank, h->nranks, h->generation, h->created_ns,
		     time_str(h->created_ns, a, sizeof a));
	hex(tb, "vdso_start", h->vdso_start, 1);
	hex(tb, "vdso_end", h->vdso_end, 1);
	sc_tb_printf(tb, "\"file_size\":%" PRIu64 ",\"regions\":[", h->file_size);
	for (uint32_t i = 0; i < h->n_regions; i++) {
		const struct sc_image_region *r = &img->regions[i];
		sc_tb_printf(tb, "%s{", i ? "," : "");
		hex(tb, "start", r->start, 1);
		hex(tb, "end", r->end, 1);
		sc_tb_printf(tb, "\"prot\":\"%s\",\"flags\":\"%s\",\"name\":", prot_str(r->prot, a),
			     flags_str(r->flags, b, sizeof b));
		sc_tb_json_str(tb, r->name);
		sc_tb_printf(tb, ",\"saved_bytes\":%" PRIu64 ",\"runs\":%" PRIu64 ",",
			     r->data_pages * SC_PAGE_SIZE, r->n_runs);
		hex(tb, "checksum", r->checksum, 0);
		sc_tb_printf(tb, "}");
	}
	sc_tb_printf(tb, "],\"threads\":[");
	for (uint32_t i = 0; i < h->n_threads; i++) {
		const struct sc_image_thread *t = &img->threads[i];
		sc_tb_printf(tb, "%s{\"tid\":%u,", i ? "," : "", t->tid);
		hex(tb, "fs_base", t->fs_base, 1);
		hex(tb, "rip", t->ctx.rip, 1);
		hex(tb, "rsp", t->ctx.rsp, 1);
		sc_tb_printf(tb, "\"ckpt\":%s}", t->flags & SC_THREAD_CKPT ? "true" : "false");
	}
	struct totals t = image_totals(img);
	sc_tb_printf(tb,
		     "],\"totals\":{\"regions\":%u,\"threads\":%u,\"mapped_bytes\":%" PRIu64
		     ",\"saved_bytes\":%" PRIu64 ",\"runs\":%" PRIu64 "}}",
		     h->n_regions, h->n_threads, t.mapped, t.saved, t.runs);
}

/* --- main ---------------------------------------------------------------------------------- */

static int fail(const struct opts *o, const char *msg)
{
	sc_error(SUB, "%s", msg);
	if (o->json) {
		sc_print_json_error(msg);
	}
	return SC_EXIT_FAILURE;
}

/* The images of one generation must agree with each other and with their file names. */
static int check_consistency(const struct imglist *l, size_t i, const struct sc_image *img,
			     const struct sc_image_header *first, char *err, size_t errlen)
{
	const struct sc_image_header *h = &img->hdr;
	if (!strcmp(l->kind, "image"))
		return 0;
	const char *base = strrchr(img->path, '/') + 1;
	long long r = name_number(base, "rank-", ".img");
	if (l->missing <= i)
		snprintf(err, errlen, "%.*srank-%05zu.img is missing", (int)(base - img->path),
			 img->path, l->missing);
	else if (h->rank != r)
		snprintf(err, errlen,
			 "%s: the file name says rank %lld but the image holds rank %u", img->path,
			 r, h->rank);
	else if (l->missing < h->nranks)
		snprintf(err, errlen, "%.*srank-%05zu.img is missing (%s: the job had %u ranks)",
			 (int)(base - img->path), img->path, l->missing, base, h->nranks);
	else if (h->nranks != l->n)
		snprintf(err, errlen, "%s: the job had %u ranks but the directory has %zu images",
			 img->path, h->nranks, l->n);
	else if (l->nranks && h->nranks != l->nranks)
		snprintf(err, errlen, "%s: %u ranks, but %s lists %u for this generation",
			 img->path, h->nranks, SC_MANIFEST_NAME, l->nranks);
	else if (l->gen && h->generation != l->gen)
		snprintf(err, errlen,
			 "%s: generation %" PRIu64 " in the directory of generation %" PRIu64,
			 img->path, h->generation, l->gen);
	else if (first && h->generation != first->generation)
		snprintf(err, errlen, "%s: generation %" PRIu64 ", rank 0 has %" PRIu64, img->path,
			 h->generation, first->generation);
	else
		return 0;
	return -1;
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"no-verify", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {0, 1};
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o.json = 1;
			break;
		case 'n':
			o.verify = 0;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			sc_error(SUB, "unknown option '%s'", argv[optind - 1]);
			usage(stderr);
			return SC_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		sc_error(SUB, "%s", optind == argc ? "PATH missing" : "exactly one PATH expected");
		usage(stderr);
		return SC_EXIT_USAGE;
	}
	const char *path = argv[optind];

	char err[2048];
	struct imglist l = {0};
	int ret = 0;
	if (resolve(path, &l, err, sizeof err))
		ret = fail(&o, err);
	struct sc_textbuf tb;
	sc_tb_init(&tb);
	struct sc_image_header first;
	memset(&first, 0, sizeof first);
	uint64_t total_file = 0, total_saved = 0;
	for (size_t i = 0; i < l.n && !ret; i++) {
		struct sc_image img;
		if (sc_image_open(l.paths[i], &img, err, sizeof err)) {
			ret = fail(&o, err);
			break;
		}
		if (check_consistency(&l, i, &img, i ? &first : NULL, err, sizeof err) ||
		    (o.verify && sc_image_verify(&img, err, sizeof err))) {
			sc_image_close(&img);
			ret = fail(&o, err);
			break;
		}
		if (i == 0)
			first = img.hdr;
		total_file += img.hdr.file_size;
		total_saved += image_totals(&img).saved;
		if (o.json) {
			sc_tb_printf(&tb, "%s", i ? "," : "");
			json_image(&tb, &img);
		} else {
			print_text(&img, &o);
		}
		sc_image_close(&img);
	}
	if (!ret) {
		char a[64], b[64];
		if (o.json) {
			struct sc_textbuf out;
			sc_tb_init(&out);
			sc_tb_printf(&out, "{\"ok\":true,\"path\":");
			sc_tb_json_str(&out, path);
			sc_tb_printf(&out,
				     ",\"kind\":\"%s\",\"generation\":%" PRIu64
				     ",\"verified\":%s,\"file_bytes\":%" PRIu64
				     ",\"saved_bytes\":%" PRIu64 ",\"images\":[",
				     l.kind, first.generation, o.verify ? "true" : "false",
				     total_file, total_saved);
			sc_tb_append(&out, sc_tb_str(&tb), tb.len);
			sc_tb_printf(&out, "]}");
			if (out.oom || tb.oom)
				ret = fail(&o, "out of memory");
			else
				printf("%s\n", sc_tb_str(&out));
			sc_tb_free(&out);
		} else if (l.n > 1 || strcmp(l.kind, "image")) {
			printf("generation %" PRIu64 ": %zu image%s, %s saved, %s on disk, %s\n",
			       first.generation, l.n, l.n == 1 ? "" : "s",
			       size_str(total_saved, a, sizeof a),
			       size_str(total_file, b, sizeof b),
			       o.verify ? "all checksums ok" : "checksums not verified");
		}
	}
	sc_tb_free(&tb);
	for (size_t i = 0; i < l.n; i++)
		free(l.paths[i]);
	free(l.paths);
	return ret;
}
