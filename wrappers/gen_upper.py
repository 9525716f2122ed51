"""The upper half's side of the MPI crossing, generated from the list (gen.py upper): for every
function PMPI_X and a weak MPI_X in libsplitckpt_mpi.so that translate virtual handles, switch
the FS base and call the lower half's table (design: wrappers/README.md)."""

from mpilist import CONSTS, GENERATED, INT_OUT_KINDS, SMALL, ListError, len_expr


def upper_record(f):
    """Arguments kept in a created object's creation record (replayed at restart)."""
    args, refs = [], []
    for p in f.crossing:
        if p.kind in ("handle_out", "request_array_complete", "status_out", "status_array_out",
                      "status_inout", "string_out", "handle_array_out", "enum_out",
                      "rank_array_out") or \
                p.kind in INT_OUT_KINDS:
            continue
        if p.kind == "handle_in":
            refs.append(len(args))
            args.append(f"(uint64_t)(uintptr_t){p.name}")
        elif p.kind in ("value", "rank", "tag", "undefined", "thread_level", "errcode",
                        "enum_in", "bits_in"):
            args.append(f"(uint64_t)(int64_t){p.name}" if p.base != "double" else f"0")
        elif p.kind in ("buf", "ptr", "string_in", "callback", "handle_array_in",
                        "rank_array_in", "weights"):
            args.append(f"(uint64_t)(uintptr_t){p.name}")
    return args, refs


def upper_func(f):
    o = []
    ps = ", ".join(p.decl() for p in f.params) or "void"
    o.append(f"{f.ret} PMPI_{f.name[4:]}({ps})")
    o.append("{")
    for p in f.params:
        if p.kind == "ignored":
            o.append(f"\t(void){p.name};")
    o.append("\tconst struct sc_mpi_table *tab = sc_mpi_begin();")
    pre, post, args = [], [], []
    cleanup = []
    outs = [p for p in f.crossing if p.kind == "handle_out"]
    for p in f.crossing:
        n, k = p.name, p.kind
        if k == "handle_in":
            pre.append(f"\tuint64_t l_{n} = sc_vh_lower({n});")
            args.append(f"l_{n}")
        elif k == "handle_out":
            pre.append(f"\tuint64_t l_{n} = 0;")
            args.append(f"&l_{n}")
        elif k in ("handle_inout", "handle_free", "handle_complete"):
            pre.append(f"\tuint64_t l_{n} = sc_vh_lower(*{n});")
            args.append(f"&l_{n}")
            if k == "handle_inout":
                post.append(f"\tsc_vh_set_lower(*{n}, l_{n});")
            elif k == "handle_free":
                post.append(f"\tsc_vh_free(SC_VK_{p.hkind.upper()}, *{n});")
                post.append(f"\t*{n} = ({p.base})(uintptr_t)sc_vk_null[SC_VK_{p.hkind.upper()}];")
            else:
                cleanup.append(f"\tsc_vh_req_update((void **){n}, l_{n});")
        elif k == "handle_array_out":
            ln = len_expr(p, f, "upper")
            pre.append(f"\tuint64_t s_{n}[{SMALL}];")
            pre.append(f"\tint len_{n} = {ln};")
            pre.append(f"\tuint64_t *l_{n} = sc_vh_arr_tmp(s_{n}, {SMALL}, len_{n});")
            pre.append(f"\tif (!l_{n})")
            pre.append(f"\t\treturn sc_mpi_fail(SC_FN_{f.name}, SC_MPI_E_NOMEM);")
            args.append(f"l_{n}")
            post.append(f"\tfor (int i = 0; i < len_{n}; i++)")
            post.append(f"\t\t{n}[i] = ({p.base})sc_vh_existing(SC_VK_{p.hkind.upper()}, "
                        f"l_{n}[i], SC_FN_{f.name});")
            post.append(f"\tsc_vh_arr_done(s_{n}, l_{n});")
            cleanup.append(f"\tif (rc != 0)\n\t\tsc_vh_arr_done(s_{n}, l_{n});")
        elif k in ("handle_array_in", "request_array_complete"):
            ln = len_expr(p, f, "upper")
            pre.append(f"\tuint64_t s_{n}[{SMALL}];")
            pre.append(f"\tuint64_t *l_{n} = sc_vh_arr_lower(s_{n}, {SMALL}, "
                       f"(void *const *){n}, {ln});")
            pre.append(f"\tif (!l_{n})")
            pre.append(f"\t\treturn sc_mpi_fail(SC_FN_{f.name}, SC_MPI_E_NOMEM);")
            args.append(f"l_{n}")
            if k == "request_array_complete":
                # entries that completed are nulled even when the call reports an error
                cleanup.append(f"\tsc_vh_req_arr_update((void **){n}, l_{n}, {ln});")
            cleanup.append(f"\tsc_vh_arr_done(s_{n}, l_{n});")
        elif k in ("status_out", "status_array_out", "status_inout"):
            args.append(f"(struct sc_abi_status *){n}")
        elif k == "status_in":
            args.append(f"(const struct sc_abi_status *){n}")
        elif k == "callback":
            args.append(f"(void *){n}")
        else:
            args.append(n)
    if f.via:
        pre.append("\tuint64_t sc_pend = 0;")
        args.append("&sc_pend")
    o += pre
    c = f.comm_param()
    if "collective" in f.flags and c:
        o.append(f"\tSC_HOOK_COLLECTIVE(SC_FN_{f.name}, {c.name});")
    if "p2p_send" in f.flags and c:
        o.append(f"\tSC_HOOK_P2P_SEND(SC_FN_{f.name}, {c.name});")
    sync_comm = None
    if "sync" in f.flags:
        if not c:
            raise ListError(f"{f.where}: {f.name}: 'sync' needs a communicator parameter")
        sync_comm = f"l_{c.name}"
    if "finalize" in f.flags:
        # MPI_Finalize is collective over MPI_COMM_WORLD: a rank that arrives early waits in
        # slices here, where a checkpoint can park it, not inside the lower half's finalize.
        sync_comm = "sc_vh_lower(MPI_COMM_WORLD)"
    if sync_comm:
        o.append(f"\tint src = sc_mpi_sync(SC_FN_{f.name}, {sync_comm});")
        o.append("\tif (src)")
        o.append(f"\t\treturn sc_mpi_fail(SC_FN_{f.name}, src);")
    call = f"tab->{f.short}({', '.join(args)})"
    o.append(f"\t{f.ret} rc;")
    if f.poll:
        o.append("\tdo {")
        o.append(f"\t\tSC_MPI_CALL(rc = {call});")
        o.append(f"\t}} while (__builtin_expect(rc == SC_MPI_PENDING, 0) && "
                 f"sc_mpi_slice_done(SC_FN_{f.name}));")
    else:
        o.append(f"\tSC_MPI_CALL(rc = {call});")
    if f.via:
        st = f.status_param()
        sarg = f"(struct sc_abi_status *){st.name}" if st else "NULL"
        o.append("\tif (__builtin_expect(sc_pend != 0, 0))")
        o.append(f"\t\trc = sc_mpi_finish(SC_FN_{f.name}, &sc_pend, {sarg});")
    if "p2p_recv" in f.flags and c and f.via:
        o.append(f"\tSC_HOOK_P2P_RECV(SC_FN_{f.name}, {c.name});")
    o += cleanup
    if f.ret == "double":
        o.append("\treturn rc;")
        o.append("}")
        return o
    o.append("\tif (__builtin_expect(rc != 0, 0))")
    o.append(f"\t\treturn sc_mpi_fail(SC_FN_{f.name}, rc);")
    o += post
    if outs:
        rec, refs = upper_record(f)
        if len(rec) > 12:  # SC_VH_MAX_ARGS
            raise ListError(f"{f.where}: {f.name}: more than 12 recorded arguments")
        refmask = sum(1 << r for r in refs)
        recarr = "(const uint64_t[]){" + ", ".join(rec) + "}" if rec else "NULL"
        for p in outs:
            kind = f"SC_VK_{p.hkind.upper()}"
            if "existing" in p.flags:  # an object the application may already hold
                o.append(f"\t*{p.name} = ({p.base})sc_vh_existing({kind}, l_{p.name}, "
                         f"SC_FN_{f.name});")
            elif p.hkind == "request":
                o.append(f"\t*{p.name} = ({p.base})sc_vh_req_new(l_{p.name}, SC_FN_{f.name}, "
                         f"{len(rec)}, {recarr});")
            else:
                o.append(f"\t*{p.name} = ({p.base})sc_vh_new({kind}, l_{p.name}, "
                         f"SC_FN_{f.name}, {len(rec)}, {recarr}, {refmask:#x});")
    if "init" in f.flags:
        o.append("\tsc_mpi_after_init();")
    if "finalize" in f.flags:
        o.append("\tsc_mpi_after_finalize();")
    o.append("\treturn 0;")
    o.append("}")
    return o


def gen_upper(handles, errclasses, funcs, digest):
    o = ["/* The upper half's MPI entry points: PMPI_X with MPI_X as a weak alias (profiling",
         " * interface). Each translates virtual handles, switches to the thread's lower-half TLS,",
         " * calls the lower half's table and converts the results.",
         f" * {GENERATED} */",
         "#include <stddef.h>", "#include <stdint.h>", "", "#include <mpi.h>", "",
         '#include "mpi_crossing.h"', "",
         "/* The list's ABI values must be those of the mpi.h applications compile against. */"]
    for kind, name, value in handles:
        o.append(f"_Static_assert((intptr_t){name} == {value:#x}, \"{name} differs from mpi.list\");")
    for name, value in errclasses:
        o.append(f"_Static_assert({name} == {value}, \"{name} differs from mpi.list\");")
    for cls, items in sorted(CONSTS.items()):
        for name, value in items:
            o.append(f"_Static_assert({name} == {value}, \"{name} differs from mpi.list\");")
    o.append("")
    o.append("const char *const sc_mpi_fn_names[SC_MPI_NFUNCS] = {")
    for f in funcs:
        o.append(f'\t"{f.name}",')
    o.append("};")
    o.append("const uint64_t sc_vk_null[SC_VK_COUNT] = SC_VK_NULL_INIT;")
    o.append("/* The kind of each predefined ABI handle value, plus one (0: not a handle). */")
    o.append("const uint8_t sc_vh_predef_kind[SC_VH_PREDEF_MAX] = {")
    for kind, name, value in handles:
        o.append(f"\t[{value:#x}] = SC_VK_{kind.upper()} + 1, /* {name} */")
    o.append("};")
    o.append("")
    for f in funcs:
        o += upper_func(f)
        ps = ", ".join(p.decl() for p in f.params) or "void"
        o.append(f"{f.ret} {f.name}({ps}) __attribute__((weak, alias(\"PMPI_{f.name[4:]}\")));")
        o.append("")
    return "\n".join(o)
