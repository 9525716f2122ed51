/* PLACEHOLDER (being written): splitckpt restart. */
#include "cli.h"
int cmd_restart(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	sc_error("restart", "not implemented yet");
	return SC_EXIT_FAILURE;
}
