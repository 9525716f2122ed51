/* PLACEHOLDER (being written): splitckpt inspect. */
#include "cli.h"
int cmd_inspect(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	sc_error("inspect", "not implemented yet");
	return SC_EXIT_FAILURE;
}
