# Tests of this area (fragment included by tests/Makefile.am; paths relative to tests/).
# The checkpoint image writer/reader and the /proc/<pid>/maps parser (cmocka, ASan/UBSan).
# test_image writes images of its own memory, its live stack included (see copy_raw in
# upper-half/image_write.c for why that works under ASan).
SC_IMAGE_LIB_SRC = ../upper-half/image.h ../upper-half/maps.h ../upper-half/maps.c \
	../upper-half/image_write.c ../upper-half/image_read.c

check_PROGRAMS += unit/test_image unit/test_maps

unit_test_image_SOURCES = unit/test_image.c $(SC_IMAGE_LIB_SRC)
unit_test_image_CFLAGS = $(SC_UNITCFLAGS)
unit_test_image_LDADD = $(SC_UNITLIBS)
unit_test_image_LDFLAGS = $(SC_UNITLINKFLAGS)

unit_test_maps_SOURCES = unit/test_maps.c ../upper-half/maps.h ../upper-half/maps.c
unit_test_maps_CFLAGS = $(SC_UNITCFLAGS)
unit_test_maps_LDADD = $(SC_UNITLIBS)
unit_test_maps_LDFLAGS = $(SC_UNITLINKFLAGS)

TESTS += unit/test_image unit/test_maps
