/* PLACEHOLDER (being written): splitckpt command. */
#include "cli.h"
int cmd_command(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	sc_error("command", "not implemented yet");
	return SC_EXIT_FAILURE;
}
