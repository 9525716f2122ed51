# The installed layout, the modulefile and the installed tool on its own.
TESTS += install/install.sh
EXTRA_DIST += install/install.sh
