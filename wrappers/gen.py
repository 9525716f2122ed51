#!/usr/bin/env python3
"""Generates the MPI crossing of splitckpt from wrappers/mpi.list (format: wrappers/README.md).

  gen.py LIST table  OUT.h        struct sc_mpi_table and the function ids (both halves)
  gen.py LIST upper  OUT.c        the upper half's PMPI_X/MPI_X wrappers (libsplitckpt_mpi)
  gen.py LIST lower BACKEND OUT.c the shims of one lower half (BACKEND: mpich, openmpi)
  gen.py LIST coverage OUT.md     the functions covered, per category (wrappers/COVERAGE.md)

The list's model and parser are in mpilist.py, the two halves' generators in gen_upper.py and
gen_lower.py; the table header and COVERAGE.md, which describe the whole list, are made here.
Only the Python 3 standard library is used: the generator runs at build time on user machines.
Every output is deterministic, so a rebuild with an unchanged list changes nothing."""

import os
import sys

from gen_lower import gen_lower
from gen_upper import gen_upper, replay_case
from mpilist import ALIASES, GENERATED, KIND_ORDER, NOTES, UPPER_ONLY, ListError, null_of, parse


def gen_table(handles, errclasses, funcs, digest):
    nulls = null_of(handles)
    o = [f"/* The function table a lower half publishes for the upper half's MPI wrappers, and the",
         f" * ids of the wrapped functions. {GENERATED} */",
         "#ifndef SPLITCKPT_SC_MPI_TABLE_H", "#define SPLITCKPT_SC_MPI_TABLE_H", "",
         "#include <stdint.h>", "", '#include "sc_mpi_abi.h"', "",
         f'#define SC_MPI_LIST_HASH 0x{digest}ULL /* both halves must be built from one list */',
         f"#define SC_MPI_NFUNCS {len(funcs)}", "",
         "/* Handle kinds: SC_VK_* (values shared by both halves). */"]
    for i, k in enumerate(KIND_ORDER):
        o.append(f"#define SC_VK_{k.upper()} {i}")
    o.append(f"#define SC_VK_COUNT {len(KIND_ORDER)}")
    o.append("/* The ABI's NULL handle of each kind, indexed by SC_VK_*. */")
    o.append("#define SC_VK_NULL_INIT { " + ", ".join(f"{nulls[k][1]:#x}" for k in KIND_ORDER) + " }")
    o.append("")
    o.append("enum sc_mpi_fn {")
    for f in funcs:
        o.append(f"\tSC_FN_{f.name},")
    o.append("};")
    o.append("")
    o.append("struct sc_mpi_table {")
    o.append("\tstruct sc_mpi_service svc; /* hand-written entries (sc_mpi_abi.h) */")
    for f in funcs:
        params = ", ".join(f.lower_params()) or "void"
        o.append(f"\t{f.ret} (*{f.short})({params});")
    o.append("};")
    o.append("")
    o.append("#endif")
    return "\n".join(o) + "\n"


def across_checkpoint(f):
    """What a checkpoint and restart do with what f made or changed (COVERAGE.md's column)."""
    if f.name == "MPI_Grequest_start":
        return "a checkpoint waits until the program completes and frees it (mpi/cut.c)"
    if f.name.startswith("MPI_Buffer_attach"):
        return "upper-half memory, attached again at restart (upper-half/mpi/bsend_buffer.c)"
    if f.name.startswith("MPI_Buffer_detach"):
        return "no buffer attached again at restart"
    if f.name.startswith("MPI_Win_allocate_shared"):
        return "memory saved, shared again at restart (mpi/winshared.c; ranks on one node)"
    if f.name == "MPI_Alloc_mem":
        return "upper-half memory: saved with the program"
    if f.name.startswith("MPI_Register_datarep"):
        return "registered again at restart, before files reopen (mpi/datareps.c)"
    if f.name.startswith("MPI_Add_error_"):
        return "added again at restart in the same order: the same values (mpi/errcodes.c)"
    if "pscw" in f.flags:
        return "no epoch open at a cut: the checkpoint waits for it to end (mpi/pscw.c)"
    if "keyval_new" in f.flags:
        return "made again at restart (upper-half/mpi/attrs.c)"
    if f.name.endswith(("_set_attr", "_delete_attr")):
        return "attributes saved by the drain, set again at restart (attrs.c)"
    if "replay_set" in f.flags:
        return "set again at restart (the last call per object)"
    if "replay_add" in f.flags:
        return "done again at restart"
    if "replay_drop" in f.opts:
        return "undone for the restart"
    if f.name.startswith("MPI_File_") and f.name.endswith(("_begin", "_begin_c", "_end")):
        return "its status kept in the upper half until the end call (mpi/file_split.c)"
    if f.name in ("MPI_File_set_size", "MPI_File_preallocate"):
        return "nothing to keep: the file system keeps the file's size"
    if f.name == "MPI_File_get_view":
        return "a derived type it returns is made again at restart (as `MPI_Type_dup`)"
    outs = [p for p in f.crossing if p.kind == "handle_out" and "existing" not in p.flags]
    if not outs and "shared_fp" in f.flags:
        return "the file's shared pointer saved, moved back at restart (mpi/files.c)"
    if not outs:
        return "nothing to keep: the cut falls between calls" + \
            (" or between slices of it" if f.via or f.poll else "")
    if any(p.hkind == "message" for p in outs):
        return "its message received by the drain, kept behind the handle"
    if any(p.hkind == "request" for p in outs) and not f.persistent:
        if len(outs) > 1:  # MPI_Comm_idup
            return "made again at restart; its request completed by the drain"
        if "p2p_recv" in f.flags:
            return "pending receive posted again at restart"
        return "completed by the drain (its status kept)"
    if replay_case(f) or "upper_custom" in f.flags:
        return "made again at restart"
    return "**refused** at a checkpoint while it lives"


def upper_only_note(name):
    """COVERAGE.md's column for a function answered in the upper half."""
    if name.endswith(("_toint", "_fromint", "_c2f", "_f2c")) and not name.startswith("MPI_Status"):
        return "answered in the upper half (mpi/handle_ints.c): the same integer after a restart"
    if name.startswith("MPI_T_"):
        return "answered in the upper half (mpi/tools_none.c): an MPI without tool variables"
    return "answered in the upper half: no MPI state"


def gen_coverage(funcs):
    """COVERAGE.md: the list's functions per category (the '#:' headings of the list)."""
    o = ["# MPI functions covered by splitckpt", "",
         f"{len(funcs) + len(ALIASES) + len(UPPER_ONLY)} MPI functions: {len(funcs)} cross between "
         f"the halves, {len(ALIASES)} are older names",
         f"of one of them (\"as `MPI_X`\") and {len(UPPER_ONLY)} are answered in the upper half "
         "(`upper-half/mpi/upper_only.c`, `handle_ints.c`, `tools_none.c`);",
         "any other MPI function does not link (`undefined reference`), so a program never gets a "
         "silent wrong answer.",
         "Each category is exercised by a self-checking program of `tests/mpi/cov_*.c` (`make check`",
         "runs `mpi/cov-*.sh`: built with `mpicc.mpich` and `splitckpt-mpicc`, 2 and 4 ranks, natively",
         "and through `splitckpt launch`; `mpi/ckpt-cov.sh` checkpoints every one of them at random",
         "moments, kills and restarts them). Each table says what a checkpoint and a restart do with",
         "what a function made or changed.",
         "Generated by `wrappers/gen.py mpi.list coverage COVERAGE.md`: edit `mpi.list`.", ""]
    sections = []
    for f in funcs:
        if f.section not in sections:
            sections.append(f.section)
    by_name = {f.name: f for f in funcs}
    for sec in sections:
        rows = [(f"`{f.name}`", across_checkpoint(f)) for f in funcs if f.section == sec]
        rows += [(f"`{n}`", f"as `{t}`: {across_checkpoint(by_name[t])}")
                 for n, t, s in ALIASES if s == sec]
        rows += [(f"`{n}`", upper_only_note(n)) for n, s in UPPER_ONLY if s == sec]
        o.append(f"## {sec} ({len(rows)})")
        o.append("")
        o.append("| function | across a checkpoint |")
        o.append("| --- | --- |")
        o += [f"| {n} | {what} |" for n, what in rows]
        o.append("")
    if NOTES:
        o.append("## Known limits")
        o.append("")
        o += [f"* {n}" for n in NOTES]
        o.append("")
    return "\n".join(o)


def main(argv):
    if len(argv) < 4 or argv[2] not in ("table", "upper", "lower", "coverage"):
        sys.stderr.write(__doc__)
        return 64
    try:
        handles, errclasses, funcs, digest = parse(argv[1])
        if argv[2] == "table":
            out, text = argv[3], gen_table(handles, errclasses, funcs, digest)
        elif argv[2] == "coverage":
            out, text = argv[3], gen_coverage(funcs)
        elif argv[2] == "upper":
            out, text = argv[3], gen_upper(handles, errclasses, funcs, digest)
        else:
            if len(argv) < 5 or argv[3] not in ("mpich", "openmpi"):
                raise ListError("lower needs BACKEND (mpich, openmpi) and OUT")
            out, text = argv[4], gen_lower(handles, errclasses, funcs, digest, argv[3])
    except ListError as e:
        sys.stderr.write(f"gen.py: {e}\n")
        return 1
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
