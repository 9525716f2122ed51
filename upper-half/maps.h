/* Parser for /proc/<pid>/maps: turns each line into a struct without malloc or stdio so the
 * checkpoint thread can use it while other threads are suspended. Lines are untrusted input. */
#ifndef SPLITCKPT_MAPS_H
#define SPLITCKPT_MAPS_H

#include <stddef.h>
#include <stdint.h>

struct sc_map_entry {
	uint64_t start, end;
	uint32_t prot; /* PROT_READ|PROT_WRITE|PROT_EXEC */
	int shared;    /* 's' vs 'p' */
	uint64_t offset;
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	char name[512]; /* path, [heap], [stack], [vdso], [vvar], [vvar_vclock], or "" (truncated) */
};

/* Parses one line (without or with its trailing '\n'). Returns 0, or -1 when malformed. */
int sc_maps_parse_line(const char *line, size_t len, struct sc_map_entry *e);

/* Reads the maps file at `path` in chunks into buf (caller memory, >= 4096 bytes) and calls cb
 * for each entry in order; stops early when cb returns non-zero and returns that value.
 * Returns 0 when all entries were visited, -1 with err set on a read or parse error. */
int sc_maps_foreach(const char *path, char *buf, size_t buflen,
		    int (*cb)(const struct sc_map_entry *e, void *arg), void *arg, char *err,
		    size_t errlen);

#endif
