/* The checkpoint directory: paths of generations and images, the MANIFEST text format, and
 * the crash-safe begin/commit/abort/garbage-collect steps (see manifest.h for the layout).
 * MANIFEST format, one committed generation per line after a version header:
 *   # splitckpt MANIFEST 2
 *   <gen> <nranks> <created_ns> <bytes> <took_ns> <how> <program, rest of the line>
 * Version 1 (read, never written) lacks took_ns and how. `how` is one word: interval, command,
 * end-command (a kill-checkpoint), end-SIGNAME (--on-signal), end (END without a signal). */
#define _GNU_SOURCE
#include "config.h"

#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_HEADER "# splitckpt MANIFEST 2"
#define MANIFEST_HEADER_V1 "# splitckpt MANIFEST 1"
#define MANIFEST_MAX_BYTES (16u << 20)
#define RM_MAX_DEPTH 8

int sc_gen_dir_path(const char *ckptdir, uint64_t gen, int tmp, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/gen-%06" PRIu64 "%s", ckptdir, gen, tmp ? ".tmp" : "");
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int image_path(const char *ckptdir, uint64_t gen, int tmp, uint32_t rank, char *out,
		      size_t outlen)
{
	int n = snprintf(out, outlen, "%s/gen-%06" PRIu64 "%s/rank-%05" PRIu32 ".img", ckptdir, gen,
			 tmp ? ".tmp" : "", rank);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int sc_gen_image_path(const char *ckptdir, uint64_t gen, uint32_t rank, char *out, size_t outlen)
{
	return image_path(ckptdir, gen, 0, rank, out, outlen);
}

int sc_gen_tmp_image_path(const char *ckptdir, uint64_t gen, uint32_t rank, char *out,
			  size_t outlen)
{
	return image_path(ckptdir, gen, 1, rank, out, outlen);
}

/* "gen-" + 6..20 digits, optionally ".tmp". Returns 1 and fills gen/is_tmp on a match. */
static int parse_gen_name(const char *name, uint64_t *gen, int *is_tmp)
{
	if (strncmp(name, "gen-", 4) != 0)
		return 0;
	const char *p = name + 4;
	size_t digits = strspn(p, "0123456789");
	if (digits < 6 || digits > 20)
		return 0;
	if (strcmp(p + digits, "") == 0)
		*is_tmp = 0;
	else if (strcmp(p + digits, ".tmp") == 0)
		*is_tmp = 1;
	else
		return 0;
	errno = 0;
	unsigned long long v = strtoull(p, NULL, 10);
	if (errno || v == 0)
		return 0;
	*gen = v;
	return 1;
}

/* Strict unsigned decimal of the whole string, at most max. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int cmp_gen(const void *a, const void *b)
{
	const struct sc_gen_entry *x = a, *y = b;
	return x->gen < y->gen ? -1 : x->gen > y->gen;
}

/* Parses one data line (NUL-terminated, no newline) of a version `version` MANIFEST into e;
 * returns a problem or NULL. */
static const char *parse_line(char *line, int version, struct sc_gen_entry *e)
{
	char *field[6];
	int nfields = version == 1 ? 4 : 6;
	char *p = line;
	for (int i = 0; i < nfields; i++) {
		char *sp = strchr(p, ' ');
		if (!sp)
			return version == 1
				   ? "too few fields (want: gen nranks created_ns bytes program)"
				   : "too few fields (want: gen nranks created_ns bytes took_ns "
				     "how "
				     "program)";
		*sp = '\0';
		field[i] = p;
		p = sp + 1;
	}
	uint64_t v;
	if (parse_u64(field[0], UINT64_MAX, &v) || v == 0)
		return "bad generation number";
	e->gen = v;
	if (parse_u64(field[1], UINT32_MAX, &v) || v == 0)
		return "bad rank count";
	e->nranks = (uint32_t)v;
	if (parse_u64(field[2], UINT64_MAX, &e->created_ns))
		return "bad creation time";
	if (parse_u64(field[3], UINT64_MAX, &e->bytes))
		return "bad byte count";
	e->took_ns = 0;
	snprintf(e->how, sizeof e->how, "-");
	if (version >= 2) {
		if (parse_u64(field[4], UINT64_MAX, &e->took_ns))
			return "bad duration";
		size_t hlen = strlen(field[5]);
		if (hlen == 0 || hlen >= sizeof e->how ||
		    strspn(field[5],
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-+") !=
			hlen)
			return "bad 'how' word";
		memcpy(e->how, field[5], hlen + 1);
	}
	size_t plen = strlen(p);
	if (plen == 0 || plen >= sizeof e->program)
		return "program name empty or too long";
	for (size_t i = 0; i < plen; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return "control character in program name";
	memcpy(e->program, p, plen + 1);
	return NULL;
}

const char *sc_ckpt_how_text(const char *how, char *buf, size_t len)
{
	if (!strcmp(how, "end-command"))
		snprintf(buf, len, "kcheckpoint (ended the job)");
	else if (!strcmp(how, "end"))
		snprintf(buf, len, "requested (ended the job)");
	else if (!strncmp(how, "end-", 4))
		snprintf(buf, len, "%s (ended the job)", how + 4);
	else
		snprintf(buf, len, "%s", how);
	return buf;
}

/* Reads all of MANIFEST into a malloc'd sorted array. Returns 0, SC_MANIFEST_MISSING or -1. */
static int load_all(const char *ckptdir, struct sc_gen_entry **out, size_t *n, char *err,
		    size_t errlen)
{
	char path[PATH_MAX];
	*out = NULL;
	*n = 0;
	if (snprintf(path, sizeof path, "%s/" SC_MANIFEST_NAME, ckptdir) >= (int)sizeof path) {
		snprintf(err, errlen, "checkpoint directory path too long: %s", ckptdir);
		return -1;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return SC_MANIFEST_MISSING;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *text = malloc(MANIFEST_MAX_BYTES + 1);
	size_t len = text ? fread(text, 1, MANIFEST_MAX_BYTES + 1, f) : 0;
	int rerr = !text || ferror(f);
	fclose(f);
	if (rerr || len > MANIFEST_MAX_BYTES) {
		snprintf(err, errlen, "%s: %s", path,
			 rerr ? "cannot read it" : "larger than 16 MiB, not a MANIFEST");
		free(text);
		return -1;
	}
	text[len] = '\0';
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	struct sc_gen_entry *v = calloc(lines + 1, sizeof *v);
	const char *problem = NULL;
	size_t count = 0, lineno = 0;
	int version = 2;
	char *p = text;
	if (!v) {
		snprintf(err, errlen, "%s: out of memory", path);
		free(text);
		return -1;
	}
	if (len == 0)
		problem = "file is empty (want the header '" MANIFEST_HEADER "')";
	else if (memchr(text, '\0', len))
		problem = "contains a NUL byte";
	while (!problem && *p) {
		lineno++;
		char *nl = strchr(p, '\n');
		if (!nl) {
			problem = "incomplete last line (no newline): truncated file?";
			break;
		}
		*nl = '\0';
		if (lineno == 1 && !strcmp(p, MANIFEST_HEADER_V1))
			version = 1;
		else if (lineno == 1 && strcmp(p, MANIFEST_HEADER) != 0)
			problem = "not a splitckpt MANIFEST version 1 or 2 (bad header line)";
		else if (p[0] != '#')
			problem = parse_line(p, version, &v[count++]);
		p = nl + 1;
	}
	if (!problem) {
		qsort(v, count, sizeof *v, cmp_gen);
		for (size_t i = 1; i < count && !problem; i++)
			if (v[i].gen == v[i - 1].gen) {
				problem = "generation listed twice";
				lineno = 0;
			}
	}
	free(text);
	if (problem) {
		if (lineno)
			snprintf(err, errlen, "%s line %zu is corrupt: %s", path, lineno, problem);
		else
			snprintf(err, errlen, "%s is corrupt: %s", path, problem);
		free(v);
		return -1;
	}
	*out = v;
	*n = count;
	return 0;
}

int sc_manifest_load(const char *ckptdir, struct sc_gen_entry *out, size_t max, size_t *n,
		     char *err, size_t errlen)
{
	struct sc_gen_entry *all;
	size_t count;
	*n = 0;
	int r = load_all(ckptdir, &all, &count, err, errlen);
	if (r != 0)
		return r;
	size_t skip = count > max ? count - max : 0;
	if (count - skip > 0)
		memcpy(out, all + skip, (count - skip) * sizeof *out);
	*n = count - skip;
	free(all);
	return 0;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* Replaces MANIFEST with entries[0..n) atomically and durably. */
static int write_manifest(const char *ckptdir, const struct sc_gen_entry *v, size_t n, char *err,
			  size_t errlen)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/" SC_MANIFEST_NAME, ckptdir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f, "%s\n# gen nranks created_ns bytes took_ns how program\n", MANIFEST_HEADER);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%" PRIu64 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %s %s\n",
			v[i].gen, v[i].nranks, v[i].created_ns, v[i].bytes, v[i].took_ns,
			v[i].how[0] ? v[i].how : "-", v[i].program);
	errno = EIO;
	int bad = fflush(f) != 0 || ferror(f) || fsync(fd) != 0;
	int saved = errno;
	if (fclose(f) != 0 && !bad) {
		bad = 1;
		saved = errno;
	}
	if (bad) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(saved));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (fsync_path(ckptdir, O_DIRECTORY) != 0) {
		snprintf(err, errlen, "cannot sync %s: %s", ckptdir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Removes name (a file or a directory tree) relative to dirfd. */
static int remove_tree_at(int dirfd, const char *name, int depth)
{
	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -1;
	if (depth >= RM_MAX_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_tree_at(fd, de->d_name, depth + 1) != 0)
			rc = -1;
	}
	int saved = errno;
	closedir(d);
	if (rc != 0) {
		errno = saved;
		return -1;
	}
	if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* A rank still finishing its image can create a file between our readdir and rmdir
 * (ENOTEMPTY); once the directory is gone its open fails instead, so a few passes suffice. */
static int remove_tree_retry(int dirfd, const char *name)
{
	int r = -1;
	for (int pass = 0; pass < 5; pass++) {
		r = remove_tree_at(dirfd, name, 0);
		if (r == 0 || errno != ENOTEMPTY)
			break;
	}
	return r;
}

static int remove_gen_dir(const char *ckptdir, uint64_t gen, int tmp, char *err, size_t errlen)
{
	char path[PATH_MAX];
	if (sc_gen_dir_path(ckptdir, gen, tmp, path, sizeof path) ||
	    remove_tree_retry(AT_FDCWD, path) != 0) {
		snprintf(err, errlen, "cannot remove %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int sc_ckptdir_remove_tmp(const char *ckptdir, unsigned *removed, char *err, size_t errlen)
{
	*removed = 0;
	DIR *d = opendir(ckptdir);
	if (!d) {
		snprintf(err, errlen, "cannot read directory %s: %s", ckptdir, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t gen;
		int is_tmp;
		if (!strcmp(de->d_name, SC_MANIFEST_NAME ".tmp")) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (!parse_gen_name(de->d_name, &gen, &is_tmp) || !is_tmp)
			continue;
		if (remove_tree_retry(dirfd(d), de->d_name) != 0) {
			snprintf(err, errlen, "cannot remove %s/%s: %s", ckptdir, de->d_name,
				 strerror(errno));
			rc = -1;
			continue;
		}
		(*removed)++;
	}
	closedir(d);
	return rc;
}

int sc_mkdir_parents(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
		snprintf(err, errlen, "checkpoint directory path too long: %s", dir);
		return -1;
	}
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create directory %s: %s", path,
				 strerror(errno));
			return -1;
		}
		*p = saved;
		if (!saved)
			break;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	return 0;
}

int sc_ckptdir_prepare(const char *ckptdir, uint64_t *last_gen, uint64_t *next_gen, unsigned *stale,
		       char *err, size_t errlen)
{
	*last_gen = 0;
	*next_gen = 1;
	*stale = 0;
	if (sc_mkdir_parents(ckptdir, err, errlen))
		return -1;
	struct sc_gen_entry *v;
	size_t n;
	if (load_all(ckptdir, &v, &n, err, errlen) < 0)
		return -1;
	uint64_t highest = n ? v[n - 1].gen : 0;
	*last_gen = highest;
	free(v);
	if (sc_ckptdir_remove_tmp(ckptdir, stale, err, errlen) != 0)
		return -1;

	DIR *d = opendir(ckptdir);
	if (!d) {
		snprintf(err, errlen, "cannot read directory %s: %s", ckptdir, strerror(errno));
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t gen;
		int is_tmp;
		/* an uncommitted leftover gen-N: never reuse its number */
		if (parse_gen_name(de->d_name, &gen, &is_tmp) && !is_tmp && gen > highest)
			highest = gen;
	}
	closedir(d);
	if (highest == UINT64_MAX) {
		snprintf(err, errlen, "%s: generation numbers exhausted", ckptdir);
		return -1;
	}
	*next_gen = highest + 1;
	return 0;
}

int sc_gen_begin(const char *ckptdir, uint64_t gen, char *err, size_t errlen)
{
	char path[PATH_MAX];
	if (sc_gen_dir_path(ckptdir, gen, 1, path, sizeof path)) {
		snprintf(err, errlen, "checkpoint directory path too long: %s", ckptdir);
		return -1;
	}
	if (remove_gen_dir(ckptdir, gen, 1, err, errlen))
		return -1;
	if (mkdir(path, 0755) != 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int sc_gen_abort(const char *ckptdir, uint64_t gen, char *err, size_t errlen)
{
	return remove_gen_dir(ckptdir, gen, 1, err, errlen);
}

int sc_gen_commit(const char *ckptdir, const struct sc_gen_entry *e, char *err, size_t errlen)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	if (sc_gen_dir_path(ckptdir, e->gen, 1, tmp, sizeof tmp) ||
	    sc_gen_dir_path(ckptdir, e->gen, 0, final, sizeof final)) {
		snprintf(err, errlen, "checkpoint directory path too long: %s", ckptdir);
		return -1;
	}
	struct sc_gen_entry *v;
	size_t n;
	if (load_all(ckptdir, &v, &n, err, errlen) < 0)
		return -1;
	if (n && v[n - 1].gen >= e->gen) {
		snprintf(err, errlen,
			 "cannot commit generation %" PRIu64 ": %s already lists %" PRIu64, e->gen,
			 SC_MANIFEST_NAME, v[n - 1].gen);
		free(v);
		return -1;
	}
	struct sc_gen_entry *grown = realloc(v, (n + 1) * sizeof *v);
	if (!grown) {
		snprintf(err, errlen, "out of memory committing generation %" PRIu64, e->gen);
		free(v);
		return -1;
	}
	v = grown;
	v[n] = *e;
	for (char *c = v[n].program; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (!v[n].program[0])
		snprintf(v[n].program, sizeof v[n].program, "-");

	/* The rank images are already synced; sync the directory entries that name them. */
	if (fsync_path(tmp, O_DIRECTORY) != 0) {
		snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, final) != 0) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, final, strerror(errno));
		goto fail;
	}
	if (fsync_path(ckptdir, O_DIRECTORY) != 0) {
		snprintf(err, errlen, "cannot sync %s: %s", ckptdir, strerror(errno));
		goto undo;
	}
	if (write_manifest(ckptdir, v, n + 1, err, errlen) != 0)
		goto undo;
	free(v);
	return 0;
undo:
	/* Not committed: hand the directory back to sc_gen_abort. */
	rename(final, tmp);
fail:
	free(v);
	return -1;
}

int sc_manifest_gc(const char *ckptdir, unsigned keep, unsigned *removed, char *err, size_t errlen)
{
	*removed = 0;
	struct sc_gen_entry *v;
	size_t n;
	int r = load_all(ckptdir, &v, &n, err, errlen);
	if (r != 0)
		return r < 0 ? -1 : 0; /* no MANIFEST: nothing is committed, nothing to keep */
	size_t first = 0;
	if (keep > 0 && n > keep) {
		first = n - keep;
		if (write_manifest(ckptdir, v + first, n - first, err, errlen) != 0) {
			free(v);
			return -1;
		}
	}
	DIR *d = opendir(ckptdir);
	if (!d) {
		snprintf(err, errlen, "cannot read directory %s: %s", ckptdir, strerror(errno));
		free(v);
		return -1;
	}
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t gen;
		int is_tmp;
		if (!parse_gen_name(de->d_name, &gen, &is_tmp) || is_tmp)
			continue;
		struct sc_gen_entry key = {.gen = gen};
		if (bsearch(&key, v + first, n - first, sizeof *v, cmp_gen))
			continue;
		if (remove_tree_at(dirfd(d), de->d_name, 0) != 0) {
			snprintf(err, errlen, "cannot remove %s/%s: %s", ckptdir, de->d_name,
				 strerror(errno));
			rc = -1;
			continue;
		}
		(*removed)++;
	}
	closedir(d);
	free(v);
	return rc;
}

int sc_launcher_promote(const char *ckptdir, char *err, size_t errlen)
{
	char from[PATH_MAX], to[PATH_MAX];
	if (snprintf(from, sizeof from, "%s/" SC_LAUNCHER_PENDING_FILE, ckptdir) >=
		(int)sizeof from ||
	    snprintf(to, sizeof to, "%s/" SC_LAUNCHER_FILE, ckptdir) >= (int)sizeof to) {
		snprintf(err, errlen, "checkpoint directory path too long: %s", ckptdir);
		return -1;
	}
	if (rename(from, to) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot rename %s to %s: %s", from, to, strerror(errno));
		return -1;
	}
	return 0;
}
