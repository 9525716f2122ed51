/* Virtual MPI handles (see vhandle.h): the predefined table and its reverse map, objects with
 * creation records kept in creation order for replay, and requests, which are created and freed
 * on every nonblocking call and so come from per-thread free lists of slab-allocated objects
 * that a checkpoint can still enumerate. */
#define _GNU_SOURCE
#include "vhandle.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpi_crossing.h" /* sc_cut_free */

uint64_t sc_vh_predef[SC_VH_PREDEF_MAX];
extern const uint8_t sc_vh_predef_kind[SC_VH_PREDEF_MAX]; /* SC_VK_* + 1, 0: none (generated) */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sc_vobj *first, *last; /* creation order */
static struct sc_vobj *sets;	     /* setter records, call order (newest last) */

/* ---- reverse map: (kind, lower) -> application handle ------------------------------------- */

#define PREDEF_HASH 2048 /* open addressing; ~110 predefined handles */
#define OBJ_HASH 4096	 /* chained, live objects only */
struct predef_rev {
	uint64_t lower;
	uint16_t abi;  /* 0: empty */
	uint16_t kind; /* SC_VK_* */
};
static struct predef_rev prev_tab[PREDEF_HASH];
static struct sc_vobj *obj_hash[OBJ_HASH];

static inline uint32_t hash(uint32_t kind, uint64_t lower)
{
	uint64_t x = (lower ^ ((uint64_t)kind << 56)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(x >> 40);
}

void sc_vh_load_predef(void (*fill)(uint64_t *lower, uint32_t n))
{
	memset(sc_vh_predef, 0, sizeof sc_vh_predef);
	fill(sc_vh_predef, SC_VH_PREDEF_MAX);
	memset(prev_tab, 0, sizeof prev_tab);
	/* The NULL handles go first: where an implementation lacks a type it often defines it as
	 * its NULL, and the reverse of that value must be the NULL. */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t v = 1; v < SC_VH_PREDEF_MAX; v++) {
			uint32_t k = sc_vh_predef_kind[v];
			if (!k || !sc_vh_predef[v] || (pass == 0) != (sc_vk_null[k - 1] == v))
				continue;
			uint32_t i = hash(k - 1, sc_vh_predef[v]) % PREDEF_HASH;
			while (prev_tab[i].abi &&
			       !(prev_tab[i].kind == k - 1 && prev_tab[i].lower == sc_vh_predef[v]))
				i = (i + 1) % PREDEF_HASH;
			if (!prev_tab[i].abi)
				prev_tab[i] = (struct predef_rev){sc_vh_predef[v], (uint16_t)v,
								  (uint16_t)(k - 1)};
		}
}

static void hash_insert(struct sc_vobj *o)
{
	uint32_t i = hash(o->kind, o->lower) % OBJ_HASH;
	o->hnext = obj_hash[i];
	obj_hash[i] = o;
}

static void hash_remove(struct sc_vobj *o)
{
	for (struct sc_vobj **p = &obj_hash[hash(o->kind, o->lower) % OBJ_HASH]; *p;
	     p = &(*p)->hnext)
		if (*p == o) {
			*p = o->hnext;
			return;
		}
}

static uint64_t predef_abi(uint32_t kind, uint64_t lower) /* 0: not predefined */
{
	for (uint32_t i = hash(kind, lower) % PREDEF_HASH; prev_tab[i].abi;
	     i = (i + 1) % PREDEF_HASH)
		if (prev_tab[i].kind == kind && prev_tab[i].lower == lower)
			return prev_tab[i].abi;
	return 0;
}

/* The newest object for (kind, lower): a new object is inserted before any freed one whose
 * lower value the implementation reused. With live_only, a freed object does not count. */
static uint64_t from_lower(uint32_t kind, uint64_t lower, int live_only)
{
	uint64_t abi = predef_abi(kind, lower);
	if (abi)
		return abi;
	uint64_t h = kind < SC_VK_COUNT ? sc_vk_null[kind] : 0;
	pthread_mutex_lock(&lock);
	for (struct sc_vobj *o = obj_hash[hash(kind, lower) % OBJ_HASH]; o; o = o->hnext)
		if (o->kind == kind && o->lower == lower) {
			if (!live_only || (o->flags & SC_VOBJ_LIVE))
				h = (uint64_t)(uintptr_t)o;
			break;
		}
	pthread_mutex_unlock(&lock);
	return h;
}

/* Callbacks also name objects the application freed but the implementation keeps alive (MPICH
 * destroys a datatype, and calls its attribute delete functions, when the last type built from
 * it is freed): the handle the application had. */
uint64_t sc_vh_from_lower(uint32_t kind, uint64_t lower)
{
	return from_lower(kind, lower, 0);
}

/* ---- objects ----------------------------------------------------------------------------- */

static struct sc_vobj *as_obj(uint64_t h)
{
	return h >= SC_VH_PREDEF_MAX ? (struct sc_vobj *)(uintptr_t)h : NULL;
}

static void unref_locked(struct sc_vobj *o);

/* A copy of a handle array: its length, then the application's handles. */
struct handles {
	long n;
	uint64_t h[];
};

/* Takes (+1) or drops (-1) a reference on each object a copied handle array names. */
static void ref_handles_locked(uint64_t copy, int delta)
{
	const struct handles *c = (const struct handles *)(uintptr_t)copy;
	for (long i = 0; c && i < c->n; i++) {
		struct sc_vobj *p = as_obj(c->h[i]);
		if (p && delta > 0)
			p->refs++;
		else if (p)
			unref_locked(p);
	}
}

/* Frees a record's copies and drops the references it holds. */
static void release_record(struct sc_vobj *o)
{
	for (int i = 0; i < o->nargs; i++) {
		if (o->refmask & (1u << i))
			unref_locked(as_obj(o->args[i]));
		if (o->harrmask & (1u << i))
			ref_handles_locked(o->args[i], -1);
		/* no copy lives below SC_VH_PREDEF_MAX: a value there is a sentinel kept as is */
		if (((o->ownmask | o->harrmask) & (1u << i)) && o->args[i] >= SC_VH_PREDEF_MAX)
			free((void *)(uintptr_t)o->args[i]);
	}
}

/* Takes the references a new record holds. */
static void ref_record_locked(struct sc_vobj *o)
{
	for (int i = 0; i < o->nargs; i++) {
		struct sc_vobj *p = (o->refmask & (1u << i)) ? as_obj(o->args[i]) : NULL;
		if (p)
			p->refs++;
		if (o->harrmask & (1u << i))
			ref_handles_locked(o->args[i], +1);
	}
}

/* Removes the setter records of target (every one, or only those of function fn). */
static void drop_sets_locked(uint64_t target, int fn)
{
	for (struct sc_vobj **p = &sets; *p;) {
		struct sc_vobj *r = *p;
		if (r->args[0] == target && (fn < 0 || r->fn == fn)) {
			*p = r->next;
			release_record(r);
			free(r);
		} else {
			p = &r->next;
		}
	}
}

/* Drops one reference; an object nobody names any more leaves the replay list, and so may the
 * parents its record kept alive (recursion depth = length of a chain of creations). */
static void unref_locked(struct sc_vobj *o)
{
	if (!o || --o->refs)
		return;
	drop_sets_locked((uint64_t)(uintptr_t)o, -1);
	hash_remove(o);
	if (o->prev)
		o->prev->next = o->next;
	else
		first = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		last = o->prev;
	release_record(o);
	sc_cut_free(o->cut);
	if (o->fint)
		sc_vh_fint_forget(o);
	free(o);
}

static void oom(void)
{
	static const char m[] = "splitckpt: out of memory for an MPI handle\n";
	(void)!write(2, m, sizeof m - 1);
	abort();
}

uint64_t sc_vh_copy(const void *p, long n)
{
	if (!p || n <= 0)
		return 0;
	void *c = malloc((size_t)n);
	if (!c)
		oom();
	memcpy(c, p, (size_t)n);
	return (uint64_t)(uintptr_t)c;
}

uint64_t sc_vh_copy_weights(const int *w, long n)
{
	/* MPI_UNWEIGHTED, MPI_WEIGHTS_EMPTY: (int *)10, 11 */
	if ((uintptr_t)w < SC_VH_PREDEF_MAX)
		return (uint64_t)(uintptr_t)w;
	return sc_vh_copy(w, n * (long)sizeof *w);
}

uint64_t sc_vh_copy_handles(void *const *h, long n)
{
	if (!h || n <= 0)
		return 0;
	struct handles *c = malloc(sizeof *c + (size_t)n * sizeof c->h[0]);
	if (!c)
		oom();
	c->n = n;
	for (long i = 0; i < n; i++)
		c->h[i] = (uint64_t)(uintptr_t)h[i];
	return (uint64_t)(uintptr_t)c;
}

uint64_t *sc_vh_lower_handles(uint64_t copy, long *n)
{
	const struct handles *c = (const struct handles *)(uintptr_t)copy;
	*n = c ? c->n : 0;
	if (!c)
		return NULL;
	uint64_t *l = malloc((size_t)c->n * sizeof *l);
	if (!l)
		oom();
	for (long i = 0; i < c->n; i++)
		l[i] = sc_vh_lower((const void *)(uintptr_t)c->h[i]);
	return l;
}

/* A record's masks from a refmask (bits 0-15 handles kept alive, 16-31 copies owned, 32-47
 * copied handle arrays owned). */
static void set_masks(struct sc_vobj *o, uint64_t refmask)
{
	o->refmask = (uint16_t)refmask;
	o->ownmask = (uint16_t)(refmask >> 16);
	o->harrmask = (uint16_t)(refmask >> 32);
}

/* Frees the copies of a record that no object keeps (MPI handed back no object to hold it). */
static void free_copies(int nargs, const uint64_t *args, uint64_t refmask)
{
	for (int i = 0; i < nargs && i < SC_VH_MAX_ARGS; i++)
		if ((refmask & ((1ull << (16 + i)) | (1ull << (32 + i)))) &&
		    args[i] >= SC_VH_PREDEF_MAX)
			free((void *)(uintptr_t)args[i]);
}

void *sc_vh_new(uint32_t kind, uint64_t lower, uint16_t fn, int nargs, const uint64_t *args,
		uint64_t refmask)
{
	/* A call may hand back a predefined object (MPI_Mprobe: MPI_MESSAGE_NO_PROC; an error
	 * handler getter: MPI_ERRORS_RETURN): the application must see the ABI constant. */
	uint64_t abi =
	    lower == sc_vh_predef[sc_vk_null[kind]] ? sc_vk_null[kind] : predef_abi(kind, lower);
	if (abi) {
		free_copies(nargs, args, refmask);
		return (void *)(uintptr_t)abi;
	}
	struct sc_vobj *o = calloc(1, sizeof *o);
	if (!o)
		oom();
	o->lower = lower;
	o->kind = kind;
	o->flags = SC_VOBJ_LIVE;
	o->fn = fn;
	o->nargs = (uint8_t)(nargs > SC_VH_MAX_ARGS ? SC_VH_MAX_ARGS : nargs);
	set_masks(o, refmask);
	o->refs = 1;
	for (int i = 0; i < o->nargs; i++)
		o->args[i] = args[i];
	pthread_mutex_lock(&lock);
	ref_record_locked(o);
	o->prev = last;
	if (last)
		last->next = o;
	else
		first = o;
	last = o;
	hash_insert(o);
	pthread_mutex_unlock(&lock);
	return o;
}

/* Whether the application already holds a handle (*h) for lower: a live object's, a predefined
 * one, or the kind's NULL for the implementation's. */
static int held(uint32_t kind, uint64_t lower, uint64_t *h)
{
	*h = from_lower(kind, lower, 1);
	return *h != sc_vk_null[kind] || lower == sc_vh_predef[sc_vk_null[kind]];
}

void *sc_vh_cached(uint32_t kind, uint64_t lower, uint16_t fn, int nargs, const uint64_t *args,
		   uint64_t refmask)
{
	uint64_t h;
	if (held(kind, lower, &h)) {
		free_copies(nargs, args, refmask); /* the first call's record stays */
		return (void *)(uintptr_t)h;
	}
	return sc_vh_new(kind, lower, fn, nargs, args, refmask);
}

void *sc_vh_existing(uint32_t kind, uint64_t lower, uint16_t fn)
{
	uint64_t h;
	if (held(kind, lower, &h)) {
		/* The implementation counted one more reference (MPICH hands back the same handle
		 * from MPI_Type_get_contents): so does the object, the application frees both. */
		struct sc_vobj *o = as_obj(h);
		if (o) {
			pthread_mutex_lock(&lock);
			o->refs++;
			o->extra_handles++;
			pthread_mutex_unlock(&lock);
		}
		return (void *)(uintptr_t)h;
	}
	return sc_vh_new(kind, lower, fn, 0, NULL, 0);
}

void sc_vh_set_lower(void *h, uint64_t lower)
{
	struct sc_vobj *o = as_obj((uint64_t)(uintptr_t)h);
	if (!o || o->lower == lower)
		return;
	pthread_mutex_lock(&lock);
	hash_remove(o);
	o->lower = lower;
	hash_insert(o);
	pthread_mutex_unlock(&lock);
}

void sc_vh_free(uint32_t kind, void *h)
{
	(void)kind;
	struct sc_vobj *o = as_obj((uint64_t)(uintptr_t)h);
	if (!o)
		return;
	pthread_mutex_lock(&lock);
	/* Stays in the reverse map while a record keeps it (unref_locked takes it out): the
	 * implementation may reuse the lower value at once, but a new object shadows it. While
	 * the application holds another handle of it, it stays live. */
	if (o->extra_handles)
		o->extra_handles--;
	else
		o->flags = (o->flags & ~SC_VOBJ_LIVE) | SC_VOBJ_FREED;
	unref_locked(o);
	pthread_mutex_unlock(&lock);
}

struct sc_vobj *sc_vh_first(void)
{
	return first;
}

/* A setter's record at the end of the list (after the other records of fn on the same
 * target when `replace`). */
static void record_append(uint16_t fn, int nargs, const uint64_t *args, uint64_t refmask,
			  int replace)
{
	struct sc_vobj *r = calloc(1, sizeof *r);
	if (!r)
		oom();
	r->kind = SC_VK_COUNT; /* not an object */
	r->fn = fn;
	r->nargs = (uint8_t)(nargs > SC_VH_MAX_ARGS ? SC_VH_MAX_ARGS : nargs);
	set_masks(r, refmask);
	for (int i = 0; i < r->nargs; i++)
		r->args[i] = args[i];
	pthread_mutex_lock(&lock);
	if (replace)
		drop_sets_locked(r->args[0], fn);
	ref_record_locked(r);
	struct sc_vobj **tail = &sets;
	while (*tail)
		tail = &(*tail)->next;
	*tail = r;
	pthread_mutex_unlock(&lock);
}

void sc_vh_record_set(uint16_t fn, int nargs, const uint64_t *args, uint64_t refmask)
{
	record_append(fn, nargs, args, refmask, 1); /* only the last value counts */
}

void sc_vh_record_add(uint16_t fn, int nargs, const uint64_t *args, uint64_t refmask)
{
	record_append(fn, nargs, args, refmask, 0);
}

void sc_vh_record_drop(uint16_t fn, uint64_t target, uint64_t arg1)
{
	pthread_mutex_lock(&lock);
	for (struct sc_vobj **p = &sets; *p; p = &(*p)->next) {
		struct sc_vobj *r = *p;
		if (r->fn == fn && r->args[0] == target && r->nargs > 1 && r->args[1] == arg1) {
			*p = r->next;
			release_record(r);
			free(r);
			break;
		}
	}
	pthread_mutex_unlock(&lock);
}

int sc_vh_set_arg(uint16_t fn, uint64_t target, int i, uint64_t *arg)
{
	int found = 0;
	pthread_mutex_lock(&lock);
	for (const struct sc_vobj *r = sets; r; r = r->next)
		if (r->fn == fn && r->args[0] == target && i < r->nargs) {
			*arg = r->args[i];
			found = 1;
		}
	pthread_mutex_unlock(&lock);
	return found;
}

struct sc_vobj *sc_vh_sets_first(void)
{
	return sets;
}

void sc_vh_foreach(uint32_t kind, void (*fn)(struct sc_vobj *o, void *arg), void *arg)
{
	pthread_mutex_lock(&lock);
	for (struct sc_vobj *o = first; o; o = o->next)
		if (o->kind == kind && (o->flags & SC_VOBJ_LIVE))
			fn(o, arg);
	pthread_mutex_unlock(&lock);
}

/* ---- requests ---------------------------------------------------------------------------- */

#define SLAB_OBJS 64
struct slab {
	struct slab *next;
	struct sc_vobj objs[SLAB_OBJS];
};
static struct slab *slabs; /* every slab ever allocated: a checkpoint scans them */
static __thread struct sc_vobj *req_free __attribute__((tls_model("initial-exec")));

static void refill(void)
{
	/* Inside an MPI call of the application thread: its errno is the application's, and
	 * malloc changes it when growing the heap (the upper half's brk always fails, so glibc
	 * sets ENOMEM before falling back to mmap). */
	int saved_errno = errno;
	struct slab *s = calloc(1, sizeof *s);
	errno = saved_errno;
	if (!s) {
		static const char m[] = "splitckpt: out of memory for MPI requests\n";
		(void)!write(2, m, sizeof m - 1);
		abort();
	}
	for (int i = 0; i < SLAB_OBJS; i++) {
		s->objs[i].kind = SC_VK_REQUEST;
		s->objs[i].next = i + 1 < SLAB_OBJS ? &s->objs[i + 1] : NULL;
	}
	pthread_mutex_lock(&lock);
	s->next = slabs;
	slabs = s;
	pthread_mutex_unlock(&lock);
	req_free = &s->objs[0];
}

void *sc_vh_req_new(uint64_t lower, uint16_t fn, int nargs, const uint64_t *args)
{
	if (lower == sc_vh_predef[sc_vk_null[SC_VK_REQUEST]])
		return (void *)(uintptr_t)sc_vk_null[SC_VK_REQUEST];
	if (__builtin_expect(!req_free, 0))
		refill();
	struct sc_vobj *o = req_free;
	req_free = o->next;
	o->lower = lower;
	o->fn = fn;
	o->nargs = (uint8_t)nargs;
	for (int i = 0; i < nargs && i < SC_VH_MAX_ARGS; i++)
		o->args[i] = args[i];
	__atomic_store_n(&o->flags, SC_VOBJ_LIVE, __ATOMIC_RELEASE);
	return o;
}

void *sc_vh_req_new_kept(uint64_t lower, uint16_t fn, int nargs, const uint64_t *args,
			 uint64_t refmask)
{
	static uint64_t next_seq;
	struct sc_vobj *o = as_obj((uint64_t)(uintptr_t)sc_vh_req_new(lower, fn, nargs, args));
	if (!o) {
		free_copies(nargs, args, refmask);
		return (void *)(uintptr_t)sc_vk_null[SC_VK_REQUEST];
	}
	set_masks(o, refmask);
	pthread_mutex_lock(&lock);
	ref_record_locked(o);
	o->seq = ++next_seq;
	o->flags |= SC_VOBJ_KEPT;
	pthread_mutex_unlock(&lock);
	return o;
}

static inline void req_release(struct sc_vobj *o)
{
	if (__builtin_expect(o->flags & SC_VOBJ_SYNC, 0))
		sc_mpi_sync_forget(o);
	if (__builtin_expect(o->flags & SC_VOBJ_KEPT, 0)) {
		pthread_mutex_lock(&lock);
		release_record(o);
		pthread_mutex_unlock(&lock);
		set_masks(o, 0);
	}
	if (__builtin_expect(o->fint != 0, 0))
		sc_vh_fint_forget(o);
	if (__builtin_expect(o->fn == SC_FN_MPI_Grequest_start, 0))
		sc_mpi_greq_gone(); /* it held checkpoints back (cut.c) */
	__atomic_store_n(&o->flags, 0, __ATOMIC_RELEASE);
	o->next = req_free; /* onto this thread's list, whoever allocated it */
	req_free = o;
}

void sc_vh_req_drop(void *h)
{
	struct sc_vobj *o = as_obj((uint64_t)(uintptr_t)h);
	if (o)
		req_release(o);
}

void sc_vh_req_update(void **slot, uint64_t lower)
{
	struct sc_vobj *o = as_obj((uint64_t)(uintptr_t)*slot);
	if (!o)
		return;
	if (lower == sc_vh_predef[sc_vk_null[SC_VK_REQUEST]] && (o->flags & SC_VOBJ_PARKED)) {
		if (sc_mpi_answer_inactive(o) != 0) {
			o->lower = o->parked; /* the answer is consumed: inactive again */
			o->flags &= ~(uint32_t)SC_VOBJ_PARKED;
		}
	} else if (lower == sc_vh_predef[sc_vk_null[SC_VK_REQUEST]]) {
		req_release(o);
		*slot = (void *)(uintptr_t)sc_vk_null[SC_VK_REQUEST];
	} else {
		o->lower = lower; /* a persistent request stays, possibly renamed */
	}
}

void sc_vh_req_arr_update(void **arr, const uint64_t *lower, int n)
{
	for (int i = 0; i < n; i++)
		sc_vh_req_update(&arr[i], lower[i]);
}

void sc_vh_req_foreach(void (*fn)(struct sc_vobj *o, void *arg), void *arg)
{
	pthread_mutex_lock(&lock);
	for (struct slab *s = slabs; s; s = s->next)
		for (int i = 0; i < SLAB_OBJS; i++)
			if (__atomic_load_n(&s->objs[i].flags, __ATOMIC_ACQUIRE) & SC_VOBJ_LIVE)
				fn(&s->objs[i], arg);
	pthread_mutex_unlock(&lock);
}

/* ---- arrays -------------------------------------------------------------------------------- */

uint64_t *sc_vh_arr_lower(uint64_t *small, int nsmall, void *const *h, int n)
{
	uint64_t *p = small;
	if (n > nsmall && !(p = malloc((size_t)n * sizeof *p)))
		return NULL;
	for (int i = 0; i < n; i++)
		p[i] = sc_vh_lower(h[i]);
	return p;
}

uint64_t *sc_vh_arr_tmp(uint64_t *small, int nsmall, int n)
{
	return n > nsmall ? malloc((size_t)n * sizeof *small) : small;
}

void sc_vh_arr_done(uint64_t *small, uint64_t *p)
{
	if (p != small)
		free(p);
}
