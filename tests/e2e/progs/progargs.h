/* What the e2e test programs share: the bounds of their STEPS and DELAY_MS arguments and a
 * strict parser that exits with status 2 and a message naming the program and the argument. */
#ifndef SC_E2E_PROGARGS_H
#define SC_E2E_PROGARGS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_STEPS 100000
#define MAX_DELAY_MS 10000

static inline long parse_arg(const char *prog, const char *s, long min, long max, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "%s: %s must be a number in [%ld, %ld], got '%s'\n", prog, what,
			min, max, s);
		exit(2);
	}
	return v;
}

#endif
