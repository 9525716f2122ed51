# The ELF loader (lower-half/elf_load.c, stack_build.c, exec_resolve.c). Fragment included by
# tests/Makefile.am; paths relative to tests/. Unit tests with crafted files run under ASan;
# loader.sh runs real programs through unit/loader_run, which is built WITHOUT sanitizers or
# stack protector: it hands the whole process to the loaded program.
SC_LOADER_SOURCES = ../lower-half/elf_load.c ../lower-half/elf_load.h \
	../lower-half/stack_build.c ../lower-half/stack_build.h \
	../lower-half/exec_resolve.c ../lower-half/exec_resolve.h
SC_LOADER_CFLAGS = $(SC_CFLAGS) -I$(top_srcdir)/lower-half

check_PROGRAMS += unit/loader_run unit/loader_probe unit/loader_probe_nopie \
	unit/loader_probe_static unit/loader_probe_spie unit/test_elf unit/loader_stack_test
unit_loader_run_SOURCES = unit/loader_run.c $(SC_LOADER_SOURCES)
unit_loader_run_CFLAGS = $(SC_LOADER_CFLAGS) -fno-stack-protector

# The same probe program as PIE (the default), non-PIE, static and static-pie.
unit_loader_probe_SOURCES = unit/loader_probe.c
unit_loader_probe_CFLAGS = $(SC_LOADER_CFLAGS) -pthread
unit_loader_probe_LDFLAGS = -pthread
unit_loader_probe_nopie_SOURCES = unit/loader_probe.c
unit_loader_probe_nopie_CFLAGS = $(SC_LOADER_CFLAGS) -pthread -fno-pie
unit_loader_probe_nopie_LDFLAGS = -pthread -Wc,-no-pie
unit_loader_probe_static_SOURCES = unit/loader_probe.c
unit_loader_probe_static_CFLAGS = $(SC_LOADER_CFLAGS) -pthread -DPROBE_STATIC
unit_loader_probe_static_LDFLAGS = -pthread -all-static
unit_loader_probe_spie_SOURCES = unit/loader_probe.c
unit_loader_probe_spie_CFLAGS = $(SC_LOADER_CFLAGS) -pthread -fPIE -DPROBE_STATIC
unit_loader_probe_spie_LDFLAGS = -pthread -Wc,-static-pie

unit_test_elf_SOURCES = unit/test_elf.c ../lower-half/elf_load.c ../lower-half/elf_load.h
unit_test_elf_CFLAGS = $(SC_UNITCFLAGS) -I$(top_srcdir)/lower-half
unit_test_elf_LDADD = $(SC_UNITLIBS)
unit_test_elf_LDFLAGS = $(SC_UNITLINKFLAGS)
unit_loader_stack_test_SOURCES = unit/loader_stack_test.c ../lower-half/stack_build.c \
	../lower-half/stack_build.h ../lower-half/exec_resolve.c ../lower-half/exec_resolve.h \
	../lower-half/elf_load.h
unit_loader_stack_test_CFLAGS = $(SC_UNITCFLAGS) -I$(top_srcdir)/lower-half
unit_loader_stack_test_LDADD = $(SC_UNITLIBS)
unit_loader_stack_test_LDFLAGS = $(SC_UNITLINKFLAGS)

TESTS += unit/loader.sh unit/test_elf unit/loader_stack_test
EXTRA_DIST += unit/loader.sh unit/loader.mk
