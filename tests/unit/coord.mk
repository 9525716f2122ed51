# Tests of this area (fragment included by tests/Makefile.am; paths relative to tests/).
# The coordinator: wire protocol, job state file, checkpoint directory and the quiesce's
# agreement on collective counts (cmocka, under ASan/UBSan), then a real coordinator over TCP
# driven by fake ranks (coord-protocol.sh).
SC_COORD_LIB_SRC = ../coordinator/protocol.c ../coordinator/client.c \
	../coordinator/jobstate.c ../coordinator/manifest.c ../coordinator/signals.c

check_PROGRAMS += unit/test_protocol unit/test_jobstate unit/test_manifest unit/test_textbuf \
	unit/test_cut_agree unit/fake_rank

unit_test_protocol_SOURCES = unit/test_protocol.c ../coordinator/protocol.c \
	../coordinator/client.c
unit_test_protocol_CFLAGS = $(SC_UNITCFLAGS)
unit_test_protocol_LDADD = $(SC_UNITLIBS)
unit_test_protocol_LDFLAGS = $(SC_UNITLINKFLAGS)

unit_test_jobstate_SOURCES = unit/test_jobstate.c ../coordinator/jobstate.c
unit_test_jobstate_CFLAGS = $(SC_UNITCFLAGS)
unit_test_jobstate_LDADD = $(SC_UNITLIBS)
unit_test_jobstate_LDFLAGS = $(SC_UNITLINKFLAGS)

unit_test_manifest_SOURCES = unit/test_manifest.c ../coordinator/manifest.c
unit_test_manifest_CFLAGS = $(SC_UNITCFLAGS)
unit_test_manifest_LDADD = $(SC_UNITLIBS)
unit_test_manifest_LDFLAGS = $(SC_UNITLINKFLAGS)

unit_test_textbuf_SOURCES = unit/test_textbuf.c ../coordinator/textbuf.c
unit_test_textbuf_CFLAGS = $(SC_UNITCFLAGS)
unit_test_textbuf_LDADD = $(SC_UNITLIBS)
unit_test_textbuf_LDFLAGS = $(SC_UNITLINKFLAGS)

unit_test_cut_agree_SOURCES = unit/test_cut_agree.c ../coordinator/cut_agree.c \
	../coordinator/textbuf.c
unit_test_cut_agree_CFLAGS = $(SC_UNITCFLAGS)
unit_test_cut_agree_LDADD = $(SC_UNITLIBS)
unit_test_cut_agree_LDFLAGS = $(SC_UNITLINKFLAGS)

# The fake rank also runs under the sanitizers: it exercises the client code a real rank uses.
unit_fake_rank_SOURCES = unit/fake_rank.c $(SC_COORD_LIB_SRC)
unit_fake_rank_CFLAGS = $(SC_UNITCFLAGS)
unit_fake_rank_LDFLAGS = $(SC_UNITLINKFLAGS)

TESTS += unit/test_protocol unit/test_jobstate unit/test_manifest unit/test_textbuf \
	unit/test_cut_agree unit/coord-protocol.sh
EXTRA_DIST += unit/coord-protocol.sh

# Drives tools/coord_start.c (finding or starting a coordinator, launcher races) for the script.
check_PROGRAMS += unit/coord_ensure_client
unit_coord_ensure_client_SOURCES = unit/coord_ensure_client.c ../tools/coord_start.c \
	../tools/cli.c ../tools/cmd_coordinator.c $(SC_COORD_LIB_SRC) \
	../coordinator/server.c ../coordinator/clients.c ../coordinator/ckpt_state.c \
	../coordinator/cut_agree.c \
	../coordinator/commands.c ../coordinator/textbuf.c
unit_coord_ensure_client_CFLAGS = $(SC_UNITCFLAGS) -DPKGLIBEXECDIR='"/nonexistent"' \
	-DLIBDIR='"/nonexistent"'
unit_coord_ensure_client_LDFLAGS = $(SC_UNITLINKFLAGS)
