#!/bin/bash
# A user's CMake project and autotools project build unchanged with CC=splitckpt-mpicc (the
# heat stencil example as their source), and the programs they build run through splitckpt
# with 2 ranks printing exactly what the natively built example prints.
. "$(dirname "$0")/crossing-lib.sh"
command -v cmake >/dev/null && command -v autoreconf >/dev/null ||
	{ echo "SKIP: cmake or autoreconf not installed"; exit 77; }
CC=$SC_BUILDDIR/tools/splitckpt-mpicc
export CC
src=$SC_SRCDIR/examples/heat_mpi.c
# gcc 12 flags MPICH's own MPI_STATUSES_IGNORE ((MPI_Status *)1) at -O2: not our code.
"$NATIVE_CC" -std=gnu11 -O2 -Wno-stringop-overflow -o "$BIN/heat_proj.native" "$src" -lm ||
	fail "native build of heat_mpi"
run_native heat_proj 2 >"$WORK/native.out" || fail "heat_mpi native"

# --- CMake ---------------------------------------------------------------------------------
mkdir -p "$WORK/cmake-src"
cp "$src" "$WORK/cmake-src/heat.c"
cat >"$WORK/cmake-src/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.13)
project(heat C)
include(CheckSymbolExists)
check_symbol_exists(MPI_Init mpi.h HAVE_MPI_INIT)
if(NOT HAVE_MPI_INIT)
  message(FATAL_ERROR "MPI_Init not found with the C compiler")
endif()
add_executable(heat heat.c)
target_link_libraries(heat m)
CM
cmake -S "$WORK/cmake-src" -B "$WORK/cmake-build" -DCMAKE_BUILD_TYPE=Release >"$WORK/cmake.log" 2>&1 &&
	cmake --build "$WORK/cmake-build" >>"$WORK/cmake.log" 2>&1 || {
	cat "$WORK/cmake.log"
	fail "the CMake project did not build with CC=splitckpt-mpicc"
}
cp "$WORK/cmake-build/heat" "$BIN/heat_cmake.sc"
run_sc heat_cmake 2 >"$WORK/cmake.out" || fail "CMake-built heat through splitckpt"
cmp "$WORK/native.out" "$WORK/cmake.out" || fail "CMake-built heat prints other results"
echo "PASS: a CMake project builds with CC=splitckpt-mpicc and runs through splitckpt"

# --- autotools -----------------------------------------------------------------------------
mkdir -p "$WORK/at"
cp "$src" "$WORK/at/heat.c"
cat >"$WORK/at/configure.ac" <<'AC'
AC_INIT([heat], [1.0])
AM_INIT_AUTOMAKE([foreign])
AC_PROG_CC
AC_CHECK_HEADER([mpi.h], [], [AC_MSG_ERROR([mpi.h not found])])
AC_SEARCH_LIBS([MPI_Init], [], [], [AC_MSG_ERROR([MPI_Init not found])])
AC_SEARCH_LIBS([sqrt], [m])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
AC
printf 'bin_PROGRAMS = heat\nheat_SOURCES = heat.c\n' >"$WORK/at/Makefile.am"
(cd "$WORK/at" && autoreconf -i && ./configure && make) >"$WORK/at.log" 2>&1 || {
	tail -30 "$WORK/at.log"
	fail "the autotools project did not build with CC=splitckpt-mpicc"
}
cp "$WORK/at/heat" "$BIN/heat_at.sc"
run_sc heat_at 2 >"$WORK/at.out" || fail "autotools-built heat through splitckpt"
cmp "$WORK/native.out" "$WORK/at.out" || fail "autotools-built heat prints other results"
echo "PASS: an autotools project builds with CC=splitckpt-mpicc and runs through splitckpt"
