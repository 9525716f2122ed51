/* PLACEHOLDER (being written): splitckpt coordinator. */
#include "cli.h"
int cmd_coordinator(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	sc_error("coordinator", "not implemented yet");
	return SC_EXIT_FAILURE;
}
