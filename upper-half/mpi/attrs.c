/* User keyvals and the attributes set with them, across a restart. A keyval is a plain int that
 * MPI chooses, not a handle: the application keeps the value MPI gave it, and after a restart
 * (which makes every keyval again, with new values) each keyval argument is translated. At a
 * checkpoint every attribute of a user keyval on a live communicator, datatype or window is
 * read from MPI into upper-half memory; a restart sets them again after every object is
 * rebuilt, so no copy or delete callback of the application runs during the restart. */
#define _GNU_SOURCE
#include <mpi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../mpi_crossing.h"

struct keyval {
	struct keyval *next; /* creation order */
	int kind;	     /* SC_KV_* */
	int app, lower;	     /* the value the application holds, the current MPI's */
	int freed;	     /* freed by the application (MPI keeps it while attributes use it) */
	void *copy_fn, *delete_fn, *extra;
};

struct attr {
	int kind;
	const void *obj; /* the application's handle */
	int app_keyval;
	void *value;
};

static struct keyval *keyvals, **keyvals_tail = &keyvals;
static pthread_mutex_t kv_lock = PTHREAD_MUTEX_INITIALIZER;
static struct attr *attrs; /* the last checkpoint's attributes */
static size_t nattrs, capattrs;
int sc_mpi_keyvals_moved; /* a restart made the keyvals again: translate */

/* After entries left the list: the tail pointer must not point into a freed one. */
static void find_tail(void)
{
	keyvals_tail = &keyvals;
	while (*keyvals_tail)
		keyvals_tail = &(*keyvals_tail)->next;
}

static struct keyval *find_app(int kind, int app)
{
	for (struct keyval *k = keyvals; k; k = k->next)
		if (k->kind == kind && k->app == app)
			return k;
	return NULL;
}

int sc_mpi_keyval_lookup(int kind, int app)
{
	pthread_mutex_lock(&kv_lock);
	const struct keyval *k = find_app(kind, app);
	int lower = k ? k->lower : app; /* predefined keyvals cross as they are */
	pthread_mutex_unlock(&kv_lock);
	return lower;
}

/* What MPI calls for a user keyval: the application's copy and delete functions, with the
 * keyval value the application holds (a restart makes keyvals again, with new values) and its
 * extra_state; MPI gets the keyval's record as extra_state. MPI's own functions (the ABI's
 * MPI_X_NULL_COPY_FN 0, MPI_X_DUP_FN 1, MPI_X_NULL_DELETE_FN 0) cross as they are. The object
 * handle arrives translated by the lower half's trampoline. */
typedef int copy_fn_t(void *old, int keyval, void *extra, void *in, void *out, int *flag);
typedef int delete_fn_t(void *obj, int keyval, void *val, void *extra);

static int copy_tramp(void *old, int keyval, void *extra, void *in, void *out, int *flag)
{
	const struct keyval *k = extra;
	(void)keyval;
	return ((copy_fn_t *)k->copy_fn)(old, k->app, k->extra, in, out, flag);
}

static int delete_tramp(void *obj, int keyval, void *val, void *extra)
{
	const struct keyval *k = extra;
	(void)keyval;
	return ((delete_fn_t *)k->delete_fn)(obj, k->app, val, k->extra);
}

void *sc_mpi_keyval_copy_fn(const void *kv)
{
	const struct keyval *k = kv;
	return (uintptr_t)k->copy_fn <= 1 ? k->copy_fn : (void *)copy_tramp;
}

void *sc_mpi_keyval_delete_fn(const void *kv)
{
	const struct keyval *k = kv;
	return !k->delete_fn ? NULL : (void *)delete_tramp;
}

void *sc_mpi_keyval_begin(int kind, void *copy_fn, void *delete_fn, void *extra)
{
	struct keyval *k = calloc(1, sizeof *k);
	if (!k) {
		static const char m[] = "splitckpt: out of memory for an MPI keyval\n";
		(void)!write(2, m, sizeof m - 1);
		abort();
	}
	*k = (struct keyval){
	    .kind = kind, .copy_fn = copy_fn, .delete_fn = delete_fn, .extra = extra};
	return k;
}

void sc_mpi_keyval_abort(void *kv)
{
	free(kv);
}

void sc_mpi_keyval_created(void *kv, int *keyval)
{
	struct keyval *k = kv;
	k->app = k->lower = *keyval;
	pthread_mutex_lock(&kv_lock);
	/* MPI reuses a value once a freed keyval is released (its last attribute gone): that
	 * keyval is no more. */
	for (struct keyval **p = &keyvals; *p;) {
		struct keyval *old = *p;
		if (old->kind == k->kind && old->freed && old->lower == k->lower) {
			*p = old->next;
			free(old);
		} else {
			p = &old->next;
		}
	}
	find_tail();
	/* After a restart the new MPI may hand out a value the application already holds for
	 * another keyval: this one then gets a value of its own. */
	for (int v = 0x7ffffff0; find_app(k->kind, k->app); v--)
		k->app = v;
	*keyval = k->app;
	*keyvals_tail = k;
	keyvals_tail = &k->next;
	pthread_mutex_unlock(&kv_lock);
}

void sc_mpi_keyval_freed(int kind, int app)
{
	pthread_mutex_lock(&kv_lock);
	struct keyval *k = find_app(kind, app);
	if (k)
		k->freed = 1;
	pthread_mutex_unlock(&kv_lock);
}

/* ---- the checkpoint ------------------------------------------------------------------------- */

struct snap {
	const struct sc_mpi_table *tab;
	const struct keyval *kv;
	int rc;
};

static int get_attr(const struct sc_mpi_table *tab, int kind, uint64_t obj, int kv, void **val,
		    int *flag)
{
	int rc;
	if (kind == SC_KV_COMM)
		SC_MPI_CALL(rc = tab->Comm_get_attr(obj, kv, val, flag));
	else if (kind == SC_KV_TYPE)
		SC_MPI_CALL(rc = tab->Type_get_attr(obj, kv, val, flag));
	else
		SC_MPI_CALL(rc = tab->Win_get_attr(obj, kv, val, flag));
	return rc;
}

static void snap_one(struct snap *s, const void *obj)
{
	void *val = NULL;
	int flag = 0;
	if (s->rc)
		return;
	/* A keyval the application freed: MPICH still answers for the attributes that use it,
	 * Open MPI 4.1 calls the object's error handler (fatal by default), so they are not kept
	 * there. */
	if (s->kv->freed && strncmp(s->tab->svc.impl, "Open MPI", 8) == 0)
		return;
	s->rc = get_attr(s->tab, s->kv->kind, sc_vh_lower(obj), s->kv->lower, &val, &flag);
	if (s->rc || !flag)
		return;
	if (nattrs == capattrs) {
		size_t cap = capattrs * 2 + 16;
		struct attr *n = realloc(attrs, cap * sizeof *n);
		if (!n) {
			s->rc = SC_ABI_ERR_NO_MEM;
			return;
		}
		attrs = n;
		capattrs = cap;
	}
	attrs[nattrs++] = (struct attr){s->kv->kind, obj, s->kv->app, val};
}

static void snap_obj(struct sc_vobj *o, void *arg)
{
	snap_one(arg, o);
}

static const uint32_t vkind[] = {
    [SC_KV_COMM] = SC_VK_COMM, [SC_KV_TYPE] = SC_VK_DATATYPE, [SC_KV_WIN] = SC_VK_WIN};

int sc_mpi_attrs_save(char *err, size_t errlen)
{
	struct snap s = {.tab = sc_cut_table()};
	nattrs = 0;
	pthread_mutex_lock(&kv_lock);
	for (const struct keyval *k = keyvals; k && !s.rc; k = k->next) {
		s.kv = k;
		if (k->kind == SC_KV_COMM) {
			snap_one(&s, MPI_COMM_WORLD);
			snap_one(&s, MPI_COMM_SELF);
		}
		sc_vh_foreach(vkind[k->kind], snap_obj, &s);
	}
	pthread_mutex_unlock(&kv_lock);
	if (s.rc)
		snprintf(err, errlen,
			 "reading the attributes of the MPI objects failed (MPI error %d)", s.rc);
	return s.rc ? -1 : 0;
}

/* ---- the restart ---------------------------------------------------------------------------- */

static int used_by_attrs(const struct keyval *k)
{
	for (size_t i = 0; i < nattrs; i++)
		if (attrs[i].kind == k->kind && attrs[i].app_keyval == k->app)
			return 1;
	return 0;
}

static int create_keyval(const struct sc_mpi_table *tab, struct keyval *k)
{
	int rc;
	if (k->kind == SC_KV_COMM)
		SC_MPI_CALL(rc = tab->Comm_create_keyval(sc_mpi_keyval_copy_fn(k),
							 sc_mpi_keyval_delete_fn(k), &k->lower, k));
	else if (k->kind == SC_KV_TYPE)
		SC_MPI_CALL(rc = tab->Type_create_keyval(sc_mpi_keyval_copy_fn(k),
							 sc_mpi_keyval_delete_fn(k), &k->lower, k));
	else
		SC_MPI_CALL(rc = tab->Win_create_keyval(sc_mpi_keyval_copy_fn(k),
							sc_mpi_keyval_delete_fn(k), &k->lower, k));
	return rc;
}

static int set_attr(const struct sc_mpi_table *tab, const struct attr *a, int kv)
{
	uint64_t obj = sc_vh_lower(a->obj);
	int rc;
	if (a->kind == SC_KV_COMM)
		SC_MPI_CALL(rc = tab->Comm_set_attr(obj, kv, a->value));
	else if (a->kind == SC_KV_TYPE)
		SC_MPI_CALL(rc = tab->Type_set_attr(obj, kv, a->value));
	else
		SC_MPI_CALL(rc = tab->Win_set_attr(obj, kv, a->value));
	return rc;
}

static int free_keyval(const struct sc_mpi_table *tab, struct keyval *k)
{
	int rc, kv = k->lower;
	if (k->kind == SC_KV_COMM)
		SC_MPI_CALL(rc = tab->Comm_free_keyval(&kv));
	else if (k->kind == SC_KV_TYPE)
		SC_MPI_CALL(rc = tab->Type_free_keyval(&kv));
	else
		SC_MPI_CALL(rc = tab->Win_free_keyval(&kv));
	return rc;
}

int sc_mpi_attrs_restore(char *err, size_t errlen)
{
	const struct sc_mpi_table *tab = sc_cut_table();
	int rc = 0;
	const char *what = "making a keyval again";
	pthread_mutex_lock(&kv_lock);
	/* Keyvals: the live ones, and freed ones that attributes still use (freed again below). */
	for (struct keyval **p = &keyvals; *p && !rc;) {
		struct keyval *k = *p;
		if (k->freed && !used_by_attrs(k)) {
			*p = k->next;
			free(k);
			continue;
		}
		rc = create_keyval(tab, k);
		p = &k->next;
	}
	find_tail();
	sc_mpi_keyvals_moved = 1;
	for (size_t i = 0; i < nattrs && !rc; i++) {
		const struct keyval *k = find_app(attrs[i].kind, attrs[i].app_keyval);
		what = "setting an attribute again";
		rc = k ? set_attr(tab, &attrs[i], k->lower) : SC_ABI_ERR_INTERN;
	}
	for (struct keyval *k = keyvals; k && !rc; k = k->next) {
		what = "freeing a keyval again";
		if (k->freed)
			rc = free_keyval(tab, k);
	}
	pthread_mutex_unlock(&kv_lock);
	if (rc)
		snprintf(err, errlen, "%s failed (MPI error %d)", what, rc);
	return rc ? -1 : 0;
}

/* The application may keep the pointer MPI_Comm_get_attr gave it for MPI_TAG_UB and read it
 * after a restart, when the lower half it pointed into is gone: it points to a copy here (one
 * slot per keyval, written again by every call; the values of a new MPI replace it only then). */
void sc_mpi_comm_attr(int keyval, void *attribute_val, const int *flag)
{
	static const int predefined[] = {MPI_TAG_UB,	      MPI_IO,	  MPI_HOST,
					 MPI_WTIME_IS_GLOBAL, MPI_APPNUM, MPI_LASTUSEDCODE,
					 MPI_UNIVERSE_SIZE};
	static int copies[sizeof predefined / sizeof *predefined];
	if (!*flag)
		return;
	for (size_t i = 0; i < sizeof predefined / sizeof *predefined; i++)
		if (keyval == predefined[i]) {
			int **value = attribute_val;
			copies[i] = **value;
			*value = &copies[i];
		}
}
