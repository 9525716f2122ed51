"""The upper half's side of the MPI crossing, generated from the list (gen.py upper): for every
function PMPI_X and a weak MPI_X in libsplitckpt_mpi.so that translate virtual handles, switch
the FS base and call the lower half's table (design: wrappers/README.md)."""

from mpilist import ALIASES, CONSTS, GENERATED, INT_OUT_KINDS, SMALL, ListError, len_expr


RECORD_SKIP = ("handle_out", "request_array_complete", "status_out", "status_array_out",
               "status_inout", "string_out", "handle_array_out", "enum_out", "rank_array_out")
SCALAR_RECORD = ("value", "rank", "tag", "undefined", "thread_level", "errcode", "enum_in",
                 "bits_in")
POINTER_RECORD = ("buf", "ptr", "string_in", "callback", "handle_array_in", "rank_array_in",
                  "enum_array_in", "weights")


def recorded(p):
    return p.kind not in RECORD_SKIP and p.kind not in INT_OUT_KINDS and \
        (p.kind == "handle_in" or p.kind in SCALAR_RECORD or p.kind in POINTER_RECORD)


def replayable_arg(p):
    """Whether a restart can pass this recorded argument again: values and handles, pointers
    whose address is what matters (buffers, callbacks), and arrays or strings the record
    copied ({copy=N} elements, strings always)."""
    if p.kind in ("handle_in", "buf", "callback", "string_in") or p.kind in SCALAR_RECORD:
        return p.base != "double"
    if p.kind == "ptr" and "opaque" in p.flags:
        return True
    return (p.kind in ("ptr", "rank_array_in", "enum_array_in", "handle_array_in", "weights")
            and "copy" in p.opts)


KEYVAL_CLASSES = {"keyval": "SC_KV_COMM", "type_keyval": "SC_KV_TYPE", "win_keyval": "SC_KV_WIN"}


def keyval_kind(f):
    """The keyval kind (attrs.c) of an MPI_X_create_keyval / MPI_X_free_keyval."""
    for prefix, kind in (("MPI_Comm_", "SC_KV_COMM"), ("MPI_Type_", "SC_KV_TYPE"),
                         ("MPI_Win_", "SC_KV_WIN")):
        if f.name.startswith(prefix):
            return kind
    raise ListError(f"{f.where}: {f.name}: keyval flags need MPI_Comm/Type/Win_*")


def upper_record(f):
    """Arguments kept in a created object's creation record (replayed at restart), and the
    refmask: bits 0-15 handles the record keeps alive, bits 16-31 copies it owns, bits 32-47
    copies of handle arrays it owns (each handle kept alive)."""
    args, refmask = [], 0
    for p in f.crossing:
        if not recorded(p):
            continue
        i = len(args)
        if p.kind == "handle_in":
            refmask |= 1 << i
            args.append(f"(uint64_t)(uintptr_t){p.name}")
        elif p.kind in SCALAR_RECORD:
            args.append(f"(uint64_t)(int64_t){p.name}" if p.base != "double" else "0")
        elif p.kind == "string_in":
            refmask |= 1 << (16 + i)
            args.append(f"sc_vh_copy({p.name}, {p.name} ? (long)strlen({p.name}) + 1 : 0)")
        elif "copy" in p.opts and p.kind == "handle_array_in":
            refmask |= 1 << (32 + i)
            args.append(f"sc_vh_copy_handles((void *const *){p.name}, (long)({p.opts['copy']}))")
        elif "copy" in p.opts and p.kind == "weights":
            # MPI_UNWEIGHTED and MPI_WEIGHTS_EMPTY are sentinel addresses: kept as they are
            refmask |= 1 << (16 + i)
            args.append(f"sc_vh_copy_weights({p.name}, (long)({p.opts['copy']}))")
        elif "copy" in p.opts and p.kind in ("ptr", "rank_array_in", "enum_array_in"):
            refmask |= 1 << (16 + i)
            args.append(f"sc_vh_copy({p.name}, (long)({p.opts['copy']}) * (long)sizeof(*{p.name}))")
        else:
            args.append(f"(uint64_t)(uintptr_t){p.name}")
    return args, refmask


def replay_case(f):
    """The restart's replay of an object f created: f called again with the recorded
    arguments (handles translated to the new lower half's), or None when it cannot be."""
    outs = [p for p in f.crossing if p.kind == "handle_out" and "existing" not in p.flags]
    # replay_as=MPI_Y: a nonblocking creation (MPI_Comm_idup) is replayed as its blocking form
    # with the same inputs, which every member calls in the same order at a restart
    as_fn = f.opts.get("replay_as")
    if as_fn:
        outs = [p for p in outs if p.hkind != "request"]
    nouts = 0 if f.flags & {"replay_set", "replay_add"} else 1
    if len(outs) != nouts or f.via or f.poll or f.ret != "int" or "noreplay" in f.flags:
        return None
    args, i, decls, frees = [], 0, [], []
    for p in f.crossing:
        if p.kind == "handle_out" and as_fn and p.hkind == "request":
            continue
        if p.kind == "handle_out":
            args.append("lower")
        elif p.kind in INT_OUT_KINDS or p.kind == "enum_out":
            decls.append(f"int d_{p.name};")
            args.append(f"&d_{p.name}")
        elif recorded(p):
            if not replayable_arg(p):
                return None
            a = f"o->args[{i}]"
            i += 1
            if p.kind == "handle_in":
                args.append(f"sc_vh_lower((const void *)(uintptr_t){a})")
            elif p.kind == "handle_array_in":
                decls.append(f"long n_{p.name};")
                decls.append(f"uint64_t *h_{p.name} = sc_vh_lower_handles({a}, &n_{p.name});")
                frees.append(f"free(h_{p.name});")
                args.append(f"h_{p.name}")
            elif p.kind in SCALAR_RECORD:
                args.append(f"({p.lower_type()})(int64_t){a}")
            else:
                args.append(f"({p.lower_type()})(uintptr_t){a}")
        else:
            return None
    o = [f"\tcase SC_FN_{f.name}: {{"]
    if not outs:
        o.append("\t\t*lower = 0;")
    o += [f"\t\t{d}" for d in decls]
    o.append(f"\t\tint rc;")
    short = as_fn[4:] if as_fn else f.short
    o.append(f"\t\tSC_MPI_CALL(rc = tab->{short}({', '.join(args)}));")
    o += [f"\t\t{x}" for x in frees]
    o.append("\t\treturn rc;")
    o.append("\t}")
    return o


def gen_replay(funcs):
    o = ["/* Restart: calls the function that created o again, with its recorded arguments, and",
         " * returns its result with the new lower handle in *lower; SC_MPI_E_UNIMPL when a",
         " * record cannot be replayed (sc_mpi_replayable[fn] == 0). */",
         "int sc_mpi_replay(const struct sc_mpi_table *tab, const struct sc_vobj *o, "
         "uint64_t *lower)",
         "{",
         "\tswitch (o->fn) {"]
    ok = []
    for f in funcs:
        c = replay_case(f)
        if c:
            o += c
            ok.append(f.name)
    o += ["\tdefault:", "\t\treturn SC_MPI_E_UNIMPL;", "\t}", "}", "",
          "const unsigned char sc_mpi_replayable[SC_MPI_NFUNCS] = {"]
    o += [f"\t[SC_FN_{n}] = 1," for n in ok]
    o += ["};", ""]
    return o


def clock_of(f):
    """The collective clock a collective of f counts in: its communicator's, else the window's
    or file's it works on (cut.c)."""
    c = f.comm_param()
    if c:
        return c.name
    for p in f.params:
        if getattr(p, "hkind", None) in ("win", "file"):
            if p.kind == "handle_in":
                return p.name
            if p.kind == "handle_free":
                return f"*{p.name}"
    return None


def upper_func(f):
    o = []
    ps = ", ".join(p.decl() for p in f.params) or "void"
    o.append(f"{f.ret} PMPI_{f.name[4:]}({ps})")
    o.append("{")
    for p in f.params:
        if p.kind == "ignored":
            o.append(f"\t(void){p.name};")
    greq = "greq" in f.flags  # holds the cut until freed, counted before it starts (cut.c)
    if greq:
        o.append("\tsc_mpi_greq_enter();")
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
                if p.hkind in ("win", "file") and "collective" in f.flags:
                    post.append(f"\tsc_mpi_linger(*{n});")  # its clock stays in the cut
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
        elif k == "status_out" and "p2p_match" in f.flags:
            # the matched message's status, kept for a drain (MPI_STATUS_IGNORE or not)
            pre.append("\tstruct sc_abi_status match_st_own;")
            pre.append(f"\tstruct sc_abi_status *match_st = {n} != MPI_STATUS_IGNORE ? "
                       f"(struct sc_abi_status *){n} : &match_st_own;")
            args.append("match_st")
        elif k in ("status_out", "status_array_out", "status_inout"):
            args.append(f"(struct sc_abi_status *){n}")
        elif k == "status_in":
            args.append(f"(const struct sc_abi_status *){n}")
        elif k == "callback":
            args.append(f"(void *){n}")
        elif k == "enum_in" and p.opts.get("enum") in KEYVAL_CLASSES:
            args.append(f"sc_mpi_keyval_lower({KEYVAL_CLASSES[p.opts['enum']]}, {n})")
        else:
            args.append(n)
    if "keyval_new" in f.flags:
        # MPI calls the keyval's record's functions with the record (attrs.c)
        copy, delete, _, extra = (p.name for p in f.params)
        pre.append(f"\tvoid *kv = sc_mpi_keyval_begin({keyval_kind(f)}, (void *){copy}, "
                   f"(void *){delete}, {extra});")
        args[0], args[1], args[3] = ("sc_mpi_keyval_copy_fn(kv)", "sc_mpi_keyval_delete_fn(kv)",
                                     "kv")
        cleanup.append("\tif (rc != 0)\n\t\tsc_mpi_keyval_abort(kv);")
    if f.via:
        pre.append("\tuint64_t sc_pend = 0;")
        args.append("&sc_pend")
    # The drained messages, the counters and the gates come before any lower handle is read:
    # a thread may park at a gate through a checkpoint and a restart (new lower handles).
    c = f.comm_param()
    hooks_at = len(o)
    if "drained" in f.flags:
        # Messages a checkpoint drained come before anything MPI still holds (drain_serve.c).
        names = ", ".join(p.name for p in f.params)
        o.append("\tif (__builtin_expect(sc_mpi_ndrained != 0, 0)) {")
        o.append(f"\t\tint d = sc_mpi_drained_{f.short}({names});")
        o.append("\t\tif (d != SC_MPI_PENDING) {")
        o.append("\t\t\tsc_mpi_leave();")
        o.append("\t\t\treturn d;")
        o.append("\t\t}")
        o.append("\t}")
    # The checkpoint's counters move inside the call's window (between sc_mpi_begin and
    # sc_mpi_leave), before the lower half is entered: a cut sees a call either not begun or
    # counted (upper-half/mpi/cut.c).
    persistent_init = f.persistent
    clock = clock_of(f)
    if "collective" in f.flags and clock:
        o.append(f"\tsc_mpi_count_coll({clock});")
    # the point-to-point peers the counters see (a persistent request counts when started)
    send_dest = recv_src = None
    if "p2p_send" in f.flags and c and not persistent_init:
        send_dest = next(p for p in f.params if p.kind == "rank" and p.name == "dest").name
        o.append(f"\tsc_mpi_count_send({c.name}, {send_dest});")
        tag = next(p for p in f.params if p.kind == "tag" and "tag" in p.name).name
        o.append(f"\tsc_mpi_sync_note({c.name}, {send_dest}, {tag});")
    if "p2p_recv" in f.flags and c and not persistent_init:
        recv_src = next(p for p in f.params if p.kind == "rank" and p.name == "source").name
        o.append(f"\tsc_mpi_count_recv({c.name}, {recv_src});")
    if "start" in f.flags:
        rq = next(p for p in f.params if getattr(p, "hkind", None) == "request")
        if rq.kind == "handle_complete":
            o.append(f"\tsc_mpi_count_start(*{rq.name});")
        else:
            o.append(f"\tfor (int i = 0; i < {len_expr(rq, f, 'upper')}; i++)")
            o.append(f"\t\tsc_mpi_count_start({rq.name}[i]);")
    if any(getattr(p, "hkind", None) == "request" and p.kind != "handle_out"
           for p in f.crossing):
        # a request may wait for a synchronous send's acknowledgement (upper-half/mpi/ssend.c)
        o.append("\tsc_mpi_acks_poll();")
    if "unpark" in f.flags:
        rq = next(p for p in f.params if getattr(p, "hkind", None) == "request")
        o.append(f"\tint unpark_rc = sc_mpi_unpark(*{rq.name});")
        o.append("\tif (unpark_rc != 0)")
        o.append(f"\t\treturn sc_mpi_fail(SC_FN_{f.name}, unpark_rc);")
    if "finalize" in f.flags:
        # MPI_Finalize is collective over MPI_COMM_WORLD: a rank that arrives early waits in
        # slices on a counted MPI_Ibarrier, where a checkpoint can park it, not inside the lower
        # half's finalize.
        o.append(f"\tint src = sc_mpi_sync(SC_FN_{f.name});")
        o.append("\tif (src)")
        o.append(f"\t\treturn sc_mpi_fail(SC_FN_{f.name}, src);")
    if "epoch" in f.flags:  # an exclusive lock waits while a checkpoint is pending (rma.c)
        first_int = next((p.name for p in f.params if p.base == "int"), "0")
        o.append(f"\tsc_mpi_rma_enter(SC_FN_{f.name}, {first_int});")
        cleanup.append(f"\tif (rc != 0)\n\t\tsc_mpi_rma_failed(SC_FN_{f.name}, {first_int});")
    win = next((p.name for p in f.params if getattr(p, "hkind", None) == "win"), None)
    if "pscw" in f.flags and getattr(f.params[0], "hkind", None) == "group":
        # MPI_Win_post/start: a new epoch waits at its pairs' gate, then counts (pscw.c)
        o.append(f"\tint pscw_rc = sc_mpi_pscw_begin(SC_FN_{f.name}, {f.params[0].name}, {win});")
        o.append("\tif (pscw_rc != 0)")
        o.append(f"\t\treturn sc_mpi_fail(SC_FN_{f.name}, pscw_rc);")
        cleanup.append(f"\tif (rc != 0)\n\t\tsc_mpi_pscw_failed(SC_FN_{f.name}, {win});")
    if "init" in f.flags:  # MPI initialized beneath sessions already (sessions.c)
        prov = next((p.name for p in f.params if p.kind == "thread_level_out"), "NULL")
        o.append("\tif (__builtin_expect(sc_mpi_world_under, 0))")
        o.append(f"\t\treturn sc_mpi_init_over({prov});")
    if "session_init" in f.flags:  # MPI beneath the sessions first, if need be (sessions.c)
        o.append("\tint world_rc = sc_mpi_sessions_world();")
        o.append("\tif (world_rc != 0)")
        o.append(f"\t\treturn sc_mpi_fail(SC_FN_{f.name}, world_rc);")
    if len(o) > hooks_at:  # a gate may have waited through a restart: the new table
        o.append("\ttab = sc_mpi_tab;")
    if "win_free" in f.flags:  # an MPI_Win_allocate(_shared) window's memory goes with it
        o.append(f"\tvoid *win_memory = sc_mpi_win_memory(*{f.params[0].name});")
    if "info_free" in f.flags:  # its keys, while a record keeps it (upper-half/mpi/infos.c)
        o.append(f"\tsc_mpi_info_freeing(*{f.params[0].name});")
    if "keyval_free" in f.flags:  # the application's value in, MPI's to MPI (attrs.c)
        kv = f.params[0].name
        o.append(f"\tint kv_app = *{kv};")
        o.append(f"\t*{kv} = sc_mpi_keyval_lower({keyval_kind(f)}, kv_app);")
    # Until the new object's clock exists (sc_mpi_comm_created, sc_mpi_clock_created) its peers
    # may count collectives on it that this rank cannot report yet: the quiesce waits ("+").
    makes_clock = "dynamic" not in f.flags and any(
        p.kind == "handle_out" and "existing" not in p.flags and
        (p.hkind == "comm" or (p.hkind in ("win", "file") and c)) for p in f.crossing)
    if makes_clock:
        o.append("\tsc_mpi_thr.creating = 1;")
    o += pre
    call = f"tab->{f.short}({', '.join(args)})"
    o.append(f"\t{f.ret} rc;")
    if f.poll:
        o.append("\tdo {")
        o.append(f"\t\tSC_MPI_CALL(rc = {call});")
        o.append(f"\t}} while (__builtin_expect(rc == SC_MPI_PENDING, 0) && "
                 f"sc_mpi_slice_done(SC_FN_{f.name}));")
        # Parked through a restart or a drain that changed what MPI holds: nothing completed
        # yet, so the call starts over (the new lower half's handles, the drained messages).
        o.append("\tif (__builtin_expect(rc == SC_MPI_PENDING, 0)) {")
        for p in f.crossing:
            if p.kind in ("handle_array_in", "request_array_complete", "handle_array_out"):
                o.append(f"\t\tsc_vh_arr_done(s_{p.name}, l_{p.name});")
        o.append("\t\tsc_mpi_leave();")
        o.append(f"\t\treturn PMPI_{f.short}({', '.join(p.name for p in f.params)});")
        o.append("\t}")
    else:
        o.append(f"\tSC_MPI_CALL(rc = {call});")
    for p in f.crossing:  # MPI_(I)mrecv took the message: no MPI object behind the handle
        if p.kind == "handle_free" and p.hkind == "message":
            o.append(f"\tif (l_{p.name} == sc_vh_predef[sc_vk_null[SC_VK_MESSAGE]])")
            o.append(f"\t\tsc_vh_message_taken(*{p.name});")
    if f.via:
        st = f.status_param()
        sarg = f"(struct sc_abi_status *){st.name}" if st else "NULL"
        rec, _ = upper_record(f)
        recarr = "(const uint64_t[]){" + ", ".join(rec) + "}" if rec else "NULL"
        # The slow path waits on a request object recording the nonblocking call, so that a
        # checkpoint can drain it and a restart can post it again.
        o.append("\tif (__builtin_expect(sc_pend != 0, 0))")
        o.append(f"\t\trc = sc_mpi_finish(SC_FN_{f.name}, SC_FN_{f.via}, sc_pend, {sarg}, "
                 f"{len(rec)}, {recarr});")
    if send_dest:
        o.append("\tif (__builtin_expect(rc != 0, 0))")
        o.append(f"\t\tsc_mpi_uncount_send({c.name}, {send_dest}, rc);")
    if recv_src:
        o.append("\tif (__builtin_expect(rc != 0, 0))")
        o.append(f"\t\tsc_mpi_uncount_recv({c.name}, {recv_src}, rc);")
    if "p2p_match" in f.flags:
        msg = next(p for p in f.params if getattr(p, "hkind", None) == "message")
        o.append(f"\tif (rc == 0)")
        o.append(f"\t\tsc_mpi_count_match({c.name}, l_{msg.name});")
    if "cancel" in f.flags:
        rq = next(p for p in f.params if getattr(p, "hkind", None) == "request")
        o.append("\tif (rc == 0)")
        o.append(f"\t\trc = sc_mpi_count_cancel(*{rq.name});")
    o += cleanup
    if f.ret == "double":
        o.append("\tsc_mpi_leave();")
        o.append("\treturn rc;")
        o.append("}")
        return o
    if "keyval_free" in f.flags:
        o.append("\tif (rc != 0)")
        o.append(f"\t\t*{f.params[0].name} = kv_app;")
    # A failed call hands back the NULL handle for each object it would have made (as MPICH
    # does when an attribute copy callback fails an MPI_Comm_dup), never a stale value.
    made = [p for p in f.crossing
            if p.kind == "handle_out" and "existing" not in p.flags and p.hkind != "request"]
    o.append("\tif (__builtin_expect(rc != 0, 0))" + (" {" if made or greq else ""))
    for p in made:
        o.append(f"\t\t*{p.name} = ({p.base})(uintptr_t)sc_vk_null[SC_VK_{p.hkind.upper()}];")
    if greq:
        o.append("\t\tsc_mpi_greq_gone();")
    o.append(f"\t\treturn sc_mpi_fail(SC_FN_{f.name}, rc);")
    if made or greq:
        o.append("\t}")
    if "win_free" in f.flags:  # before post, which forgets the window
        o.append(f"\tsc_mpi_win_freed(*{f.params[0].name}, win_memory);")
    o += post
    if "keyval_free" in f.flags:
        o.append(f"\tsc_mpi_keyval_freed({keyval_kind(f)}, kv_app);")
    if "win_attr" in f.flags:  # MPI_Win_get_attr(win, keyval, attribute_val, flag)
        a = [p.name for p in f.params]
        o.append(f"\tsc_mpi_win_attr({a[0]}, {a[1]}, {a[2]}, {a[3]});")
    if "comm_attr" in f.flags:  # MPI_Comm_get_attr(comm, keyval, attribute_val, flag)
        a = [p.name for p in f.params]
        o.append(f"\tsc_mpi_comm_attr({a[1]}, {a[2]}, {a[3]});")
    if "keyval_new" in f.flags:  # MPI_X_create_keyval(copy_fn, delete_fn, &keyval, extra)
        o.append(f"\tsc_mpi_keyval_created(kv, {f.params[2].name});")
    if outs:
        rec, refmask = upper_record(f)
        if len(rec) > 12:  # SC_VH_MAX_ARGS
            raise ListError(f"{f.where}: {f.name}: more than 12 recorded arguments")
        recarr = "(const uint64_t[]){" + ", ".join(rec) + "}" if rec else "NULL"
        for p in outs:
            kind = f"SC_VK_{p.hkind.upper()}"
            if "existing" in p.flags:  # an object the application may already hold
                o.append(f"\t*{p.name} = ({p.base})sc_vh_existing({kind}, l_{p.name}, "
                         f"SC_FN_{f.name});")
            elif "cached" in p.flags:  # the same handle for the same arguments
                o.append(f"\t*{p.name} = ({p.base})sc_vh_cached({kind}, l_{p.name}, "
                         f"SC_FN_{f.name}, {len(rec)}, {recarr}, {refmask:#x});")
            elif p.hkind == "request" and f.persistent:  # made again at restart
                o.append(f"\t*{p.name} = ({p.base})sc_vh_req_new_kept(l_{p.name}, "
                         f"SC_FN_{f.name}, {len(rec)}, {recarr}, {refmask:#x});")
            elif p.hkind == "request":
                o.append(f"\t*{p.name} = ({p.base})sc_vh_req_new(l_{p.name}, SC_FN_{f.name}, "
                         f"{len(rec)}, {recarr});")
            else:
                o.append(f"\t*{p.name} = ({p.base})sc_vh_new({kind}, l_{p.name}, "
                         f"SC_FN_{f.name}, {len(rec)}, {recarr}, {refmask:#x});")
    if "ssend" in f.flags and not f.persistent:  # a persistent one when started (counters.c)
        rq = next(p for p in outs if p.hkind == "request")
        o.append(f"\tsc_mpi_sync_posted(*{rq.name});")
    if f.flags & {"replay_set", "replay_add"}:
        # The last call per object (replay_set), or every call until replay_drop= takes it
        # back (replay_add), is repeated at restart (vhandle.c). The target (first argument)
        # is not kept alive by the record: freeing it drops the record.
        rec, refmask = upper_record(f)
        if not rec or not refmask & 1:
            raise ListError(f"{f.where}: {f.name}: replay_set/add needs the object first")
        how = "set" if "replay_set" in f.flags else "add"
        o.append(f"\tsc_vh_record_{how}(SC_FN_{f.name}, {len(rec)}, "
                 f"(const uint64_t[]){{{', '.join(rec)}}}, {refmask & ~1:#x});")
    if "replay_drop" in f.opts:  # the call that undoes a replay_add one: (object, argument)
        a, b = (p.name for p in f.params[:2])
        o.append(f"\tsc_vh_record_drop(SC_FN_{f.opts['replay_drop']}, (uint64_t)(uintptr_t){a}, "
                 f"(uint64_t)(uintptr_t){b});")
    for p in outs:
        if p.hkind == "comm" and "dynamic" in f.flags:
            continue  # its remote processes are outside the job: no cut, never counted
        if p.hkind == "comm" and "existing" not in p.flags:
            parent = c.name if c else "MPI_COMM_NULL"
            o.append(f"\tsc_mpi_comm_created(*{p.name}, {parent}, SC_FN_{f.name});")
            o.append("\tsc_mpi_thr.creating = 0;")
        elif p.hkind in ("win", "file") and c:
            o.append(f"\tsc_mpi_clock_created(*{p.name}, {c.name}, SC_FN_{f.name});")
            o.append("\tsc_mpi_thr.creating = 0;")
    if "p2p_match" in f.flags:
        msg = next(p for p in f.params if getattr(p, "hkind", None) == "message")
        o.append(f"\tsc_mpi_message_matched(*{msg.name}, match_st);")
    if "shared_fp" in f.flags:  # a checkpoint saves the file's shared pointer (files.c)
        fh = next(p.name for p in f.params if getattr(p, "hkind", None) == "file")
        o.append(f"\tsc_mpi_file_shared_used({fh});")
    if "pscw" in f.flags and getattr(f.params[0], "hkind", None) != "group":
        # MPI_Win_complete, MPI_Win_wait, MPI_Win_test (when its flag is set) end an epoch
        flag = next((f"*{p.name}" for p in f.params if p.name == "flag"), "1")
        o.append(f"\tsc_mpi_pscw_end(SC_FN_{f.name}, {win}, {flag});")
    if "epoch" in f.flags:  # the window's RMA epoch (upper-half/mpi/rma.c)
        ints = [p.name for p in f.params if p.base == "int"] + ["0", "0", "0"]
        o.append(f"\tsc_mpi_rma_epoch(SC_FN_{f.name}, {win}, {', '.join(ints[:3])});")
    if "init" in f.flags:
        o.append("\tsc_mpi_after_app_init();")
    if "session_init" in f.flags:
        o.append("\tsc_mpi_session_made();")
    if "from_group" in f.flags:  # MPI_(Inter)comm_create_from_group(s)
        errh = next(p.name for p in f.params if p.name == "errhandler")
        o.append(f"\tsc_mpi_comm_errh_record(*{f.params[-1].name}, {errh});")
    if "finalize" in f.flags:
        o.append("\tsc_mpi_after_finalize();")
    o.append("\tsc_mpi_leave();")
    o.append("\treturn 0;")
    o.append("}")
    return o


def gen_upper(handles, errclasses, funcs, digest):
    o = ["/* The upper half's MPI entry points: PMPI_X with MPI_X as a weak alias (profiling",
         " * interface). Each translates virtual handles, switches to the thread's lower-half TLS,",
         " * calls the lower half's table and converts the results.",
         f" * {GENERATED} */",
         "#include <stddef.h>", "#include <stdint.h>", "#include <stdlib.h>", "#include <string.h>", "",
         "#include <mpi.h>", "",
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
    o.append("const uint8_t sc_mpi_fn_request[SC_MPI_NFUNCS] = {")
    for f in funcs:
        bits = request_bits(f)
        if bits:
            o.append(f"\t[SC_FN_{f.name}] = {' | '.join(bits)},")
    o.append("};")
    o.append("const uint8_t sc_mpi_fn_coll_comm[SC_MPI_NFUNCS] = {")
    for f in funcs:
        if "SC_REQ_COLL" in request_bits(f):
            rec_params = [p for p in f.crossing if recorded(p)]
            i = next(i for i, p in enumerate(rec_params) if p is f.comm_param())
            o.append(f"\t[SC_FN_{f.name}] = {i + 1},")
    o.append("};")
    o.append("const uint64_t sc_vk_null[SC_VK_COUNT] = SC_VK_NULL_INIT;")
    o.append("/* The kind of each predefined ABI handle value, plus one (0: not a handle). */")
    o.append("const uint8_t sc_vh_predef_kind[SC_VH_PREDEF_MAX] = {")
    for kind, name, value in handles:
        o.append(f"\t[{value:#x}] = SC_VK_{kind.upper()} + 1, /* {name} */")
    o.append("};")
    o.append("")
    o += gen_replay(funcs)
    for f in funcs:
        if "drained" in f.flags:
            ps = ", ".join(p.decl() for p in f.params)
            o.append(f"int sc_mpi_drained_{f.short}({ps});")
    o.append("")
    for f in funcs:
        if "upper_custom" in f.flags:  # hand-written in upper-half/mpi/ (see the list)
            continue
        o += upper_func(f)
        ps = ", ".join(p.decl() for p in f.params) or "void"
        o.append(f"{f.ret} {f.name}({ps}) __attribute__((weak, alias(\"PMPI_{f.name[4:]}\")));")
        o.append("")
    by_name = {f.name: f for f in funcs}
    for name, target, _ in ALIASES:
        o += alias_func(name, by_name[target])
    return "\n".join(o)


def request_bits(f):
    """The SC_REQ_* bits of the point-to-point request f makes (mpi_crossing.h)."""
    makes = any(p.kind == "handle_out" and p.hkind == "request" for p in f.params)
    if not makes or "upper_custom" in f.flags:  # an upper_custom one's requests are others'
        return []
    bits = []
    if "p2p_send" in f.flags:
        bits.append("SC_REQ_SEND")
    if "p2p_recv" in f.flags and not any(getattr(p, "hkind", None) == "message" for p in f.params):
        bits.append("SC_REQ_RECV")
    if "collective" in f.flags and f.persistent and f.comm_param():
        bits.append("SC_REQ_COLL")
    if bits and f.persistent:
        bits.append("SC_REQ_PERSISTENT")
    if "ssend" in f.flags:
        bits.append("SC_REQ_SYNC")
    return bits


def alias_func(name, t):
    """NAME as the older name of function t: the same parameters, answered by t's PMPI entry
    (what MPICH does: a tool intercepting MPI_NAME sees the call, one intercepting t does not)."""
    ps = ", ".join(p.decl() for p in t.params) or "void"
    args = ", ".join(p.name for p in t.params)
    return [f"/* {name}: {t.name} under its older name */",
            f"{t.ret} PMPI_{name[4:]}({ps})", "{", f"\treturn PMPI_{t.short}({args});", "}",
            f"{t.ret} {name}({ps}) __attribute__((weak, alias(\"PMPI_{name[4:]}\")));", ""]
