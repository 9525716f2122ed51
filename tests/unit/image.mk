# Tests of this area (fragment included by tests/Makefile.am; paths relative to tests/).
# The checkpoint image writer/reader and the /proc/<pid>/maps parser (cmocka, ASan/UBSan).
# Both image tests start from an image of their own memory, its live stack included (see copy_raw
# in upper-half/image_write.c for why that works under ASan), written by test_image_fixture.c.
SC_IMAGE_LIB_SRC = ../upper-half/image.h ../upper-half/maps.h ../upper-half/maps.c \
	../upper-half/image_writer.h ../upper-half/image_scan.c ../upper-half/image_write.c \
	../upper-half/image_read.c
SC_IMAGE_TEST_SRC = unit/test_image_fixture.h unit/test_image_fixture.c $(SC_IMAGE_LIB_SRC)

check_PROGRAMS += unit/test_image_write unit/test_image_read unit/test_maps

unit_test_image_write_SOURCES = unit/test_image_write.c $(SC_IMAGE_TEST_SRC)
unit_test_image_write_CFLAGS = $(SC_UNITCFLAGS)
unit_test_image_write_LDADD = $(SC_UNITLIBS)
unit_test_image_write_LDFLAGS = $(SC_UNITLINKFLAGS)

unit_test_image_read_SOURCES = unit/test_image_read.c $(SC_IMAGE_TEST_SRC)
unit_test_image_read_CFLAGS = $(SC_UNITCFLAGS)
unit_test_image_read_LDADD = $(SC_UNITLIBS)
unit_test_image_read_LDFLAGS = $(SC_UNITLINKFLAGS)

unit_test_maps_SOURCES = unit/test_maps.c ../upper-half/maps.h ../upper-half/maps.c
unit_test_maps_CFLAGS = $(SC_UNITCFLAGS)
unit_test_maps_LDADD = $(SC_UNITLIBS)
unit_test_maps_LDFLAGS = $(SC_UNITLINKFLAGS)

TESTS += unit/test_image_write unit/test_image_read unit/test_maps
