/* The checkpoint directory layout and its MANIFEST, the single source of truth for which
 * generations are committed. Layout:
 *   DIR/gen-NNNNNN/rank-NNNNN.img   a committed generation (6 and 5 digits, zero-padded)
 *   DIR/gen-NNNNNN.tmp/             a generation being written (never restored from)
 *   DIR/MANIFEST                    one text line per committed generation, replaced atomically
 * A generation counts only once MANIFEST lists it, so a crash at any point of a checkpoint
 * leaves the previous generation as the latest. */
#ifndef SPLITCKPT_MANIFEST_H
#define SPLITCKPT_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define SC_MANIFEST_NAME "MANIFEST"
#define SC_PROGRAM_MAX 256
#define SC_HOW_MAX 24

/* One committed generation, as listed in MANIFEST. */
struct sc_gen_entry {
	uint64_t gen;		      /* >= 1, strictly increasing */
	uint32_t nranks;	      /* ranks that wrote an image (rank-00000 .. nranks-1) */
	uint64_t created_ns;	      /* commit time, CLOCK_REALTIME nanoseconds */
	uint64_t bytes;		      /* total image bytes of all ranks */
	uint64_t took_ns;	      /* from its start to its commit (0: unknown, version 1) */
	char how[SC_HOW_MAX];	      /* what took it (sc_ckpt_how_text), "-" if unknown */
	char program[SC_PROGRAM_MAX]; /* what was checkpointed (printable, no newline) */
};

/* A generation's `how` for people: "interval", "command", "kcheckpoint (ended the job)",
 * "SIGUSR1 (ended the job)". */
const char *sc_ckpt_how_text(const char *how, char *buf, size_t len);

/* DIR/launcher holds the argv (NUL-separated) a plain `splitckpt restart` relaunches the job
 * with (tools/launch_record.c). A restart under a launcher the user names records it in
 * DIR/launcher.pending; the coordinator makes it DIR/launcher once every rank restarted, so a
 * refused restart (another rank count, say) does not replace the launcher that works. */
#define SC_LAUNCHER_FILE "launcher"
#define SC_LAUNCHER_PENDING_FILE "launcher.pending"
/* Renames DIR/launcher.pending to DIR/launcher; 0 also when there is none, -1 with err. */
int sc_launcher_promote(const char *ckptdir, char *err, size_t errlen);

/* sc_manifest_load's return when DIR/MANIFEST does not exist: no checkpoint in DIR. */
#define SC_MANIFEST_MISSING 1

/* Loads the committed generations of ckptdir, sorted by ascending gen. When MANIFEST lists more
 * than max, the newest max are returned. Returns 0, SC_MANIFEST_MISSING (with *n = 0), or -1
 * with err naming the file and the line that is corrupt (or the I/O error). */
int sc_manifest_load(const char *ckptdir, struct sc_gen_entry *out, size_t max, size_t *n,
		     char *err, size_t errlen);

/* DIR/gen-NNNNNN/rank-NNNNN.img of a committed generation. 0, or -1 if outlen is too small. */
int sc_gen_image_path(const char *ckptdir, uint64_t gen, uint32_t rank, char *out, size_t outlen);
/* The same image inside DIR/gen-NNNNNN.tmp/, where ranks write it during a checkpoint. */
int sc_gen_tmp_image_path(const char *ckptdir, uint64_t gen, uint32_t rank, char *out,
			  size_t outlen);
/* DIR/gen-NNNNNN or, with tmp, DIR/gen-NNNNNN.tmp. */
int sc_gen_dir_path(const char *ckptdir, uint64_t gen, int tmp, char *out, size_t outlen);

/* --- used by the coordinator ---------------------------------------------------------- */

/* mkdir -p dir (mode 0755 less the umask); -1 with err naming the component that failed. */
int sc_mkdir_parents(const char *dir, char *err, size_t errlen);

/* Creates ckptdir (and parents) if needed, removes what crashed checkpoints left behind
 * (gen-*.tmp directories, MANIFEST.tmp) and validates MANIFEST. *last_gen = newest committed
 * generation (0 if none); *next_gen = the number the next checkpoint gets (above every gen-*
 * directory present, so an uncommitted leftover is never overwritten); *stale = how many
 * leftovers were removed. -1 with err when MANIFEST is corrupt or the directory unusable. */
int sc_ckptdir_prepare(const char *ckptdir, uint64_t *last_gen, uint64_t *next_gen, unsigned *stale,
		       char *err, size_t errlen);

/* Removes every gen-*.tmp directory and MANIFEST.tmp (what crashed or aborted checkpoints
 * left). Only call it when no checkpoint is being written. *removed = directories removed. */
int sc_ckptdir_remove_tmp(const char *ckptdir, unsigned *removed, char *err, size_t errlen);

/* Creates an empty DIR/gen-NNNNNN.tmp (replacing a leftover of the same name). */
int sc_gen_begin(const char *ckptdir, uint64_t gen, char *err, size_t errlen);

/* Commits e->gen: syncs and renames gen-N.tmp to gen-N, syncs DIR, then appends e to MANIFEST
 * via MANIFEST.tmp + fsync + rename + fsync DIR. On failure the directory is moved back to
 * gen-N.tmp (for sc_gen_abort) and MANIFEST is unchanged. */
int sc_gen_commit(const char *ckptdir, const struct sc_gen_entry *e, char *err, size_t errlen);

/* Removes DIR/gen-NNNNNN.tmp and everything in it (absent is fine). */
int sc_gen_abort(const char *ckptdir, uint64_t gen, char *err, size_t errlen);

/* Keeps the `keep` newest committed generations (0 = keep all): rewrites MANIFEST first, then
 * removes the dropped generations' directories and any other gen-NNNNNN directory that
 * MANIFEST does not list (leftovers of an earlier crash). *removed = directories removed. */
int sc_manifest_gc(const char *ckptdir, unsigned keep, unsigned *removed, char *err, size_t errlen);

#endif
