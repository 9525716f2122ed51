/* PLACEHOLDER (being written): splitckpt launch. */
#include "cli.h"
int cmd_launch(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	sc_error("launch", "not implemented yet");
	return SC_EXIT_FAILURE;
}
