# Tests of this area (fragment included by tests/Makefile.am; paths relative to tests/).
