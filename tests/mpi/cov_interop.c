/* Coverage of the language interoperability functions: MPI_X_c2f/f2c for every handle kind
 * (and, under an MPI 5.0 mpi.h, MPI_X_toint/fromint, which must agree with them), predefined
 * handles and NULL handles included, MPI_Status_c2f/f2c (and MPI 4.1's status accessors).
 * Objects made at the start keep their Fortran integers, which every round converts back: across
 * a checkpoint and a restart the same integer must name the same object. Objects of a round get
 * integers of their own, all different from each other. Also the tool information interface
 * (MPI_T), as far as every MPI answers alike (splitckpt's has no variables, MPICH's has some),
 * and MPI_Info_create_env before MPI_Init (its info lives the whole run). Self-checking. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_check.h"

static int rank, size;

/* The long-lived objects and the integers they gave at the start. */
static MPI_Comm wdup;
static MPI_Group group;
static MPI_Datatype pair;
static MPI_Op op;
static MPI_Info info;
static MPI_Errhandler errh;
static MPI_Win win;
static MPI_File file;
static MPI_Fint f_dup, f_group, f_pair, f_op, f_info, f_errh, f_win, f_file;
static int win_mem[2];
static MPI_Info env_info; /* MPI_Info_create_env's, made before MPI_Init */

static void my_sum(void *in, void *inout, int *len, MPI_Datatype *type)
{
	(void)type;
	for (int i = 0; i < *len; i++)
		((int *)inout)[i] += ((int *)in)[i];
}

static void quiet(MPI_Comm *comm, int *code, ...)
{
	(void)comm;
	(void)code;
}

/* MPI 5.0's integer conversions agree with the Fortran ones (not counted as checks: an MPI 4.0
 * mpi.h has none, and both builds must count the same). */
#if MPI_VERSION >= 5
#define SAME_AS_TOINT(Kind, h, f)                                                                  \
	do {                                                                                       \
		if (MPI_##Kind##_toint(h) != (f) || MPI_##Kind##_fromint(f) != (h)) {              \
			fprintf(stderr, "rank %d: MPI_" #Kind "_toint/fromint differ from c2f\n",  \
				rank);                                                             \
			MPI_Abort(MPI_COMM_WORLD, 2);                                              \
		}                                                                                  \
	} while (0)
#else
#define SAME_AS_TOINT(Kind, h, f) ((void)0)
#endif

/* MPI 4.1's status accessors agree with the fields (not counted as checks, as above: an MPI 4.0
 * mpi.h has none). */
static void status_accessors(MPI_Status *st, int source, int tag)
{
#if MPI_VERSION > 4 || (MPI_VERSION == 4 && MPI_SUBVERSION >= 1)
	int s = -1, t = -1, e = -1;
	MPI_Status_get_source(st, &s);
	MPI_Status_get_tag(st, &t);
	MPI_Status_set_error(st, MPI_ERR_TAG);
	MPI_Status_get_error(st, &e);
	int ok = s == source && t == tag && e == MPI_ERR_TAG && st->MPI_ERROR == MPI_ERR_TAG;
	MPI_Status_set_source(st, source + 1);
	MPI_Status_set_tag(st, tag + 1);
	ok = ok && st->MPI_SOURCE == source + 1 && st->MPI_TAG == tag + 1;
	if (!ok) {
		fprintf(stderr, "rank %d: MPI_Status_get/set_source/tag/error disagree\n", rank);
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
#else
	(void)st, (void)source, (void)tag;
#endif
}

static void setup(const char *path)
{
	OK(MPI_Comm_dup(MPI_COMM_WORLD, &wdup));
	int zero = 0;
	OK(MPI_Group_incl(MPI_GROUP_EMPTY, 0, &zero, &group));
	MPI_Group world;
	OK(MPI_Comm_group(MPI_COMM_WORLD, &world));
	OK(MPI_Group_free(&group));
	OK(MPI_Group_incl(world, 1, &zero, &group));
	OK(MPI_Group_free(&world));
	OK(MPI_Type_contiguous(2, MPI_INT, &pair));
	OK(MPI_Type_commit(&pair));
	OK(MPI_Op_create(my_sum, 1, &op));
	OK(MPI_Info_create(&info));
	OK(MPI_Info_set(info, "cov_interop", "yes"));
	OK(MPI_Comm_create_errhandler(quiet, &errh));
	OK(MPI_Win_create(win_mem, sizeof win_mem, sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD,
			  &win));
	OK(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL,
			 &file));
	f_dup = MPI_Comm_c2f(wdup);
	f_group = MPI_Group_c2f(group);
	f_pair = MPI_Type_c2f(pair);
	f_op = MPI_Op_c2f(op);
	f_info = MPI_Info_c2f(info);
	f_errh = MPI_Errhandler_c2f(errh);
	f_win = MPI_Win_c2f(win);
	f_file = MPI_File_c2f(file);
	/* asked again: the same integer */
	CHECK(MPI_Comm_c2f(wdup) == f_dup && MPI_Type_c2f(pair) == f_pair);
	CHECK(MPI_File_c2f(file) == f_file && MPI_Win_c2f(win) == f_win);
}

static void round_of(int step)
{
	/* the long-lived objects: their integers still name them */
	CHECK(MPI_Comm_f2c(f_dup) == wdup && MPI_Group_f2c(f_group) == group);
	CHECK(MPI_Type_f2c(f_pair) == pair && MPI_Op_f2c(f_op) == op);
	CHECK(MPI_Info_f2c(f_info) == info && MPI_Errhandler_f2c(f_errh) == errh);
	CHECK(MPI_Win_f2c(f_win) == win && MPI_File_f2c(f_file) == file);
	SAME_AS_TOINT(Comm, wdup, f_dup);
	SAME_AS_TOINT(Type, pair, f_pair);
	SAME_AS_TOINT(File, file, f_file);
	SAME_AS_TOINT(Win, win, f_win);
	/* predefined handles and NULL handles round-trip */
	CHECK(MPI_Comm_f2c(MPI_Comm_c2f(MPI_COMM_WORLD)) == MPI_COMM_WORLD);
	CHECK(MPI_Comm_f2c(MPI_Comm_c2f(MPI_COMM_NULL)) == MPI_COMM_NULL);
	CHECK(MPI_Type_f2c(MPI_Type_c2f(MPI_DOUBLE)) == MPI_DOUBLE);
	CHECK(MPI_Op_f2c(MPI_Op_c2f(MPI_SUM)) == MPI_SUM);
	CHECK(MPI_Request_f2c(MPI_Request_c2f(MPI_REQUEST_NULL)) == MPI_REQUEST_NULL);
	CHECK(MPI_Info_f2c(MPI_Info_c2f(MPI_INFO_NULL)) == MPI_INFO_NULL);
	SAME_AS_TOINT(Comm, MPI_COMM_WORLD, MPI_Comm_c2f(MPI_COMM_WORLD));
	/* the objects of a round: requests and a message, a type, a communicator */
	int right = (rank + 1) % size, left = (rank + size - 1) % size, got[2] = {0, 0};
	int out[2] = {step, rank};
	MPI_Request r[2];
	OK(MPI_Irecv(got, 1, pair, left, step, wdup, &r[0]));
	OK(MPI_Isend(out, 1, pair, right, step, wdup, &r[1]));
	MPI_Fint fr0 = MPI_Request_c2f(r[0]), fr1 = MPI_Request_c2f(r[1]);
	CHECK(fr0 != fr1 && fr0 != f_dup && MPI_Request_f2c(fr0) == r[0]);
	MPI_Request back = MPI_Request_f2c(fr1);
	CHECK(back == r[1]);
	SAME_AS_TOINT(Request, r[0], fr0);
	MPI_Status st;
	OK(MPI_Wait(&r[0], &st));
	OK(MPI_Wait(&back, MPI_STATUS_IGNORE));
	CHECK(got[0] == step && got[1] == left);
	/* a status to Fortran and back */
	MPI_Fint fst[MPI_F_STATUS_SIZE];
	OK(MPI_Status_c2f(&st, fst));
	CHECK(fst[MPI_F_SOURCE] == left && fst[MPI_F_TAG] == step);
	MPI_Status st2;
	OK(MPI_Status_f2c(fst, &st2));
	int count = -1;
	OK(MPI_Get_count(&st2, pair, &count));
	CHECK(count == 1 && st2.MPI_SOURCE == left && st2.MPI_TAG == step);
	status_accessors(&st2, left, step);
	/* a matched message */
	MPI_Message msg;
	OK(MPI_Isend(out, 2, MPI_INT, right, 1000 + step, wdup, &r[1]));
	OK(MPI_Mprobe(left, 1000 + step, wdup, &msg, MPI_STATUS_IGNORE));
	MPI_Fint fm = MPI_Message_c2f(msg);
	CHECK(MPI_Message_f2c(fm) == msg);
	OK(MPI_Mrecv(got, 2, MPI_INT, &msg, MPI_STATUS_IGNORE));
	OK(MPI_Wait(&r[1], MPI_STATUS_IGNORE));
	CHECK(got[0] == step && got[1] == left);
	/* a communicator of the round, used through the handle its integer gives back */
	MPI_Comm c;
	OK(MPI_Comm_split(wdup, rank % 2, rank, &c));
	MPI_Fint fc = MPI_Comm_c2f(c);
	CHECK(fc != f_dup);
	int sum = 0;
	OK(MPI_Allreduce(&rank, &sum, 1, MPI_INT, op, MPI_Comm_f2c(fc)));
	int want = 0;
	for (int k = rank % 2; k < size; k += 2)
		want += k;
	CHECK(sum == want);
	OK(MPI_Comm_free(&c));
	/* the window and the file, through their integers */
	OK(MPI_Win_fence(0, MPI_Win_f2c(f_win)));
	OK(MPI_Put(&step, 1, MPI_INT, right, 0, 1, MPI_INT, MPI_Win_f2c(f_win)));
	OK(MPI_Win_fence(0, MPI_Win_f2c(f_win)));
	CHECK(win_mem[0] == step);
	OK(MPI_File_write_at(MPI_File_f2c(f_file), (MPI_Offset)rank * sizeof(int), &step, 1,
			     MPI_INT, MPI_STATUS_IGNORE));
	OK(MPI_Comm_set_errhandler(wdup, MPI_Errhandler_f2c(f_errh)));
	OK(MPI_Comm_set_errhandler(wdup, MPI_ERRORS_ARE_FATAL));
	char val[8] = "";
	int flag = 0;
	OK(MPI_Info_get(MPI_Info_f2c(f_info), "cov_interop", sizeof val - 1, val, &flag));
	CHECK(flag && val[0] == 'y');
	OK(MPI_Info_get(env_info, "cov_interop_env", sizeof val - 1, val, &flag));
	CHECK(flag && strcmp(val, "kept") == 0);
}

/* MPI_T: nested initialization, counts, an unknown name, a performance variable session, and
 * no answer once finalized. */
static void tools(void)
{
	int provided = -1, n = -1, idx = -1;
	OK(MPI_T_init_thread(MPI_THREAD_SINGLE, &provided));
	OK(MPI_T_init_thread(MPI_THREAD_SINGLE, &provided));
	CHECK(provided >= MPI_THREAD_SINGLE);
	OK(MPI_T_cvar_get_num(&n));
	CHECK(n >= 0);
	OK(MPI_T_pvar_get_num(&n));
	CHECK(n >= 0);
	OK(MPI_T_category_get_num(&n));
	CHECK(n >= 0);
	OK(MPI_T_category_changed(&n));
	CHECK(MPI_T_cvar_get_index("splitckpt_no_such_variable", &idx) == MPI_T_ERR_INVALID_NAME);
	CHECK(MPI_T_category_get_index("splitckpt_no_such_category", &idx) ==
	      MPI_T_ERR_INVALID_NAME);
	MPI_T_pvar_session ps = MPI_T_PVAR_SESSION_NULL;
	OK(MPI_T_pvar_session_create(&ps));
	CHECK(ps != MPI_T_PVAR_SESSION_NULL);
	OK(MPI_T_pvar_session_free(&ps));
	CHECK(ps == MPI_T_PVAR_SESSION_NULL);
	OK(MPI_T_finalize());
	OK(MPI_T_cvar_get_num(&n)); /* still initialized once */
	OK(MPI_T_finalize());
	CHECK(MPI_T_cvar_get_num(&n) == MPI_T_ERR_NOT_INITIALIZED);
}

int main(int argc, char **argv)
{
	/* before MPI_Init, as MPI 4.0 allows: a key set on it lives the whole run */
	OK(MPI_Info_create_env(argc, argv, &env_info));
	OK(MPI_Info_set(env_info, "cov_interop_env", "kept"));
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	CHECK(size >= 2);
	int steps = cov_steps(argc, argv);
	char path[256];
	long id = getpid(); /* rank 0's names the job's file */
	OK(MPI_Bcast(&id, 1, MPI_LONG, 0, MPI_COMM_WORLD));
	snprintf(path, sizeof path, "%s/sc-cov-interop-%ld",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", id);
	setup(path);
	tools();
	for (int step = 1; step <= steps; step++) {
		round_of(step);
		cov_step_done(step, steps);
	}
	OK(MPI_File_close(&file));
	if (rank == 0)
		MPI_File_delete(path, MPI_INFO_NULL);
	OK(MPI_Win_free(&win));
	OK(MPI_Errhandler_free(&errh));
	OK(MPI_Info_free(&info));
	OK(MPI_Info_free(&env_info));
	OK(MPI_Op_free(&op));
	OK(MPI_Type_free(&pair));
	OK(MPI_Group_free(&group));
	OK(MPI_Comm_free(&wdup));
	cov_finish("cov_interop");
	MPI_Finalize();
	return 0;
}
