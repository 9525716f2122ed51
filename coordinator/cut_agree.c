/* The coordinator's side of the MPI quiesce (upper-half/mpi/cut.c): each round every rank
 * reports its collective count per communicator; the coordinator merges them and, while the
 * members of some communicator disagree, sends every rank the per-communicator maximum as its
 * target for the next round. A rank that cannot reach a target without passing a collective
 * held at its own target reports that communicator ("!ID"); its target then goes one further
 * for every member. Input from ranks is checked line by line. */
#define _GNU_SOURCE
#include "config.h"

#include "server_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 10000

void agree_reset(struct checkpoint *ck)
{
	ck->nclocks = 0;
	ck->rounds = 0;
	ck->targets[0] = '\0';
}

static struct clock_entry *entry(struct checkpoint *ck, uint64_t id)
{
	for (size_t i = 0; i < ck->nclocks; i++)
		if (ck->clocks[i].id == id)
			return &ck->clocks[i];
	if (ck->nclocks == ck->capclocks) {
		size_t cap = ck->capclocks * 2 + 16;
		struct clock_entry *n = reallocarray(ck->clocks, cap, sizeof *n);
		if (!n)
			return NULL;
		ck->clocks = n;
		ck->capclocks = cap;
	}
	struct clock_entry *e = &ck->clocks[ck->nclocks++];
	*e = (struct clock_entry){.id = id, .min = UINT64_MAX, .max = 0, .raise = 0};
	return e;
}

int agree_add(struct checkpoint *ck, const char *text, char *err, size_t errlen)
{
	/* lines "ID COUNT", or "!ID": held at this communicator's collective */
	for (const char *p = text; *p;) {
		char *end;
		const int held = *p == '!';
		uint64_t id = strtoull(p + held, &end, 16), n = 0;
		if (end == p + held)
			goto bad;
		if (!held) {
			if (*end != ' ')
				goto bad;
			p = end + 1;
			n = strtoull(p, &end, 16);
			if (end == p)
				goto bad;
		}
		if (*end != '\n' && *end)
			goto bad;
		p = *end ? end + 1 : end;
		struct clock_entry *e = entry(ck, id);
		if (!e) {
			snprintf(err, errlen, "coordinator out of memory");
			return -1;
		}
		if (held) {
			e->raise = 1;
			continue;
		}
		if (n < e->min)
			e->min = n;
		if (n > e->max)
			e->max = n;
	}
	return 0;
bad:
	snprintf(err, errlen, "malformed collective counts in a quiesce report");
	return -1;
}

int agree_next(struct checkpoint *ck, char *err, size_t errlen)
{
	int agreed = 1;
	for (size_t i = 0; i < ck->nclocks; i++) {
		struct clock_entry *e = &ck->clocks[i];
		if (e->min != e->max)
			agreed = 0;
		if (e->raise) { /* held members go one collective further */
			agreed = 0;
			e->max = e->min + 1 > e->max ? e->min + 1 : e->max;
		}
	}
	if (agreed)
		return 1;
	if (++ck->rounds >= MAX_ROUNDS) {
		snprintf(err, errlen,
			 "the ranks did not agree on their collective counts in %d "
			 "rounds",
			 MAX_ROUNDS);
		return -1;
	}
	size_t len = 0;
	for (size_t i = 0; i < ck->nclocks; i++) {
		int n = snprintf(ck->targets + len, sizeof ck->targets - len,
				 "%" PRIx64 " %" PRIx64 "\n", ck->clocks[i].id, ck->clocks[i].max);
		if (n < 0 || (size_t)n >= sizeof ck->targets - len) {
			snprintf(err, errlen,
				 "too many communicators (%zu) for one quiesce message",
				 ck->nclocks);
			return -1;
		}
		len += (size_t)n;
	}
	ck->nclocks = 0;
	return 0;
}
