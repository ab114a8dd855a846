/*
 * zgfs mount. The FUSE driver (fs/) is not built yet; the command says so plainly instead
 * of pretending, and names what does work today.
 */
#include "cli/cli.h"

int cmd_mount(int argc, char **argv)
{
	cli_error("mounting is not available in this version yet: the FUSE driver has not "
		  "been built. What works today: 'zgfs root' and 'zgfs proof' (see README.md).");
	return 1;
}
