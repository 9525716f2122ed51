# The MPI standard-ABI header (include/mpi.h). Fragment included by tests/Makefile.am; paths
# relative to tests/. abi_compile (C11 -pedantic) and abi_compile_cxx (C++17) assert the ABI's
# layout, constant values and prototypes without linking any MPI library. abi_compile_example
# calls MPI for real, so it is only compiled: into a check-only archive that nothing links.
# abi_compile_generated.sh checks that the prototype headers match include/mpi_proto.list.
SC_MPIH_CPPFLAGS = -I$(top_srcdir)/include

check_PROGRAMS += mpi/abi_compile mpi/abi_compile_cxx
mpi_abi_compile_SOURCES = mpi/abi_compile.c
mpi_abi_compile_CPPFLAGS = $(SC_MPIH_CPPFLAGS)
mpi_abi_compile_CFLAGS = -std=c11 -Wall -Wextra -Werror -pedantic
mpi_abi_compile_cxx_SOURCES = mpi/abi_compile.cpp
mpi_abi_compile_cxx_CPPFLAGS = $(SC_MPIH_CPPFLAGS)
mpi_abi_compile_cxx_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -pedantic

check_LIBRARIES = mpi/libabi_compile_example.a
mpi_libabi_compile_example_a_SOURCES = mpi/abi_compile_example.c
mpi_libabi_compile_example_a_CPPFLAGS = $(SC_MPIH_CPPFLAGS)
mpi_libabi_compile_example_a_CFLAGS = -std=c11 -Wall -Wextra -Werror -pedantic
mpi_libabi_compile_example_a_AR = $(AR) cr

TESTS += mpi/abi_compile mpi/abi_compile_cxx mpi/abi_compile_generated.sh
EXTRA_DIST += mpi/mpi.mk mpi/abi_compile_generated.sh
