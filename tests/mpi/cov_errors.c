/* Coverage of the error classes, codes and strings a program adds (MPI_Add_error_class,
 * MPI_Add_error_code, MPI_Add_error_string) and of their use: MPI_Error_class and
 * MPI_Error_string answer for them, MPI_LASTUSEDCODE follows them, and a communicator's error
 * handler called with one (MPI_Comm_call_errhandler) receives it unchanged. Some are added at the
 * start, one more every round, and one string is replaced every round: across a checkpoint and
 * a restart every value keeps its meaning, and the values are the same on every rank (each adds
 * the same ones in the same order). Self-checking. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;

enum { MAX_ADDED = 400 };
static int cls_a, cls_b, code_a1, code_a2, code_other;
static int added[MAX_ADDED], nadded; /* the codes of the rounds, in class cls_b */
static MPI_Comm handled_comm;
static int handled = -1; /* the last code the error handler received */

static void handler(MPI_Comm *comm, int *code, ...)
{
	(void)comm;
	handled = *code;
}

static void check_string(int code, const char *want)
{
	char s[MPI_MAX_ERROR_STRING];
	int len = -1;
	OK(MPI_Error_string(code, s, &len));
	CHECK(len == (int)strlen(want) && strcmp(s, want) == 0);
}

static void check_class(int code, int want)
{
	int cls = -1;
	OK(MPI_Error_class(code, &cls));
	CHECK(cls == want);
}

/* MPI_LASTUSEDCODE (an attribute of MPI_COMM_WORLD): MPI_ERR_LASTCODE before anything was
 * added, then at least the last class added (MPICH 4.0 does not move it for codes; splitckpt
 * and Open MPI give the last value added). */
static void check_last_used(int at_least)
{
	int *last = NULL, flag = 0;
	OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &last, &flag));
	CHECK(flag && last && *last >= at_least);
}

/* Every rank added the same values in the same order. */
static void check_same_everywhere(int value)
{
	int lo = -1, hi = -1;
	OK(MPI_Allreduce(&value, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
	OK(MPI_Allreduce(&value, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD));
	CHECK(lo == value && hi == value);
}

static void setup(void)
{
	int *last = NULL, flag = 0;
	OK(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_LASTUSEDCODE, &last, &flag));
	CHECK(flag && last && *last == MPI_ERR_LASTCODE); /* none added yet */
	OK(MPI_Add_error_class(&cls_a));
	OK(MPI_Add_error_code(cls_a, &code_a1));
	OK(MPI_Add_error_code(cls_a, &code_a2));
	OK(MPI_Add_error_class(&cls_b));
	OK(MPI_Add_error_code(MPI_ERR_OTHER, &code_other)); /* a code of a predefined class */
	int v[] = {cls_a, code_a1, code_a2, cls_b, code_other};
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < i; j++)
			CHECK(v[i] != v[j]);
	OK(MPI_Add_error_string(cls_a, "class alpha"));
	OK(MPI_Add_error_string(code_a1, "alpha: the first"));
	OK(MPI_Add_error_string(code_other, "other: added"));
	check_last_used(cls_b);
	check_same_everywhere(code_other);
	MPI_Errhandler errh;
	OK(MPI_Comm_dup(MPI_COMM_WORLD, &handled_comm));
	OK(MPI_Comm_create_errhandler(handler, &errh));
	OK(MPI_Comm_set_errhandler(handled_comm, errh));
	OK(MPI_Errhandler_free(&errh));
}

static void round_of(int step)
{
	char want[64];
	/* everything added so far still means what it meant */
	check_class(cls_a, cls_a);
	check_class(code_a1, cls_a);
	check_class(code_a2, cls_a);
	check_class(cls_b, cls_b);
	check_class(code_other, MPI_ERR_OTHER);
	check_string(cls_a, "class alpha");
	check_string(code_a1, "alpha: the first");
	/* (not code_other's string: MPICH 4.0.2 describes a code of a predefined class by its
	 * own text) */
	for (int i = 0; i < nadded; i++)
		check_class(added[i], cls_b);
	if (step > 1) {
		snprintf(want, sizeof want, "alpha: round %d", step - 1);
		check_string(code_a2, want);
	}
	/* one more code, one string replaced */
	if (nadded < MAX_ADDED) {
		OK(MPI_Add_error_code(cls_b, &added[nadded]));
		CHECK(added[nadded] != (nadded ? added[nadded - 1] : code_other));
		snprintf(want, sizeof want, "beta %d", nadded);
		OK(MPI_Add_error_string(added[nadded], want));
		check_string(added[nadded], want);
		nadded++;
	}
	snprintf(want, sizeof want, "alpha: round %d", step);
	OK(MPI_Add_error_string(code_a2, want));
	check_last_used(cls_b);
	check_same_everywhere(nadded ? added[nadded - 1] : code_other);
	/* the error handler receives the added code itself */
	handled = -1;
	OK(MPI_Comm_call_errhandler(handled_comm, code_a1));
	CHECK(handled == code_a1);
	handled = -1;
	OK(MPI_Comm_call_errhandler(handled_comm, added[(step - 1) % (nadded ? nadded : 1)]));
	CHECK(handled == added[(step - 1) % (nadded ? nadded : 1)]);
}

int main(int argc, char **argv)
{
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	int steps = cov_steps(argc, argv);
	setup();
	for (int step = 1; step <= steps; step++) {
		round_of(step);
		cov_step_done(step, steps);
	}
	OK(MPI_Comm_free(&handled_comm));
	cov_finish("cov_errors");
	MPI_Finalize();
	return 0;
}
