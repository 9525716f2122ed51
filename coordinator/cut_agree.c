/* The coordinator's side of the MPI quiesce (upper-half/mpi/cut.c): each round every rank
 * reports its collective count per communicator; the coordinator merges them and, while the
 * members of some communicator disagree, sends every rank the per-communicator maximum as its
 * target for the next round. A rank that cannot reach a target without passing a collective
 * held at its own target reports that communicator ("!ID"); its target then goes one further
 * for every member. A rank inside a communicator's creation ("+") also takes another round: its
 * peers may already count collectives on the new communicator, which it cannot report yet; and
 * the communicators where ranks wait at their targets ("?ID") go one further, since the
 * creation may wait for them (MPI_Intercomm_create's other group). A rank with an RMA epoch of
 * general active target synchronization open ("*": posted and not waited, or started and not
 * completed), or a generalized request its application has yet to complete and free, takes
 * another round as well, raising nothing.
 * Input from ranks is checked line by line. */
#define _GNU_SOURCE
#include "config.h"

#include "server_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 10000

static void agree_reset_targets(struct checkpoint *ck)
{
	ck->targets.len = 0;
	ck->targets.oom = 0;
	if (ck->targets.data)
		ck->targets.data[0] = '\0';
}

void agree_reset(struct checkpoint *ck)
{
	ck->nclocks = 0;
	ck->creating = 0;
	ck->epochs_open = 0;
	ck->rounds = 0;
	agree_reset_targets(ck);
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
	*e = (struct clock_entry){.id = id, .min = UINT64_MAX, .max = 0, .raise = 0, .held = 0};
	return e;
}

int agree_add(struct checkpoint *ck, const char *text, char *err, size_t errlen)
{
	/* lines "ID COUNT", "!ID": held at this communicator's collective and behind elsewhere,
	 * "?ID": waiting at this communicator's target, or "+": a thread is inside the creation
	 * of a communicator, which its peers may already count in, "*": a PSCW epoch is open */
	for (const char *p = text; *p;) {
		char *end;
		if ((p[0] == '+' || p[0] == '*') && (p[1] == '\n' || !p[1])) {
			if (p[0] == '+')
				ck->creating = 1;
			else
				ck->epochs_open = 1;
			p += p[1] ? 2 : 1;
			continue;
		}
		const int held = *p == '!', waiting = *p == '?', mark = held || waiting;
		uint64_t id = strtoull(p + mark, &end, 16), n = 0;
		if (end == p + mark)
			goto bad;
		if (!mark) {
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
		if (mark) {
			if (held)
				e->raise = 1;
			else
				e->held = 1;
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
	const int creating = ck->creating, epochs_open = ck->epochs_open;
	const struct clock_entry *apart = NULL; /* one that disagrees, for the message */
	int agreed = !creating && !epochs_open;
	ck->creating = 0;
	ck->epochs_open = 0;
	for (size_t i = 0; i < ck->nclocks; i++) {
		struct clock_entry *e = &ck->clocks[i];
		if (e->min != e->max || e->raise) {
			agreed = 0;
			apart = e;
		}
		/* Held members go one collective further; while a rank is inside a creation that
		 * the agreed counts do not let finish (an intercommunicator whose other group
		 * waits at its target), every waiting rank does (MANA's overshoot). */
		if (e->raise || (creating && e->held))
			e->max = e->min + 1 > e->max ? e->min + 1 : e->max;
	}
	if (agreed)
		return 1;
	if (++ck->rounds >= MAX_ROUNDS) {
		const char *why = creating ? "; a rank is inside the creation of a communicator"
				  : epochs_open
				      ? "; a rank keeps an MPI_Win_post or MPI_Win_start epoch "
					"(its peer never makes the matching call) or a generalized "
					"request (MPI_Grequest_start) open"
				      : "";
		if (apart)
			snprintf(err, errlen,
				 "the ranks did not agree on their collective counts in %d rounds "
				 "(communicator %" PRIx64 ": counts %" PRIu64 " to %" PRIu64
				 "%s)%s",
				 MAX_ROUNDS, apart->id, apart->min, apart->max,
				 apart->raise ? ", a rank held at it" : "", why);
		else if (creating)
			snprintf(err, errlen,
				 "the ranks did not agree on their collective counts in %d rounds: "
				 "a rank stays inside the creation of a communicator (e.g. "
				 "MPI_Comm_create_group waiting for a member held elsewhere)",
				 MAX_ROUNDS);
		else
			snprintf(
			    err, errlen,
			    "the ranks did not agree on their collective counts in %d rounds%s",
			    MAX_ROUNDS, why);
		return -1;
	}
	agree_reset_targets(ck);
	for (size_t i = 0; i < ck->nclocks; i++)
		sc_tb_printf(&ck->targets, "%" PRIx64 " %" PRIx64 "\n", ck->clocks[i].id,
			     ck->clocks[i].max);
	if (ck->targets.oom) {
		snprintf(err, errlen, "coordinator out of memory for %zu collective targets",
			 ck->nclocks);
		return -1;
	}
	ck->nclocks = 0;
	return 0;
}
