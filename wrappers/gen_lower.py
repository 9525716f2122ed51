"""A lower half's side of the MPI crossing, generated from the list (gen.py lower BACKEND): for
every function a shim that converts standard-ABI values to the implementation's through the
backend's LH_* macros (lower-half/mpi/lh_mpich.h, lh_openmpi.h), the predefined-handle, error
class and constant conversion tables, and the function table the lower half publishes."""

import copy

from mpilist import (CALLBACK_CLASSES, CALLBACK_PROTOS, CONSTS, GENERATED,
                     INT_OUT_KINDS, SMALL, len_expr)


def unimplemented_shim(f, sig, why=None):
    """A shim that reports the function as not implemented (the upper half names it) instead of
    giving a wrong answer."""
    o = [sig, "{"]
    o += [f"\t(void){p.name};" for p in f.crossing]
    if f.via:
        o.append("\t(void)sc_pend;")
    ret = "SC_MPI_E_UNIMPL" if f.ret == "int" else "0"
    o.append(f"\treturn {ret};" + (f" /* {why} */" if why else ""))
    o.append("}")
    return o


def nomem_return(allocated):
    """Returns SC_MPI_E_NOMEM after freeing the temporaries allocated before."""
    frees = "".join(f"lh_tmp_free({a}), " for a in allocated)
    return f"\t\treturn {frees}SC_MPI_E_NOMEM;"


def tmp_array(n, elem, ln, pre, frees, allocated, init="", if_null=None):
    """Declares l_N, ln converted elements of type elem: the small stack array s_N, or a
    temporary allocation when ln exceeds it (SC_MPI_E_NOMEM if that fails), freed at the end.
    With if_null, a NULL N gives l_N = if_null and nothing is allocated or freed."""
    pre.append(f"\t{elem} s_{n}[{SMALL}]{init};")
    alloc = f"lh_tmp(s_{n}, sizeof s_{n}, {ln}, sizeof(*s_{n}))"
    if if_null is None:
        pre.append(f"\t{elem} *l_{n} = {alloc};")
        pre.append(f"\tif (!l_{n})")
        frees.append(f"\tlh_tmp_free(s_{n}, l_{n});")
    else:
        pre.append(f"\t{elem} *l_{n} = {n} ? {alloc} : {if_null};")
        pre.append(f"\tif ({n} && !l_{n})")
        frees.append(f"\tif ({n})\n\t\tlh_tmp_free(s_{n}, l_{n});")
    pre.append(nomem_return(allocated))
    allocated.append(f"s_{n}, l_{n}")


def file_errh_once(called, f, args, call):
    """The lines making `call`; a nonblocking MPI-IO one with the file's error handler set aside
    and called once after it (lh_file_errh_hold, lower-half/mpi/lh_mpi.h: MPICH calls it twice)."""
    if not called.startswith("MPI_File_i"):
        return [f"\t{call}"]
    fh = next(a for a, p in zip(args, f.params) if getattr(p, "hkind", None) == "file")
    return [f"\tMPI_Errhandler held = lh_file_errh_hold({fh});", f"\t{call}",
            f"\trc = lh_file_errh_release({fh}, held, rc);"]


def lower_func(f):
    """The shim of one function; a via= function whose nonblocking form the backend lacks
    (Open MPI 4.1: MPI_Isendrecv) falls back to the blocking call itself."""
    if "custom" in f.flags:  # hand-written (lh_callbacks.c, lh_errcodes.c), for every backend
        params = ", ".join(f.lower_params()) or "void"
        return [f"{f.ret} lh_{f.short}({params}); /* hand-written */"]
    if not f.via:
        return lower_func1(f)
    plain = copy.copy(f)
    plain.via = None
    alt = lower_func1(plain)
    sig = f"static {f.ret} lh_{f.short}("
    i = next(j for j, line in enumerate(alt) if line.startswith(sig))
    end = alt.index("#else")
    shim = alt[i:end]
    shim[0] = shim[0][:-1] + ", uint64_t *sc_pend)"
    shim[1:2] = ["{", "\t*sc_pend = 0; /* the blocking call itself: it may hold the thread */"]
    return ([f"#if defined(LH_MISSING_{f.via}) && !defined(LH_MISSING_{f.name})"] + shim +
            ["#else"] + lower_func1(f) + ["#endif"])


def lower_func1(f):
    """The shim of one function, in the backend-neutral LH_* vocabulary of lh_mpi.h."""
    o = []
    params = ", ".join(f.lower_params()) or "void"
    sig = f"static {f.ret} lh_{f.short}({params})"
    unsupported = [p for p in f.crossing
                   if p.kind == "callback" and p.opts["callback"] not in CALLBACK_CLASSES]
    guard = f"LH_MISSING_{f.name}"
    o.append(f"#if !defined({guard})")
    body_nb = f.via
    pre, post, args, writeback, frees = [], [], [], [], []
    allocated = []  # temporaries to free when a later one cannot be allocated
    cb = None
    statuses = []
    if "contents" in f.flags:  # MPI_Type_get_contents(_c): constants among the integers
        post.append(f"\tlh_contents_out(LH_IN_datatype(datatype), array_of_integers, "
                    f"max_integers, {int(f.name.endswith('_c'))});")
    for p in f.params:
        n, k = p.name, p.kind
        if k == "ignored":
            args.append("NULL")
        elif k == "handle_in":
            args.append(f"LH_IN_{p.hkind}({n})")
        elif k == "handle_out":
            pre.append(f"\tLH_T_{p.hkind} l_{n} = LH_NULL_{p.hkind};")
            args.append(f"&l_{n}")
            post.append(f"\t*{n} = LH_OUT_{p.hkind}(l_{n});")
        elif k in ("handle_inout", "handle_free", "handle_complete"):
            pre.append(f"\tLH_T_{p.hkind} l_{n} = LH_IN_{p.hkind}(*{n});")
            args.append(f"&l_{n}")
            if k == "handle_free":
                pre.append(f"\tLH_T_{p.hkind} old_{n} = l_{n};")
                if f.via:  # the via= body returns before the bookkeeping below
                    pre.append(f"\t(void)old_{n};")
                post.append(f"\tlh_on_free_{p.hkind}(old_{n});")
            # written back whatever happened: a completed request is nulled even on error
            writeback.append(f"\t*{n} = LH_OUT_{p.hkind}(l_{n});")
        elif k == "handle_array_out":
            ln = p.opts["len"]
            tmp_array(n, f"LH_T_{p.hkind}", ln, pre, frees, allocated)
            # MPI fills only as many entries as it has (len= is the maximum): NULL the rest
            pre.append(f"\tfor (int i = 0; i < {ln}; i++)")
            pre.append(f"\t\tl_{n}[i] = LH_NULL_{p.hkind};")
            args.append(f"l_{n}")
            writeback.append(f"\tfor (int i = 0; rc == MPI_SUCCESS && i < {ln}; i++)")
            writeback.append(f"\t\t{n}[i] = LH_OUT_{p.hkind}(l_{n}[i]);")
        elif k in ("handle_array_in", "request_array_complete"):
            ln = len_expr(p, f, "lower")
            # initialised for input arrays: gcc cannot tell that n <= 0 reads nothing
            init = " = {0}" if k == "handle_array_in" else ""
            tmp_array(n, f"LH_T_{p.hkind}", ln, pre, frees, allocated, init)
            pre.append(f"\tfor (int i = 0; i < {ln}; i++)")
            pre.append(f"\t\tl_{n}[i] = LH_IN_{p.hkind}({n}[i]);")
            args.append(f"l_{n}")
            if k == "request_array_complete":
                writeback.append(f"\tfor (int i = 0; i < {ln}; i++)")
                writeback.append(f"\t\t{n}[i] = LH_OUT_{p.hkind}(l_{n}[i]);")
        elif k == "status_out":
            if not f.via:  # via= shims hand the status to lh_finish
                pre.append(f"\tMPI_Status l_{n};")
                pre.append(f"\tl_{n}.MPI_ERROR = LH_ERROR_UNTOUCHED;")
            args.append(f"{n} ? &l_{n} : MPI_STATUS_IGNORE")
            statuses.append(f"\tif ({n})\n\t\tlh_status_out({n}, &l_{n}, LH_ERROR_IF_SET);")
        elif k == "status_array_out":
            ln = p.opts["len"]
            # Open MPI's MPI_STATUSES_IGNORE is NULL: only a failed allocation is out of memory
            tmp_array(n, "MPI_Status", ln, pre, frees, allocated,
                      if_null="lh_opaque(MPI_STATUSES_IGNORE)")
            args.append(f"l_{n}")
            statuses.append(f"\tif ({n})\n\t\tfor (int i = 0; i < {ln}; i++)\n"
                            f"\t\t\tlh_status_out(&{n}[i], &l_{n}[i], rc == MPI_ERR_IN_STATUS);")
        elif k == "status_inout":
            # the error field is the application's: not converted either way (it may be unset)
            pre.append(f"\tMPI_Status l_{n};")
            pre.append(f"\tlh_status_in(&l_{n}, {n});")
            args.append(f"&l_{n}")
            post.append(f"\tlh_status_out({n}, &l_{n}, 0);")
        elif k == "status_in":
            pre.append(f"\tMPI_Status l_{n};")
            pre.append(f"\tlh_status_in(&l_{n}, {n});")
            args.append(f"&l_{n}")
        elif k == "buf":
            args.append(f"({p.c_type()})LH_BUF({n})")
        elif k in ("rank", "tag", "undefined", "thread_level"):
            args.append(f"lh_{k}_in({n})")
        elif k == "errcode":
            args.append(f"lh_err_in({n})")
        elif k == "enum_in":
            args.append(f"lh_const_in_{p.opts['enum']}({n})")
        elif k == "weights":
            args.append(f"({p.c_type()})lh_weights({n})")
        elif k == "bits_in":
            args.append(f"lh_bits_in_{p.opts['bits']}({n})")
        elif k == "enum_out":
            args.append(n)
            if "bits_out" in p.opts:
                post.append(f"\t*{n} = lh_bits_out_{p.opts['bits_out']}(*{n});")
            else:
                post.append(f"\t*{n} = lh_const_out_{p.opts['enum_out']}(*{n});")
        elif k in ("rank_array_in", "enum_array_in"):  # converted into a temporary array
            conv = ("lh_rank_in" if k == "rank_array_in"
                    else f"lh_const_in_{p.opts['enum_array']}")
            ln = p.opts["len"]
            tmp_array(n, "int", ln, pre, frees, allocated, if_null="NULL")
            pre.append(f"\tfor (int i = 0; {n} && i < {ln}; i++)")
            pre.append(f"\t\tl_{n}[i] = {conv}({n}[i]);")
            args.append(f"l_{n}")
        elif k == "rank_array_out":
            args.append(n)
            post.append(f"\tfor (int i = 0; i < {p.opts['len']}; i++)")
            post.append(f"\t\t{n}[i] = lh_rank_out({n}[i]);")
        elif k in INT_OUT_KINDS:
            pre.append(f"\t{p.base} l_{n} = 0;")
            args.append(f"&l_{n}")
            conv = {"thread_level_out": "lh_thread_level_out", "undefined_out": "lh_undefined_out",
                    "errclass_out": "lh_class_out", "rank_out": "lh_rank_out",
                    "tag_out": "lh_tag_out"}[k]
            if p.base == "MPI_Count":  # lh_undefined_out would truncate to int
                post.append(f"\t*{n} = l_{n} == MPI_UNDEFINED ? SC_ABI_UNDEFINED : l_{n};")
            else:
                post.append(f"\t*{n} = {conv}(l_{n});")
        elif k == "callback":
            cls = p.opts["callback"]
            if cls in CALLBACK_CLASSES:
                cb = (p, cls)
                pre.append(f"\tint slot_{n} = lh_cb_{cls}_get({n});")
                pre.append(f"\tif (slot_{n} < 0)")
                pre.append("\t\treturn SC_MPI_E_SLOTS;")
                args.append(f"lh_cb_{cls}_fn(slot_{n})")
        elif k in ("ptr", "string_in", "string_out") and "unconst" in p.flags:
            # an implementation's prototype without the standard's const (MPICH 4.0.2's
            # MPI_Pready_list): MPI only reads it
            args.append(f"({p.c_type().replace('const ', '')})(uintptr_t){n}")
        elif k in ("ptr", "string_in", "string_out"):
            args.append(f"({p.c_type()}){n}")
        else:  # value
            args.append(n)
    if unsupported:
        o += unimplemented_shim(f, sig, "callback class without a trampoline")
        o.append("#else")
    else:
        o.append(sig)
        o.append("{")
        o += pre
        if f.ret == "double":
            o.append(f"\treturn {f.name}({', '.join(args)});")
            o.append("}")
            o.append("#else")
        else:
            o.append("\tint rc;")
            if body_nb:
                st = f.status_param()
                nb_args = [a for a, p in zip(args, f.params) if p.kind != "status_out"]
                o.append("\tMPI_Request req = MPI_REQUEST_NULL;")
                start = f"rc = {f.via}({', '.join(nb_args + ['&req'])});"
                o += file_errh_once(f.via, f, args, start)
                # the rank whose MPI_PROC_NULL empties the status: the receive's source
                ranks = sorted((p for p in f.params if p.kind == "rank"),
                               key=lambda p: p.name != "source")
                if st and ranks:
                    # MPI_Test reports an empty status for a receive from MPI_PROC_NULL; the
                    # blocking call must report source MPI_PROC_NULL.
                    o.append(f"\tif (rc == MPI_SUCCESS && {st.name} && "
                             f"lh_rank_in({ranks[0].name}) == MPI_PROC_NULL) {{")
                    o.append("\t\trc = lh_finish(&req, NULL, sc_pend);")
                    o.append(f"\t\tlh_status_proc_null({st.name});")
                    o.append("\t\treturn rc;")
                    o.append("\t}")
                o.append("\tif (rc == MPI_SUCCESS)")
                o.append(f"\t\treturn lh_finish(&req, {st.name if st else 'NULL'}, sc_pend);")
                o.append("\treturn lh_err_out(rc);")
                o.append("}")
                o.append("#else")
            else:
                if f.poll and f.poll.endswith("some"):
                    # Waitsome: Testsome takes the same arguments; done once outcount != 0
                    # (MPI_UNDEFINED, no active request, is done too)
                    o.append("\tint flag = 0;")
                    o.append("\tstruct lh_slice sl;")
                    o.append("\tlh_slice_start(&sl);")
                    o.append("\tdo {")
                    o.append(f"\t\trc = {f.poll}({', '.join(args)});")
                    o.append("\t\tflag = l_outcount != 0;")
                    o.append("\t} while (rc == MPI_SUCCESS && !flag && !lh_slice_over(&sl));")
                elif f.poll:
                    # The test function takes the same arguments plus a flag before the first
                    # output handle or status (MPI_Test, MPI_Testany, MPI_Iprobe, MPI_Improbe).
                    outs = [q for q in f.params
                            if q.kind in ("handle_out", "status_out", "status_array_out")]
                    targs = list(args)
                    idx = f.params.index(outs[0]) if outs else len(args)
                    targs.insert(idx, "&flag")
                    o.append("\tint flag = 0;")
                    o.append("\tstruct lh_slice sl;")
                    o.append("\tlh_slice_start(&sl);")
                    o.append("\tdo {")
                    o.append(f"\t\trc = {f.poll}({', '.join(targs)});")
                    o.append("\t} while (rc == MPI_SUCCESS && !flag && !lh_slice_over(&sl));")
                else:
                    o += file_errh_once(f.name, f, args, f"rc = {f.name}({', '.join(args)});")
                if cb:
                    p, cls = cb
                    outs = [q for q in f.params if q.kind == "handle_out"]
                    o.append(f"\tlh_cb_{cls}_done(slot_{p.name}, rc, l_{outs[0].name});")
                o += writeback
                if f.poll:
                    o.append("\tint pending = rc == MPI_SUCCESS && !flag;")
                if statuses:
                    cond = "!pending && " if f.poll else ""
                    o.append(f"\tif ({cond}(rc == MPI_SUCCESS || rc == MPI_ERR_IN_STATUS)) {{")
                    o += ["\t" + s.replace("\n", "\n\t") for s in statuses]
                    o.append("\t}")
                o += frees
                if f.poll:
                    o.append("\tif (pending)")
                    o.append("\t\treturn SC_MPI_PENDING;")
                if statuses and post:
                    # MPI_ERR_IN_STATUS: the call completed requests (MPI_Testsome's outcount
                    # says which), and the statuses say which failed
                    o.append("\tif (rc != MPI_SUCCESS && rc != MPI_ERR_IN_STATUS)")
                    o.append("\t\treturn lh_err_out(rc);")
                    o += post
                    o.append("\treturn rc == MPI_SUCCESS ? 0 : lh_err_out(rc);")
                else:
                    o.append("\tif (rc != MPI_SUCCESS)")
                    o.append("\t\treturn lh_err_out(rc);")
                    o += post
                    o.append("\treturn 0;")
                o.append("}")
                o.append("#else")
    o += unimplemented_shim(f, sig)  # the backend lacks the function
    o.append("#endif")
    return o


def lower_consts():
    """lh_peers (len=peers:), lh_degree (len=sources:, dests:) and the conversions of the
    list's const classes: enumerated values (enum=, enum_out=) map one to one, flag sets (bits=,
    bits_out=) bit by bit; a value of no listed name (a user keyval, a count) crosses as is."""
    o = ["/* Trampolines of lh_callbacks.c (calls from MPI into the application). */"]
    for cls, (fty, hty, maker) in sorted(CALLBACK_PROTOS.items()):
        o += [f"#ifndef LH_MISSING_{maker}",
              f"int lh_cb_{cls}_get(void *upper_fn);", f"{fty} *lh_cb_{cls}_fn(int slot);",
              f"void lh_cb_{cls}_done(int slot, int rc, {hty} h);", "#endif"]
    o += ["", "/* The ABI's weight sentinels, (int *)10 and 11, as the implementation's. */",
          "static inline __attribute__((unused)) const int *lh_weights(const int *p)", "{",
          "\treturn p == (const int *)10   ? MPI_UNWEIGHTED",
          "\t       : p == (const int *)11 ? MPI_WEIGHTS_EMPTY",
          "\t\t\t\t      : p;", "}"]
    o += ["",
         "/* Hides a sentinel pointer (MPI_STATUSES_IGNORE) from the compiler's bounds checks. */",
         "static inline __attribute__((unused)) MPI_Status *lh_opaque(MPI_Status *p)", "{",
         "\t__asm__(\"\" : \"+r\"(p));", "\treturn p;", "}", "",
         "/* The number of processes comm exchanges with: its remote group for an intercomm. */",
         "static inline __attribute__((unused)) int lh_peers(MPI_Comm comm)", "{",
         "\tint inter = 0, n = 0;", "\tMPI_Comm_test_inter(comm, &inter);",
         "\tif (inter)", "\t\tMPI_Comm_remote_size(comm, &n);", "\telse",
         "\t\tMPI_Comm_size(comm, &n);", "\treturn n;", "}", "",
         "/* The neighbours comm's topology receives from (out 0) or sends to (out 1). */",
         "static inline __attribute__((unused)) int lh_degree(MPI_Comm comm, int out)", "{",
         "\tint topo = MPI_UNDEFINED, n = 0, in_n = 0, out_n = 0, weighted = 0, me = 0;",
         "\tMPI_Topo_test(comm, &topo);", "\tif (topo == MPI_CART) {",
         "\t\tMPI_Cartdim_get(comm, &n);", "\t\treturn 2 * n;", "\t}",
         "\tif (topo == MPI_GRAPH) {", "\t\tMPI_Comm_rank(comm, &me);",
         "\t\tMPI_Graph_neighbors_count(comm, me, &n);", "\t\treturn n;", "\t}",
         "\tif (topo == MPI_DIST_GRAPH) {",
         "\t\tMPI_Dist_graph_neighbors_count(comm, &in_n, &out_n, &weighted);",
         "\t\treturn out ? out_n : in_n;", "\t}", "\treturn 0;", "}", ""]
    for cls, items in sorted(CONSTS.items()):
        o.append(f"static inline __attribute__((unused)) int lh_const_in_{cls}(int v)")
        o.append("{")
        for name, value in items:
            o.append(f"\tif (v == {value})\n\t\treturn {name};")
        o.append("\treturn v;")
        o.append("}")
        o.append(f"static inline __attribute__((unused)) int lh_const_out_{cls}(int v)")
        o.append("{")
        for name, value in items:
            o.append(f"\tif (v == {name})\n\t\treturn {value};")
        o.append("\treturn v;")
        o.append("}")
        o.append(f"static inline __attribute__((unused)) int lh_bits_in_{cls}(int v)")
        o.append("{")
        o.append("\tint r = 0;")
        for name, value in items:
            o.append(f"\tif (v & {value})\n\t\tr |= {name};")
        mask = 0
        for _, value in items:
            mask |= value
        o.append(f"\treturn r | (v & ~{mask:#x}); /* unknown bits: let MPI reject them */")
        o.append("}")
        o.append(f"static inline __attribute__((unused)) int lh_bits_out_{cls}(int v)")
        o.append("{")
        o.append("\tint r = 0;")
        for name, value in items:
            o.append(f"\tif (v & {name})\n\t\tr |= {value};")
        o.append("\treturn r;")
        o.append("}")
        # the same conversions for the hand-written shims of lh_callbacks.c (custom functions)
        o.append(f"int lh_conv_in_{cls}(int v);")
        o.append(f"int lh_conv_in_{cls}(int v)\n{{\n\treturn lh_const_in_{cls}(v);\n}}")
        o.append(f"int lh_conv_out_{cls}(int v);")
        o.append(f"int lh_conv_out_{cls}(int v)\n{{\n\treturn lh_const_out_{cls}(v);\n}}")
        o.append("")
    return o


def gen_lower(handles, errclasses, funcs, digest, backend):
    o = [f"/* The {backend} lower half's MPI shims: ABI arguments in, {backend} calls, ABI results",
         " * out; the predefined-handle and error-class tables; the published function table.",
         f" * {GENERATED} */",
         f'#include "lh_{backend}.h"', "",
         "/* ABI value -> this implementation's predefined handle (names its mpi.h lacks are",
         " * left out: the upper half then maps them to nothing). */",
         "const struct lh_predef lh_predef_table[] = {"]
    for kind, name, value in handles:
        o.append(f"#ifdef {name}")
        o.append(f"\t{{{value:#x}, SC_VK_{kind.upper()}, LH_OUT_{kind}({name})}},")
        o.append("#endif")
    o.append("\t{0, 0, 0},")
    o.append("};")
    o.append("")
    o.append("/* ABI error class <-> this implementation's. */")
    o.append("const struct lh_errclass lh_errclass_table[] = {")
    for name, value in errclasses:
        o.append(f"#ifdef {name}")
        o.append(f"\t{{{value}, {name}}},")
        o.append("#endif")
    o.append("\t{-1, -1},")
    o.append("};")
    o.append("")
    o += lower_consts()
    for f in funcs:
        o += lower_func(f)
        o.append("")
    o.append(f"const struct sc_mpi_table lh_{backend}_table = {{")
    o.append("\t.svc = LH_SERVICE_INIT,")
    for f in funcs:
        o.append(f"\t.{f.short} = lh_{f.short},")
    o.append("};")
    return "\n".join(o) + "\n"
